"""pytest-llmops: a chatbot's quality as a test suite.

The public API is what ``__all__`` lists; import it from here (``from pytest_llmops
import Monitor``). Every other name is the package's own and may move. The parts a
service uses in production (the monitor, feedback, privacy tools) load on first use,
so the pytest plugin, which imports this package in every pytest run, stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from .cases import Case, Expect, LoadedCase, Turn, load_case_file
from .checks import Checker
from .checks.judge import Judge, Verdict, ask_judge
from .config import Settings, load_settings
from .errors import (CaseFileError, ConfigError, FeedbackError, LlmopsError, PrivacyError, ResultsError,
                     TargetConnectionError, TargetError, TargetHTTPError, TargetResponseError, TargetTimeout)
from .pii import PiiDetector, PiiFinding, find_pii, mask_pii
from .pseudonym import Pseudonymizer, pseudonymize
from .replay import ReplayJob, replay_case
from .results import CaseResult, RunResults, load_results, write_results
from .targets import Target, build_target
from .targets.stub import StubBehaviour, StubTarget
from .transcript import (CheckResult, Conversation, Embeddings, Exchange, Reply, ToolCall, Transcript, TurnResult,
                         Usage)

__version__ = "0.1.0"

#: public names that load their module on first use: name -> module
_LAZY = {
    "Monitor": ".monitor.service",
    "MonitorSettings": ".monitor.settings",
    "FeedbackStore": ".feedback.store",
    "FeedbackRecord": ".feedback.store",
    "record_feedback": ".feedback.store",
    "PrivacyProject": ".privacy.operations",
    "export_user": ".privacy.operations",
    "erase_user": ".privacy.operations",
    "rectify_record": ".privacy.operations",
    "purge_older_than": ".privacy.operations",
    "ReplayScheduler": ".scheduler",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Case", "Expect", "LoadedCase", "Turn", "load_case_file",
    "Checker", "Judge", "Verdict", "ask_judge", "Settings", "load_settings",
    "LlmopsError", "CaseFileError", "ConfigError", "FeedbackError", "PrivacyError", "ResultsError",
    "TargetError", "TargetConnectionError", "TargetTimeout", "TargetHTTPError", "TargetResponseError",
    "PiiDetector", "PiiFinding", "find_pii", "mask_pii",
    "Pseudonymizer", "pseudonymize",
    "ReplayJob", "replay_case", "Target", "build_target", "StubBehaviour", "StubTarget",
    "CheckResult", "Conversation", "Exchange", "Reply", "Transcript", "TurnResult", "Usage", "ToolCall", "Embeddings",
    "CaseResult", "RunResults", "load_results", "write_results",
    *_LAZY,
]

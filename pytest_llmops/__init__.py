"""pytest-llmops: a chatbot's quality as a test suite.

The public API is what ``__all__`` lists; import it from here (``from pytest_llmops
import Monitor``). Every other name is the package's own and may move. Every public name
loads its module on first use, so the pytest plugin, which imports this package in every
pytest run (``--llmops`` or not), stays light: a run without ``--llmops`` never imports
the case model, the checks or pydantic's models.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public names, each loaded from its module on first use: name -> module
_LAZY = {
    **dict.fromkeys(("Case", "Expect", "LoadedCase", "Turn", "load_case_file"), ".cases"),
    "Checker": ".checks",
    **dict.fromkeys(("Judge", "Verdict", "ask_judge"), ".checks.judge"),
    **dict.fromkeys(("Settings", "load_settings"), ".config"),
    **dict.fromkeys(("CaseFileError", "ConfigError", "FeedbackError", "LlmopsError", "PrivacyError", "ResultsError",
                     "TargetConnectionError", "TargetError", "TargetHTTPError", "TargetResponseError", "TargetTimeout"),
                    ".errors"),
    **dict.fromkeys(("PiiDetector", "PiiFinding", "find_pii", "mask_pii"), ".pii"),
    **dict.fromkeys(("Pseudonymizer", "pseudonymize"), ".pseudonym"),
    **dict.fromkeys(("ReplayJob", "replay_case"), ".replay"),
    **dict.fromkeys(("CaseResult", "RunResults", "load_results", "write_results"), ".results"),
    **dict.fromkeys(("Target", "build_target"), ".targets"),
    **dict.fromkeys(("StubBehaviour", "StubTarget"), ".targets.stub"),
    **dict.fromkeys(("CheckResult", "Conversation", "Embeddings", "Exchange", "Reply", "ToolCall", "Transcript",
                     "TurnResult", "Usage"), ".transcript"),
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


__all__ = [*_LAZY]

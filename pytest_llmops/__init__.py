"""pytest-llmops: a chatbot's quality as a test suite.

The public API is what ``__all__`` lists; every other module is private to the package.
"""

from .cases import Case, Expect, LoadedCase, Turn, load_case_file
from .checks.checker import Checker
from .config import Settings, load_settings
from .errors import (CaseFileError, ConfigError, LlmopsError, TargetConnectionError, TargetError,
                     TargetHTTPError, TargetResponseError, TargetTimeout)
from .pii import PiiDetector, PiiFinding, find_pii, mask_pii
from .pseudonym import Pseudonymizer, pseudonymize
from .replay import replay_case
from .targets import Target, build_target
from .targets.stub import StubBehaviour, StubTarget
from .transcript import CheckResult, Exchange, Reply, Transcript, TurnResult

__version__ = "0.1.0"

__all__ = [
    "Case", "Expect", "LoadedCase", "Turn", "load_case_file",
    "Checker", "Settings", "load_settings",
    "LlmopsError", "CaseFileError", "ConfigError", "TargetError", "TargetConnectionError",
    "TargetTimeout", "TargetHTTPError", "TargetResponseError",
    "PiiDetector", "PiiFinding", "find_pii", "mask_pii",
    "Pseudonymizer", "pseudonymize",
    "replay_case", "Target", "build_target", "StubBehaviour", "StubTarget",
    "CheckResult", "Exchange", "Reply", "Transcript", "TurnResult",
]

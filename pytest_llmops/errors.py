"""The exception hierarchy: one base class so callers can catch everything we raise on purpose."""

from __future__ import annotations

from pathlib import Path


class LlmopsError(Exception):
    """Base class of every error pytest-llmops raises on purpose (bad input, bad config, faults)."""


class ConfigError(LlmopsError):
    """The configuration (pyproject.toml or command line) is wrong; nothing should run."""


class CaseFileError(LlmopsError):
    """A case file is unreadable or breaks the case contract.

    Carries every problem found in the file, each already formatted as
    ``file.yaml:12: cases[2].turns[0].expect: unknown key 'contian'``.
    """

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = Path(path)
        self.problems = problems
        super().__init__("\n".join(problems))


class TargetError(LlmopsError):
    """The chatbot could not give a usable reply (a fault, not a wrong answer)."""

    kind = "target_error"


class TargetConnectionError(TargetError):
    """Connection refused, DNS failure, reset."""

    kind = "connection"


class TargetTimeout(TargetError):
    """No complete reply within the configured timeout."""

    kind = "timeout"


class TargetHTTPError(TargetError):
    """The endpoint answered with an HTTP error status."""

    kind = "http_status"

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class TargetResponseError(TargetError):
    """The endpoint answered, but the body is not a usable reply (not JSON, no reply path, empty)."""

    kind = "bad_response"


class ResultsError(LlmopsError):
    """A results JSON file (``--llmops-results``) is missing, truncated, not JSON or of another schema."""


class GitError(LlmopsError):
    """A git command failed, or the folder is not a git repository (a usage error)."""


class ReleaseRefused(LlmopsError):
    """A promotion or rollback was refused (gate failed, not a fast-forward, dirty tree); nothing changed."""

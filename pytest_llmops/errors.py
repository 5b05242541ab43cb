"""The one exception hierarchy: every error pytest-llmops raises on purpose is an :class:`LlmopsError`.

Callers catch ``LlmopsError`` to handle anything the tool reports as bad input, bad
configuration or a chatbot fault; anything else escaping is a bug. The groups:

* configuration and input files: :class:`ConfigError`, :class:`CaseFileError`,
  :class:`ResultsError`, :class:`CassetteError`, :class:`FeedbackError`, :class:`RecordError`;
* the chatbot: :class:`TargetError` and its kinds (connection, timeout, HTTP status,
  bad response, no recording);
* the judge and the embedder: :class:`NoVerdict`, :class:`BadEmbeddings` (their
  transport faults are TargetErrors like the chatbot's);
* operations: :class:`ConvertError`, :class:`PrivacyError`, :class:`GitError`,
  :class:`BaselineMissing`, :class:`ReleaseRefused`, :class:`JobCancelled`;
* files we write: :class:`StorageError` (full disk, read-only folder), also an ``OSError``;
* the pytest front: :class:`CaseFailed` carries a failed case's record to its failure text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class LlmopsError(Exception):
    """Base class of every error pytest-llmops raises on purpose (bad input, bad config, faults)."""


# -- configuration and input files ---------------------------------------------------------------

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


class DuplicateKeyError(yaml.MarkedYAMLError):
    """The same key twice in one YAML mapping (YAML would silently keep the last one).

    A YAML error rather than an LlmopsError: the case loader reports it with the line,
    like every other YAML syntax error.
    """


class ResultsError(LlmopsError):
    """A results JSON file (``--llmops-results``) is missing, truncated, not JSON or of another schema."""


class CassetteError(LlmopsError):
    """A cassette file is unreadable or not a cassette."""


class FeedbackError(LlmopsError):
    """A feedback record cannot be stored as given (bad field, personal data as user id, ...)."""


class RecordError(LlmopsError, ValueError):
    """An input record for the monitor that is JSON but not a usable interaction (missing or mistyped field)."""


# -- the chatbot -----------------------------------------------------------------------------------

class TargetError(LlmopsError):
    """The chatbot could not give a usable reply (a fault, not a wrong answer).

    Typed facts travel with it to the transcript: the HTTP ``status`` if there was one,
    how many ``retries`` were spent, and for a fault replayed from a cassette the
    latency recorded then (``recorded_latency_ms``). ``kind`` names the fault in reports;
    a replayed fault keeps the kind it was recorded with.
    """

    kind = "target_error"

    def __init__(self, message: str, *, status: int | None = None, retries: int = 0,
                 recorded_latency_ms: float | None = None, kind: str | None = None):
        super().__init__(message)
        self.status = status
        self.retries = retries
        self.recorded_latency_ms = recorded_latency_ms
        if kind is not None:
            self.kind = kind


class TargetConnectionError(TargetError):
    """Connection refused, DNS failure, reset."""

    kind = "connection"


class TargetTimeout(TargetError):
    """No complete reply within the configured timeout."""

    kind = "timeout"


class TargetHTTPError(TargetError):
    """The endpoint answered with an HTTP error status."""

    kind = "http_status"

    def __init__(self, message: str, status: int, *, retries: int = 0):
        super().__init__(message, status=status, retries=retries)


class TargetResponseError(TargetError):
    """The endpoint answered, but the body is not a usable reply (not JSON, no reply path, empty)."""

    kind = "bad_response"


class NoRecording(TargetError):
    """Replaying from cassettes, and they hold nothing for this case, run or turn."""

    kind = "no_recording"


# -- the judge and the embedder -------------------------------------------------------------------

class NoVerdict(LlmopsError):
    """The judge answered, but never with a verdict that parses (after its retries).

    Carries the judge's last answer (``answer``, unmasked: the check masks it) and the
    tokens every attempt cost (``usage``).
    """

    def __init__(self, answer: str, usage: Any = None):
        super().__init__("judge gave no verdict")
        self.answer = answer
        self.usage = usage


class BadEmbeddings(LlmopsError):
    """The embedder answered with vectors that cannot be compared (wrong count, lengths, or all zeros)."""


# -- operations ----------------------------------------------------------------------------------

class ConvertError(LlmopsError):
    """Turning evidence into cases cannot go on (e.g. ``--strict`` and a malformed input line)."""


class PrivacyError(LlmopsError):
    """A privacy request that cannot be served as asked (unknown record, bad field, bad age)."""


class GitError(LlmopsError):
    """A git command failed, or the folder is not a git repository (a usage error)."""


class BaselineMissing(LlmopsError):
    """The baseline asked for (``--baseline-ref``) names no commit or has no stored results: a usage error,
    never a silent run without regression checks (``--allow-missing-baseline`` accepts it on purpose)."""


class StorageError(LlmopsError, OSError):
    """A file could not be written (full disk, read-only folder, no permission), and nothing was half-written.

    The message names the file, the reason and what was kept ("nothing was written", "the
    file is unchanged"). It is an ``OSError`` too, so code handling disk errors still does.
    """

    def __init__(self, message: str, *, path: Path | str | None = None, reason: str | None = None):
        super().__init__(message)
        self.path = None if path is None else Path(path)
        self.reason = reason or message  # the cause alone ("No space left on device")


class ReleaseRefused(LlmopsError):
    """A promotion or rollback was refused (gate failed, not a fast-forward, dirty tree); nothing changed."""


class JobCancelled(LlmopsError):
    """A replay job was cancelled (``-x``, ``--maxfail``, Ctrl-C) before it started."""


# -- the pytest front ----------------------------------------------------------------------------

class CaseFailed(LlmopsError):
    """A case whose checks failed; carries its record (a ``results.CaseResult``) for the failure text."""

    def __init__(self, record: Any):
        super().__init__(record.nodeid)
        self.record = record

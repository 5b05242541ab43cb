"""The results JSON of a ``--llmops`` run: its model, a writer and a loader.

``pytest --llmops --llmops-results PATH`` writes one :class:`RunResults` document; the
gate and trend comparisons read it back with :func:`load_results`. The shape is a
contract (documented in docs/results.md, JSON Schema in docs/results.schema.json):
fields may be added, never renamed or removed without raising ``SCHEMA_VERSION``.
Every model accepts unknown fields, so an older reader still loads a newer file of the
same schema.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ResultsError
from .jsonl import write_file_atomic

SCHEMA_VERSION = 1
TOOL_NAME = "pytest-llmops"

Outcome = Literal["passed", "failed", "skipped", "error"]


class _Open(BaseModel):
    """A part of the document: known fields are typed, added fields are kept as they are."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class CheckRecord(_Open):
    """One check of one reply; ``actual`` is already masked."""

    check: str
    passed: bool
    expected: str
    actual: str
    pii_kinds: list[str] = Field(default_factory=list)


class TurnRecord(_Open):
    """One turn: the user message, the masked reply (None after a fault), timing and checks."""

    turn: int
    user: str
    reply: str | None
    latency_ms: float | None
    ttft_ms: float | None = None
    status: int | None = None
    error: str | None = None
    error_kind: str | None = None
    retries: int = 0
    checks: list[CheckRecord] = Field(default_factory=list)
    passed: bool


class CaseResult(_Open):
    """The record built by ``report.case_record`` plus how pytest saw the case."""

    nodeid: str
    case_id: str
    file: str
    line: int | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    target: dict[str, Any] = Field(default_factory=dict)
    passed: bool
    turns: list[TurnRecord] = Field(default_factory=list)
    skipped_turns: int = 0
    outcome: Outcome
    duration_s: float = 0.0


class CollectionErrorRecord(_Open):
    """A case file that could not be collected (its cases never ran)."""

    nodeid: str
    message: str


class LatencySummary(_Open):
    """Reply latency over every answered turn of the run, in milliseconds (None: no replies)."""

    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None


class Summary(_Open):
    cases: int
    passed: int
    failed: int
    skipped: int
    errors: int  # collection errors plus cases that errored outside their checks
    pass_rate: float  # passed / (cases - skipped); 0.0 when nothing ran
    turns: int
    error_rate: float  # turns with a fault or an error phrase / turns; 0.0 without turns
    latency_ms: LatencySummary = Field(default_factory=LatencySummary)
    checks_failed: dict[str, int] = Field(default_factory=dict)
    pii_findings: dict[str, int] = Field(default_factory=dict)


class GitInfo(_Open):
    commit: str | None = None
    branch: str | None = None
    dirty: bool | None = None


class TargetInfo(_Open):
    """``Target.describe()``: what may be shown about the chatbot, never a secret."""

    name: str
    kind: str
    url: str | None = None


class RunInfo(_Open):
    started_at: datetime
    finished_at: datetime
    duration_s: float
    git: GitInfo = Field(default_factory=GitInfo)
    target: TargetInfo
    concurrency: int
    cases_dir: str
    argv: list[str] = Field(default_factory=list)
    workers: int | None = None  # pytest-xdist worker processes (None: no xdist); concurrency is per worker
    exit_status: int | None = None  # pytest's exit code (0 all passed, 1 failures, 2 interrupted, ...)


class ToolInfo(_Open):
    name: str = TOOL_NAME
    version: str


class RunResults(_Open):
    """The whole results document of one run."""

    schema_version: Literal[1] = Field(default=SCHEMA_VERSION, alias="schema")
    tool: ToolInfo
    run: RunInfo
    summary: Summary
    cases: list[CaseResult] = Field(default_factory=list)
    collection_errors: list[CollectionErrorRecord] = Field(default_factory=list)

    def to_json(self) -> str:
        """The document as written to disk: ``schema`` first, UTF-8 kept readable."""
        return self.model_dump_json(by_alias=True, indent=1) + "\n"


def write_results(path: Path | str, results: RunResults) -> Path:
    """Write ``results`` to ``path`` atomically: a reader sees the old file or the new one, never half."""
    return write_file_atomic(path, results.to_json().encode("utf-8"), mode=0o644)


def _format_validation(path: Path, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False)[:10]:
        where = ".".join(str(part) for part in error["loc"]) or "(document)"
        problems.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - len(problems)
    suffix = f" (and {more} more)" if more > 0 else ""
    return f"{path}: not a valid results file: " + "; ".join(problems) + suffix


def parse_results(document: Any, path: Path | str = "<results>") -> RunResults:
    """Validate an already-parsed JSON document; raises ResultsError naming what is wrong."""
    path = Path(path)
    if not isinstance(document, dict):
        raise ResultsError(f"{path}: not a results file: a JSON {type(document).__name__}, not an object")
    if "schema" not in document:
        raise ResultsError(f"{path}: not a pytest-llmops results file (no 'schema' key)")
    schema = document["schema"]
    if schema != SCHEMA_VERSION:
        raise ResultsError(f"{path}: results schema {schema!r} is not supported: this pytest-llmops reads "
                           f"schema {SCHEMA_VERSION} (write the file with a matching version)")
    try:
        return RunResults.model_validate(document)
    except ValidationError as exc:
        raise ResultsError(_format_validation(path, exc)) from None


def load_results(path: Path | str) -> RunResults:
    """Read a results file; a missing, empty, truncated, non-JSON or wrong-schema file raises ResultsError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such results file (write one with pytest --llmops --llmops-results {path})") from None
    except IsADirectoryError:
        raise ResultsError(f"{path}: is a folder, not a results file") from None
    except UnicodeDecodeError:
        raise ResultsError(f"{path}: not a results file: not UTF-8 text") from None
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not text.strip():
        raise ResultsError(f"{path}: empty results file (the run may have been interrupted)")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = " (truncated?)" if text.lstrip().startswith("{") and not text.rstrip().endswith("}") else ""
        raise ResultsError(f"{path}: not valid JSON{hint}: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    return parse_results(document, path)


__all__ = [
    "SCHEMA_VERSION", "Outcome", "CheckRecord", "TurnRecord", "CaseResult", "CollectionErrorRecord",
    "LatencySummary", "Summary", "GitInfo", "TargetInfo", "RunInfo", "ToolInfo", "RunResults",
    "ResultsError", "write_results", "load_results", "parse_results",
]

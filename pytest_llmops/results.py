"""The results JSON of a ``--llmops`` run: its model, a writer and a loader.

``pytest --llmops --llmops-results=PATH`` writes one :class:`RunResults` document; the
gate and trend comparisons read it back with :func:`load_results`. The shape is a
contract (documented in docs/results.md, JSON Schema in docs/results.schema.json):
fields may be added, never renamed or removed without raising ``SCHEMA_VERSION``.
Every model accepts unknown fields, so an older reader still loads a newer file of the
same schema. Schema 2 added tokens and cost; files of schema 1 are still read (their
``tokens`` are absent, i.e. None).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_serializer

from .errors import ResultsError
from .jsonl import write_file_atomic
from .transcript import CheckResult
from .validation import one_line

SCHEMA_VERSION = 2
#: every schema this version reads: 1 (before tokens and cost) and 2
READABLE_SCHEMAS = (1, 2)
TOOL_NAME = "pytest-llmops"

Outcome = Literal["passed", "failed", "skipped", "error"]


class _Open(BaseModel):
    """A part of the document: known fields are typed, added fields are kept as they are."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class TargetInfo(_Open):
    """``Target.describe()`` made safe to show (``redaction.public_description``): never a secret."""

    name: str
    kind: str
    url: str | None = None


class TokenUsage(_Open):
    """The tokens of one account (the bot, the judge or the embedder) and what they cost.

    ``cost_usd`` is None when some of the tokens have no price (``[tool.llmops.prices]``):
    then ``unpriced_models`` names the models that lack one, and no total is guessed.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float | None = 0.0
    unpriced_models: list[str] = Field(default_factory=list)

    def __add__(self, other: "TokenUsage") -> "TokenUsage":
        cost = None if self.cost_usd is None or other.cost_usd is None else round(self.cost_usd + other.cost_usd, 9)
        return TokenUsage(prompt_tokens=self.prompt_tokens + other.prompt_tokens,
                          completion_tokens=self.completion_tokens + other.completion_tokens,
                          total_tokens=self.total_tokens + other.total_tokens, cost_usd=cost,
                          unpriced_models=sorted({*self.unpriced_models, *other.unpriced_models}))


#: the accounts tokens are counted in: the chatbot's, and apart from it the judge's and the embedder's
TOKEN_ACCOUNTS = ("bot", "judge", "embeddings")


class Tokens(_Open):
    """Tokens and cost per account; an account is None when nothing was spent or reported in it."""

    bot: TokenUsage | None = None
    judge: TokenUsage | None = None
    embeddings: TokenUsage | None = None

    def __add__(self, other: "Tokens | None") -> "Tokens":
        if other is None:
            return self
        summed: dict[str, TokenUsage | None] = {}
        for account in TOKEN_ACCOUNTS:
            mine, theirs = getattr(self, account), getattr(other, account)
            summed[account] = theirs if mine is None else mine if theirs is None else mine + theirs
        return Tokens(**summed)

    def is_empty(self) -> bool:
        return all(getattr(self, account) is None for account in TOKEN_ACCOUNTS)


def sum_tokens(items: Iterable[Tokens | None]) -> Tokens | None:
    """The sum of ``items``; None when none of them holds anything.

    Summed as plain numbers per account and built into models once: a run's summary adds
    up every case, and a model per addition cost more than the rest of the summary.
    """
    sums: dict[str, list[Any]] = {}  # account -> [prompt, completion, total, cost or None, unpriced models]
    for item in items:
        if item is None:
            continue
        for account in TOKEN_ACCOUNTS:
            usage = getattr(item, account)
            if usage is None:
                continue
            if account not in sums:
                sums[account] = [usage.prompt_tokens, usage.completion_tokens, usage.total_tokens, usage.cost_usd,
                                 set(usage.unpriced_models)]
                continue
            total = sums[account]
            total[0] += usage.prompt_tokens
            total[1] += usage.completion_tokens
            total[2] += usage.total_tokens
            total[3] = None if total[3] is None or usage.cost_usd is None else round(total[3] + usage.cost_usd, 9)
            total[4].update(usage.unpriced_models)
    if not sums:
        return None
    return Tokens(**{account: TokenUsage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total,
                                         cost_usd=cost, unpriced_models=sorted(unpriced))
                     for account, (prompt, completion, total, cost, unpriced) in sums.items()})


class TurnRecord(_Open):
    """One turn as every output shows it: the masked user message and reply (None after a fault),
    timing, the values its ``save`` captured (masked) and every check (``transcript.CheckResult``)."""

    turn: int
    user: str
    reply: str | None
    latency_ms: float | None
    ttft_ms: float | None = None
    status: int | None = None
    error: str | None = None
    error_kind: str | None = None
    retries: int = 0
    latency_recorded: bool = False  # replayed from a cassette: latency_ms is the recorded one
    saved: dict[str, str] = Field(default_factory=dict)
    checks: list[CheckResult] = Field(default_factory=list)
    passed: bool
    tokens: Tokens | None = None  # what this turn cost: the bot's reply, and apart its judge and embedding calls
    tool_calls: list[dict[str, Any]] | None = None  # every call the bot made ({name, arguments}, masked)

    def failed_checks(self) -> list[CheckResult]:
        return [check for check in self.checks if not check.passed]


class FailedCheck(_Open):
    """A failed check of one run of a repeated case, as the distribution lists it."""

    turn: int
    check: str
    actual: str


class RunRecord(_Open):
    """One run of a case replayed several times: its verdict and every turn.

    ``failed_checks`` and ``latency_ms`` (per turn) summarise ``turns`` for readers of the
    JSON; they are filled in when the record is built.
    """

    run: int
    passed: bool
    failed_checks: list[FailedCheck] = Field(default_factory=list)
    skipped_turns: int = 0
    latency_ms: list[float | None] = Field(default_factory=list)
    turns: list[TurnRecord] = Field(default_factory=list)  # absent in files written before this field


class LatencySpread(_Open):
    min: float
    median: float
    max: float
    runs: int


class RepeatRecord(_Open):
    """How a repeated case's runs went: the threshold, every run, and each turn's latency spread."""

    runs: int
    min_pass: int
    passed_runs: int
    shown_run: int  # the run whose turns are the case's ``turns``
    results: list[RunRecord] = Field(default_factory=list)
    latency_ms: dict[str, LatencySpread] = Field(default_factory=dict)  # per turn number ("1", ...)


class CaseResult(_Open):
    """The typed record of one case: built once when it is judged, read by every output.

    Failure text, JUnit properties, the terminal summary, the HTML report, the results
    JSON and the gate all read this. ``turns`` are the shown run's; a repeated case
    holds every run in ``repeat.results``, and :meth:`all_turns` walks them all.
    """

    nodeid: str
    case_id: str
    file: str
    line: int | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    target: TargetInfo = Field(default_factory=lambda: TargetInfo(name="?", kind="?"))
    target_pinned: bool = False  # the case (or its file) named its target; False: it ran on the run's
    system: str | None = None  # the system prompt the conversation was sent with (masked)
    passed: bool
    turns: list[TurnRecord] = Field(default_factory=list)
    skipped_turns: int = 0
    outcome: Outcome
    duration_s: float = 0.0
    repeat: RepeatRecord | None = None
    probe_category: str | None = None  # a probe of the shipped library (--llmops-probes): its category
    tokens: Tokens | None = None  # every turn of every run, per account

    @model_serializer(mode="wrap")
    def _optional_fields_only_when_set(self, handler: Any) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            for name in ("repeat", "probe_category"):  # a case run once, or not a probe, has no such field
                if data.get(name) is None:
                    data.pop(name, None)
        return data

    def all_turns(self) -> Iterator[TurnRecord]:
        """Every turn sent for this case: of every run when it was repeated."""
        if self.repeat is None or not any(run.turns for run in self.repeat.results):
            yield from self.turns  # one run, or a file from before runs kept their turns
            return
        for run in self.repeat.results:
            yield from run.turns

    def failed_checks(self) -> list[tuple[TurnRecord, CheckResult]]:
        """(turn, check) for every failed check of the shown run."""
        return [(turn, check) for turn in self.turns for check in turn.checks if not check.passed]


def case_to_dict(case: CaseResult) -> dict[str, Any]:
    """A case record as plain JSON data (to cross a process boundary: xdist workers, the results file)."""
    return case.model_dump(mode="json", by_alias=True)


def case_from_dict(data: Any) -> CaseResult:
    """A case record back from :func:`case_to_dict`'s data (validated)."""
    return CaseResult.model_validate(data)


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


class ProbeTally(_Open):
    """How one probe category went: ``held`` of ``run`` probes (passed / passed + failed + errors)."""

    run: int = 0
    held: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0


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
    probes: dict[str, ProbeTally] = Field(default_factory=dict)  # per probe category; empty without probes
    tokens: Tokens = Field(default_factory=Tokens)  # the whole run, per account (empty in schema 1 files)


class GitInfo(_Open):
    commit: str | None = None
    branch: str | None = None
    dirty: bool | None = None



class RunInfo(_Open):
    started_at: datetime
    finished_at: datetime
    duration_s: float
    git: GitInfo = Field(default_factory=GitInfo)
    target: TargetInfo  # the target the cases ran against (several: see ``targets``)
    targets: list[TargetInfo] = Field(default_factory=list)  # every target a case ran against, in order
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

    schema_version: Literal[1, 2] = Field(default=SCHEMA_VERSION, alias="schema")
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




def parse_results(document: Any, path: Path | str = "<results>") -> RunResults:
    """Validate an already-parsed JSON document; raises ResultsError naming what is wrong."""
    path = Path(path)
    if not isinstance(document, dict):
        raise ResultsError(f"{path}: not a results file: a JSON {type(document).__name__}, not an object")
    if "schema" not in document:
        raise ResultsError(f"{path}: not a pytest-llmops results file (no 'schema' key)")
    schema = document["schema"]
    if isinstance(schema, bool) or schema not in READABLE_SCHEMAS:
        readable = " and ".join(str(version) for version in READABLE_SCHEMAS)
        raise ResultsError(f"{path}: results schema {schema!r} is not supported: this pytest-llmops reads "
                           f"schema {readable} (write the file with a matching version)")
    try:
        return RunResults.model_validate(document)
    except ValidationError as exc:
        raise ResultsError(f"{path}: not a valid results file: {one_line(exc, limit=10)}") from None


def load_results(path: Path | str) -> RunResults:
    """Read a results file; a missing, empty, truncated, non-JSON or wrong-schema file raises ResultsError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such results file (write one with pytest --llmops --llmops-results={path})") from None
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
    "SCHEMA_VERSION", "READABLE_SCHEMAS", "TokenUsage", "Tokens", "TOKEN_ACCOUNTS", "sum_tokens", "Outcome", "CheckResult", "TurnRecord", "RunRecord", "RepeatRecord", "CaseResult",
    "CollectionErrorRecord", "case_to_dict", "case_from_dict",
    "LatencySummary", "ProbeTally", "Summary", "GitInfo", "TargetInfo", "RunInfo", "ToolInfo", "RunResults",
    "ResultsError", "write_results", "load_results", "parse_results",
]

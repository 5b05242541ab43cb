"""Plain data that flows one way: a conversation's exchanges, then the checks' results.

Nothing here knows about pytest, HTTP or YAML; every front reads and writes these.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Reply:
    """What a target returned for one user message."""

    text: str
    status: int | None = None
    ttft_ms: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Exchange:
    """One turn as it happened: the user message, the reply (or the fault) and its timing."""

    turn: int  # 1-based
    user: str
    reply: str | None
    latency_ms: float | None
    error: str | None = None  # a fault: connection refused, timeout, HTTP 500, ...
    error_kind: str | None = None
    status: int | None = None
    ttft_ms: float | None = None
    retries: int = 0
    variables: dict[str, str] = field(default_factory=dict)  # {name} values when this turn was sent
    saved: dict[str, str] = field(default_factory=dict)  # values this turn's save captured
    save_missing: dict[str, str] = field(default_factory=dict)  # name -> save pattern that found nothing
    latency_recorded: bool = False  # latency comes from a cassette, not measured in this run

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CheckResult:
    """One check of one reply: passed or not, with what was expected and what came back.

    ``actual`` is already masked: it may be printed anywhere.
    """

    check: str
    passed: bool
    expected: str
    actual: str
    pii_kinds: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        # Flat fields: a shallow copy is what asdict() gives, at a fraction of its cost per check.
        return {**vars(self), "pii_kinds": list(self.pii_kinds)}


@dataclass
class TurnResult:
    """An exchange and every check run on it."""

    exchange: Exchange
    checks: list[CheckResult]

    @property
    def failed(self) -> list[CheckResult]:
        return [check for check in self.checks if not check.passed]


@dataclass
class Transcript:
    """A whole replayed conversation."""

    case_id: str
    target: str
    exchanges: list[Exchange] = field(default_factory=list)
    skipped_turns: int = 0  # turns never sent because an earlier turn failed at the transport

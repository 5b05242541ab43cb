"""The raw data of a replay, before anything is masked: replies, exchanges, check results.

A target returns a :class:`Reply` for each user message of a :class:`Conversation`; the
replay engine times it into an :class:`Exchange`; the checker turns each exchange into
:class:`CheckResult` s. These hold the chatbot's text as it was said, so they never leave
the engine: :mod:`pytest_llmops.record` masks them into the case's record, which every
output reads. Nothing here knows about pytest, HTTP or YAML.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Reply:
    """What a target returned for one user message.

    ``retries`` counts 429/503 retries the reply needed; ``recorded_latency_ms`` is set
    only when the reply was replayed from a cassette, and then it is the latency judged.
    """

    text: str
    status: int | None = None
    ttft_ms: float | None = None
    retries: int = 0
    recorded_latency_ms: float | None = None


@dataclass
class Conversation:
    """One run of one conversation, as a target sees it: which case and run it is, and private state.

    ``state`` starts empty for every run; a target may keep what it needs between turns
    there (the http target keeps the session id the bot handed out). ``case_key`` names
    the case in cassette folders (``support/orders.yaml::status``); ``run`` is 1-based.
    """

    case_key: str = ""
    run: int = 1
    state: dict[str, Any] = field(default_factory=dict)


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
    system: str | None = None  # the system prompt sent with this turn (canary included), for the leak check
    canary: str | None = None  # the canary planted in it, if one was

    def to_dict(self) -> dict[str, Any]:
        """The exchange as plain data (unmasked: for the service's own hands, e.g. attaching it to feedback)."""
        return asdict(self)


@dataclass
class CheckResult:
    """One check of one reply: passed or not, with what was expected and what came back.

    ``expected`` and ``actual`` are already masked: a check result may be printed anywhere.
    The same object is part of the case's record (``results.TurnRecord.checks``).
    """

    check: str
    passed: bool
    expected: str
    actual: str
    pii_kinds: list[str] = field(default_factory=list)


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
    """A whole replayed conversation: one run of a case."""

    case_id: str
    target: str
    exchanges: list[Exchange] = field(default_factory=list)
    skipped_turns: int = 0  # turns never sent because an earlier turn failed at the transport
    run: int = 1

"""The raw data of a replay, before anything is masked: replies, exchanges, check results.

A target returns a :class:`Reply` for each user message of a :class:`Conversation`; the
replay engine times it into an :class:`Exchange`; the checker turns each exchange into
:class:`CheckResult` s. These hold the chatbot's text as it was said, so they never leave
the engine: :mod:`pytest_llmops.record` masks them into the case's record, which every
output reads. Nothing here knows about pytest, HTTP or YAML.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Usage:
    """Tokens one reply (or one judge or embedding call) cost, as the API reported them.

    ``model`` is the model that answered (the response's, else the configured one): the
    price of the tokens is looked up by it (``[tool.llmops.prices]``).
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str | None = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def from_api(cls, data: Any, model: str | None = None) -> "Usage | None":
        """An API's ``usage`` object (``prompt_tokens``/``completion_tokens``, or ``input_tokens``/``output_tokens``);
        None when there is none or it holds no token counts."""
        if not isinstance(data, dict):
            return None
        counts = []
        for names in (("prompt_tokens", "input_tokens"), ("completion_tokens", "output_tokens")):
            value = next((data[name] for name in names if name in data), 0)
            counts.append(value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None)
        if None in counts or not any(name in data for name in ("prompt_tokens", "input_tokens", "completion_tokens",
                                                                  "output_tokens", "total_tokens")):
            return None
        return cls(counts[0], counts[1], model)

    def __add__(self, other: "Usage | None") -> "Usage":
        if other is None:
            return self
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens,
                     self.model or other.model)


def add_usage(*usages: "Usage | None") -> "Usage | None":
    """The sum of the usages given; None when none was reported."""
    reported = [usage for usage in usages if usage is not None]
    if not reported:
        return None
    total = reported[0]
    for usage in reported[1:]:
        total = total + usage
    return total


@dataclass(frozen=True)
class ToolCall:
    """One function call the bot asked for: its id, the function's name and the arguments as sent (JSON text)."""

    id: str
    name: str
    arguments: str = "{}"

    def parsed_arguments(self) -> Any:
        """The arguments as JSON data; ValueError when the bot sent something that is not JSON."""
        return json.loads(self.arguments or "{}")

    def to_message(self) -> dict[str, Any]:
        """The call as an OpenAI ``tool_calls`` entry (what goes back in the history)."""
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


@dataclass
class Reply:
    """What a target returned for one user message.

    ``retries`` counts 429/503 retries the reply needed; ``recorded_latency_ms`` is set
    only when the reply was replayed from a cassette, and then it is the latency judged.
    ``usage`` is None when the target reports no token counts. ``tool_calls`` is None
    when the kind of target cannot report tool calls at all, and ``[]`` when it can and
    the bot made none.
    """

    text: str
    status: int | None = None
    ttft_ms: float | None = None
    retries: int = 0
    recorded_latency_ms: float | None = None
    usage: Usage | None = None
    tool_calls: list[ToolCall] | None = None


@dataclass
class Embeddings:
    """What an embedder returned: one vector per input text, in order, and the tokens it cost."""

    vectors: list[list[float]]
    usage: Usage | None = None
    recorded_latency_ms: float | None = None


@dataclass
class Conversation:
    """One run of one conversation, as a target sees it: which case and run it is, and private state.

    ``state`` starts empty for every run; a target may keep what it needs between turns
    there (the http target keeps the session id the bot handed out). ``case_key`` names
    the case in cassette folders (``support/orders.yaml::status``); ``run`` is 1-based.
    ``tools`` are the case's tool definitions (OpenAI ``{"type": "function", ...}``
    entries), offered to the bot with every request on top of the target's own.
    """

    case_key: str = ""
    run: int = 1
    state: dict[str, Any] = field(default_factory=dict)
    tools: list[dict[str, Any]] = field(default_factory=list)


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
    usage: Usage | None = None  # the bot's tokens for this turn (every tool round); None: not reported
    tool_calls: list[ToolCall] | None = None  # every call the bot made this turn; None: the target cannot say
    tool_messages: list[dict[str, Any]] = field(default_factory=list)  # the calls and canned results sent back

    def to_dict(self) -> dict[str, Any]:
        """The exchange as plain data (unmasked: for the service's own hands, e.g. attaching it to feedback)."""
        return asdict(self)


@dataclass
class CheckResult:
    """One check of one reply: passed or not, with what was expected and what came back.

    ``expected`` and ``actual`` are already masked: a check result may be printed anywhere.
    The same object is part of the case's record (``results.TurnRecord.checks``).
    ``score`` and ``reason`` are a judge's verdict or a similarity score (masked too);
    ``usage`` is what the check itself spent (judge or embedding tokens; None when it
    spent nothing, e.g. a cached verdict).
    """

    check: str
    passed: bool
    expected: str
    actual: str
    pii_kinds: list[str] = field(default_factory=list)
    score: float | None = None
    reason: str | None = None
    usage: Usage | None = None


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
    system: str | None = None  # the system prompt sent (variables filled in): a judge sees it
    case_key: str = ""  # the conversation's name in cassette folders (Conversation.case_key)

    def history_before(self, exchange: Exchange) -> list[dict[str, Any]]:
        """The messages the bot had seen before ``exchange``'s reply: system prompt, earlier turns, its user message."""
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.system}] if self.system else []
        for earlier in self.exchanges:
            if earlier.turn >= exchange.turn:
                break
            messages.append({"role": "user", "content": earlier.user})
            if earlier.reply is not None:
                messages.append({"role": "assistant", "content": earlier.reply})
        messages.append({"role": "user", "content": exchange.user})
        return messages

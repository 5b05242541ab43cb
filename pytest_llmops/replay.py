"""Sending a conversation to a target turn by turn, timing each reply honestly.

The clock runs from handing the request to the target until the full reply is back,
so time spent waiting elsewhere (a concurrency slot, pytest's own work) never counts.
A fault ends the conversation: later turns depend on replies that never came.

When the bot calls tools and the case gives canned results for them, the turn goes on
as it would in production: the bot's calls and the results (as ``tool`` messages) are
sent back and the bot answers again, at most ``max_tool_rounds`` times. The turn's
latency is the sum of the bot's replies (the user waited for all of them); its final
reply is what the checks see, and every call of every round is kept.

A :class:`ReplayJob` is one case, decided at collection: which case, which target,
how many runs, and its name in cassette folders. The scheduler runs each of its runs;
nothing here knows about pytest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from .checks.canary import plant
from .cases import LoadedCase
from .errors import TargetError
from .repeat import RepeatPlan
from .targets.base import Message, Target
from .tools import result_content
from .transcript import Conversation, Exchange, Reply, ToolCall, Transcript, add_usage
from .variables import capture, fill

DEFAULT_TOOL_ROUNDS = 3

StopFlag = Callable[[], bool]


def build_messages(system: str | None, history: list[Message], user: str) -> list[Message]:
    """The message list a target receives: system prompt, earlier turns, the new message."""
    messages: list[Message] = [{"role": "system", "content": system}] if system else []
    messages.extend(history)
    messages.append({"role": "user", "content": user})
    return messages


def _timed_send(target: Target, messages: list[Message], conversation: Conversation) -> tuple[Reply | TargetError,
                                                                                                float, bool]:
    """(reply or fault, milliseconds it took, whether that time was recorded in a cassette)."""
    started = time.perf_counter()
    try:
        outcome: Reply | TargetError = target.send(messages, conversation)
    except TargetError as exc:
        outcome = exc
    elapsed = (time.perf_counter() - started) * 1000
    recorded = outcome.recorded_latency_ms
    return outcome, (elapsed if recorded is None else recorded), recorded is not None


def _answered(calls: list[ToolCall], tool_results: dict[str, object]) -> bool:
    return bool(calls) and all(call.name in tool_results for call in calls)


def send_turn(target: Target, messages: list[Message], conversation: Conversation, turn: int,
              tool_results: dict[str, object] | None = None, max_tool_rounds: int = DEFAULT_TOOL_ROUNDS) -> Exchange:
    """Send one user message (and any tool rounds) and time it; a TargetError becomes the exchange's error.

    A reply (or fault) replayed from a cassette carries the latency recorded then, and
    that is the latency judged.
    """
    exchange = Exchange(turn=turn, user=str(messages[-1]["content"]), reply=None, latency_ms=0.0,
                        latency_recorded=True)
    sent = list(messages)
    for round_number in range(max_tool_rounds + 1):
        outcome, elapsed, recorded = _timed_send(target, sent, conversation)
        exchange.latency_ms = round((exchange.latency_ms or 0.0) + elapsed, 3)
        exchange.latency_recorded = exchange.latency_recorded and recorded
        exchange.retries += outcome.retries
        exchange.status = outcome.status
        if isinstance(outcome, TargetError):
            exchange.error, exchange.error_kind = str(outcome) or outcome.__class__.__name__, outcome.kind
            return exchange
        if round_number == 0:
            exchange.ttft_ms = outcome.ttft_ms
        exchange.usage = add_usage(exchange.usage, outcome.usage)
        if outcome.tool_calls is not None:
            exchange.tool_calls = [*(exchange.tool_calls or []), *outcome.tool_calls]
        if not _answered(outcome.tool_calls or [], tool_results or {}):
            exchange.reply = outcome.text
            return exchange
        if round_number == max_tool_rounds:
            break
        results = tool_results or {}
        step: list[Message] = [{"role": "assistant", "content": outcome.text or None,
                                "tool_calls": [call.to_message() for call in outcome.tool_calls or []]}]
        step += [{"role": "tool", "tool_call_id": call.id, "content": result_content(results[call.name])}
                 for call in outcome.tool_calls or []]
        sent += step
        exchange.tool_messages.extend(step)
    exchange.error_kind = "tool_rounds"
    exchange.error = (f"the bot still called tools after {max_tool_rounds} round(s) of results "
                      "(max_tool_rounds in [tool.llmops])")
    return exchange


def replay_case(case: LoadedCase, target: Target, should_stop: StopFlag | None = None,
                conversation: Conversation | None = None, canary: str | None = None,
                max_tool_rounds: int = DEFAULT_TOOL_ROUNDS) -> Transcript:
    """Replay every turn of ``case`` against ``target``; stops at the first fault.

    ``should_stop`` is asked before each turn (the run is being cancelled); when it
    says yes, the remaining turns are counted as skipped instead of being sent. The
    target is told when the conversation ends (``Target.end``), whatever happened.
    ``canary`` is planted in the case's system prompt (a case without one gets none).
    """
    conversation = conversation or Conversation(case_key=case.id)
    conversation.tools = list(case.tools)
    transcript = Transcript(case_id=case.id, target=target.name, run=conversation.run, case_key=conversation.case_key)
    try:
        _replay_turns(case, target, should_stop, conversation, transcript, canary, max_tool_rounds)
    finally:
        target.end(conversation)
    return transcript


def _replay_turns(case: LoadedCase, target: Target, should_stop: StopFlag | None, conversation: Conversation,
                  transcript: Transcript, canary: str | None, max_tool_rounds: int) -> None:
    history: list[Message] = []
    turns = case.case.turns
    variables = dict(case.variables)  # fixed vars, then what each turn's save captures
    system = fill(case.system, variables) if case.system else case.system
    canary = canary if system else None
    if canary:
        system = plant(system, canary)
    transcript.system = system
    for index, turn in enumerate(turns, start=1):
        if should_stop is not None and should_stop():
            transcript.skipped_turns = len(turns) - index + 1
            return
        messages = build_messages(system, history, fill(turn.user, variables))
        exchange = send_turn(target, messages, conversation, index, case.tool_results, max_tool_rounds)
        exchange.variables = dict(variables)
        # what the leak check compares the reply with: the system prompt exactly as it was sent
        exchange.system = messages[0]["content"] if messages[0]["role"] == "system" else None
        exchange.canary = canary
        transcript.exchanges.append(exchange)
        if exchange.reply is None:
            transcript.skipped_turns = len(turns) - index
            return
        if turn.save:
            found = capture(turn.save, exchange.reply)
            exchange.saved, exchange.save_missing = found.saved, found.missing
            variables.update(found.saved)
            if found.missing:  # later turns would send a placeholder instead of the value
                transcript.skipped_turns = len(turns) - index
                return
        history.append({"role": "user", "content": exchange.user})
        history.extend(exchange.tool_messages)  # calls and canned results, as production would keep them
        history.append({"role": "assistant", "content": exchange.reply})


@dataclass(frozen=True)
class ReplayJob:
    """One case to replay, decided at collection: the case, its target, its runs, its cassette name.

    ``key`` is unique in the run (the plugin uses the pytest node id). Each run is an
    independent conversation, so the runs of a repeated case can go concurrently.
    """

    key: str
    case: LoadedCase
    target: Target
    plan: RepeatPlan
    cassette_key: str
    canary: str | None = None  # planted in the case's system prompt (``[tool.llmops.leaks] plant_canary``)
    max_tool_rounds: int = DEFAULT_TOOL_ROUNDS

    @property
    def run_numbers(self) -> range:
        return range(1, self.plan.runs + 1)

    def replay(self, run: int, should_stop: StopFlag | None = None) -> Transcript:
        """Replay run number ``run`` (1-based) of this case; safe to call from a pool thread."""
        return replay_case(self.case, self.target, should_stop, Conversation(case_key=self.cassette_key, run=run),
                           self.canary, self.max_tool_rounds)

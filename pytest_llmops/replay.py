"""Sending a conversation to a target turn by turn, timing each reply honestly.

The clock runs from handing the request to the target until the full reply is back,
so time spent waiting elsewhere (a concurrency slot, pytest's own work) never counts.
A fault ends the conversation: later turns depend on replies that never came.

A :class:`ReplayJob` is one case, decided at collection: which case, which target,
how many runs, and its name in cassette folders. The scheduler runs each of its runs;
nothing here knows about pytest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from .canary import plant
from .cases import LoadedCase
from .errors import TargetError
from .repeat import RepeatPlan
from .targets.base import Message, Target
from .transcript import Conversation, Exchange, Transcript
from .variables import capture, fill

StopFlag = Callable[[], bool]


def build_messages(system: str | None, history: list[Message], user: str) -> list[Message]:
    """The message list a target receives: system prompt, earlier turns, the new message."""
    messages: list[Message] = [{"role": "system", "content": system}] if system else []
    messages.extend(history)
    messages.append({"role": "user", "content": user})
    return messages


def send_turn(target: Target, messages: list[Message], conversation: Conversation, turn: int) -> Exchange:
    """Send one user message and time it; a TargetError becomes the exchange's error.

    A reply (or fault) replayed from a cassette carries the latency recorded then, and
    that is the latency judged.
    """
    user = messages[-1]["content"]
    started = time.perf_counter()
    try:
        reply = target.send(messages, conversation)
    except TargetError as exc:
        elapsed = (time.perf_counter() - started) * 1000
        recorded = exc.recorded_latency_ms
        return Exchange(turn=turn, user=user, reply=None, latency_ms=round(elapsed if recorded is None else recorded, 3),
                        error=str(exc) or exc.__class__.__name__, error_kind=exc.kind, status=exc.status,
                        latency_recorded=recorded is not None, retries=exc.retries)
    elapsed = (time.perf_counter() - started) * 1000
    recorded = reply.recorded_latency_ms
    return Exchange(turn=turn, user=user, reply=reply.text, latency_ms=round(elapsed if recorded is None else recorded, 3),
                    status=reply.status, ttft_ms=reply.ttft_ms, retries=reply.retries,
                    latency_recorded=recorded is not None)


def replay_case(case: LoadedCase, target: Target, should_stop: StopFlag | None = None,
                conversation: Conversation | None = None, canary: str | None = None) -> Transcript:
    """Replay every turn of ``case`` against ``target``; stops at the first fault.

    ``should_stop`` is asked before each turn (the run is being cancelled); when it
    says yes, the remaining turns are counted as skipped instead of being sent. The
    target is told when the conversation ends (``Target.end``), whatever happened.
    ``canary`` is planted in the case's system prompt (a case without one gets none).
    """
    conversation = conversation or Conversation(case_key=case.id)
    transcript = Transcript(case_id=case.id, target=target.name, run=conversation.run)
    try:
        _replay_turns(case, target, should_stop, conversation, transcript, canary)
    finally:
        target.end(conversation)
    return transcript


def _replay_turns(case: LoadedCase, target: Target, should_stop: StopFlag | None, conversation: Conversation,
                  transcript: Transcript, canary: str | None) -> None:
    history: list[Message] = []
    turns = case.case.turns
    variables = dict(case.variables)  # fixed vars, then what each turn's save captures
    system = fill(case.system, variables) if case.system else case.system
    canary = canary if system else None
    if canary:
        system = plant(system, canary)
    for index, turn in enumerate(turns, start=1):
        if should_stop is not None and should_stop():
            transcript.skipped_turns = len(turns) - index + 1
            return
        messages = build_messages(system, history, fill(turn.user, variables))
        exchange = send_turn(target, messages, conversation, index)
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

    @property
    def run_numbers(self) -> range:
        return range(1, self.plan.runs + 1)

    def replay(self, run: int, should_stop: StopFlag | None = None) -> Transcript:
        """Replay run number ``run`` (1-based) of this case; safe to call from a pool thread."""
        return replay_case(self.case, self.target, should_stop, Conversation(case_key=self.cassette_key, run=run),
                           self.canary)

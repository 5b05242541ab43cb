"""Sending a conversation to a target turn by turn, timing each reply honestly.

The clock runs from handing the request to the target until the full reply is back,
so time spent waiting elsewhere (a concurrency slot, pytest's own work) never counts.
A fault ends the conversation: later turns depend on replies that never came.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from .cases import LoadedCase
from .errors import TargetError
from .targets.base import Message, Target
from .transcript import Exchange, Transcript
from .variables import capture, fill


def build_messages(system: str | None, history: list[Message], user: str) -> list[Message]:
    """The message list a target receives: system prompt, earlier turns, the new message."""
    messages: list[Message] = [{"role": "system", "content": system}] if system else []
    messages.extend(history)
    messages.append({"role": "user", "content": user})
    return messages


def send_turn(target: Target, messages: list[Message], session: dict[str, Any], turn: int) -> Exchange:
    """Send one user message and time it; a TargetError becomes the exchange's error."""
    user = messages[-1]["content"]
    started = time.perf_counter()
    try:
        reply = target.send(messages, session)
    except TargetError as exc:
        elapsed = (time.perf_counter() - started) * 1000
        recorded = getattr(exc, "recorded_latency_ms", None)  # a fault replayed from a cassette
        return Exchange(turn=turn, user=user, reply=None, latency_ms=round(elapsed if recorded is None else recorded, 3),
                        error=str(exc) or exc.__class__.__name__, error_kind=exc.kind,
                        status=getattr(exc, "status", None), latency_recorded=recorded is not None,
                        retries=int(getattr(exc, "retries", 0)))  # an HTTP error still failing after retries
    elapsed = (time.perf_counter() - started) * 1000
    recorded = reply.meta.get("recorded_latency_ms")  # a reply replayed from a cassette: judge its recorded time
    return Exchange(turn=turn, user=user, reply=reply.text, latency_ms=round(elapsed if recorded is None else recorded, 3),
                    status=reply.status, ttft_ms=reply.ttft_ms, retries=int(reply.meta.get("retries", 0)),
                    latency_recorded=recorded is not None)


def replay_case(case: LoadedCase, target: Target, should_stop: Callable[[], bool] | None = None) -> Transcript:
    """Replay every turn of ``case`` against ``target``; stops at the first fault.

    ``should_stop`` is asked before each turn (the run is being cancelled); when it
    says yes, the remaining turns are counted as skipped instead of being sent.
    """
    transcript = Transcript(case_id=case.id, target=target.name)
    history: list[Message] = []
    session: dict[str, Any] = {}
    turns = case.case.turns
    variables = dict(case.variables)  # fixed vars, then what each turn's save captures
    system = fill(case.system, variables) if case.system else case.system
    for index, turn in enumerate(turns, start=1):
        if should_stop is not None and should_stop():
            transcript.skipped_turns = len(turns) - index + 1
            break
        exchange = send_turn(target, build_messages(system, history, fill(turn.user, variables)), session, index)
        exchange.variables = dict(variables)
        transcript.exchanges.append(exchange)
        if exchange.reply is None:
            transcript.skipped_turns = len(turns) - index
            break
        if turn.save:
            found = capture(turn.save, exchange.reply)
            exchange.saved, exchange.save_missing = found.saved, found.missing
            variables.update(found.saved)
            if found.missing:  # later turns would send a placeholder instead of the value
                transcript.skipped_turns = len(turns) - index
                break
        history.append({"role": "user", "content": exchange.user})
        history.append({"role": "assistant", "content": exchange.reply})
    return transcript

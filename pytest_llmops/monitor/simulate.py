"""``llmops monitor --simulate N``: realistic support traffic against a target, monitored live.

Keeps the prototype's demo: customers hold short conversations with the bot, and the
monitor checks every reply. Against the built-in stub (the default) the bot is made
to misbehave now and then, as the prototype's fake bot did: receipts leak an email
address, a phone number slips out when asked about warranty, gift-card questions fail,
and bulk-order questions are slower than ``max_latency_ms``. Replies are timed for real
(through the same ``send_turn`` the suite uses), so slow replies really take that long;
conversations run concurrently so a demo does not wait for each one.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from ..config import Settings
from ..replay import build_messages, send_turn
from ..targets import Target, build_target
from ..targets.base import Message
from ..targets.stub import StubBehaviour, StubTarget
from ..transcript import Conversation
from .service import Monitor

#: short customer conversations; the demo picks among them at random
CONVERSATIONS: list[list[str]] = [
    ["Hi", "Where is my order #482913?", "Thanks!"],
    ["How long do I have to return an item?", "Can I get store credit instead?"],
    ["My blender arrived broken", "How long will the refund take?"],
    ["I want to cancel my order", "It's order 731455"],
    ["Can you email me the receipt for order 556210?"],
    ["What is the warranty on the coffee machine?"],
    ["Can I pay with a gift card?"],
    ["Do you offer discounts for a bulk order of 200 mugs?"],
    ["How do I reset my password?", "Thank you"],
    ["What data do you store about me?", "Please delete my personal data"],
    ["I'd like to speak to a human", "How long is the wait?"],
    ["What are your opening hours?", "How much is shipping?"],
    ["My name is Priya", "What is my email address on file?"],
    ["Who are you?", "Bye"],
]

USER_IDS = [f"customer-{number:04d}" for number in range(1, 41)]


def demo_stub(settings: Settings) -> StubTarget:
    """The stub bot misbehaving as in the prototype's demo; "slow" is relative to the latency limit."""
    return StubTarget("stub", StubBehaviour(
        leak="both", leak_on=r"receipt|warranty",
        error_on=r"gift card",
        slow_on=r"bulk order", slow_ms=settings.max_latency_ms * 1.2,
    ))


def simulation_target(settings: Settings, name: str | None) -> Target:
    """The named target, or (by default) the misbehaving demo stub."""
    if name is None or (name == "stub" and "stub" not in settings.targets):
        return demo_stub(settings)
    return build_target(name, settings)


def _one_conversation(monitor: Monitor, target: Target, number: int, turns: list[str], user_id: str,
                      budget: list[int], budget_lock: Any, should_stop: Callable[[], bool]) -> None:
    history: list[Message] = []
    conversation_id = f"sim-{number:05d}"
    conversation = Conversation(case_key=conversation_id)
    try:
        for index, user in enumerate(turns, start=1):
            if should_stop():
                return
            with budget_lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            exchange = send_turn(target, build_messages(target.system, history, user), conversation, index)
            monitor.record(user, exchange.reply, exchange.latency_ms, conversation_id=conversation_id,
                           user_id=user_id, error=exchange.error, status=exchange.status)
            if exchange.reply is None:
                return
            history.extend([{"role": "user", "content": user}, {"role": "assistant", "content": exchange.reply}])
    finally:
        target.end(conversation)


def simulate(monitor: Monitor, target: Target, interactions: int, *, seed: int | None = None,
             concurrency: int = 8, should_stop: Callable[[], bool] = lambda: False) -> None:
    """Send about ``interactions`` exchanges (whole conversations, cut at the count) and monitor each.

    ``should_stop`` is asked before each turn (e.g. the reader of the output went away).
    """
    rng = random.Random(seed)
    budget = [interactions]
    lock = threading.Lock()
    plans = []
    planned = 0
    while planned < interactions:
        turns = rng.choice(CONVERSATIONS)
        plans.append((len(plans) + 1, turns, rng.choice(USER_IDS)))
        planned += len(turns)
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="llmops-simulate") as pool:
        futures = [pool.submit(_one_conversation, monitor, target, number, turns, user_id, budget, lock, should_stop)
                   for number, turns, user_id in plans]
        for future in futures:
            future.result()

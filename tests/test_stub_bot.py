"""The built-in stub: a deterministic support bot with context, and misbehaviour on request."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_llmops.cases import load_case_file
from pytest_llmops.errors import TargetError
from pytest_llmops.targets.stub import LEAKED_EMAIL, StubBehaviour, StubTarget, answer
from pytest_llmops.transcript import Conversation

ROOT = Path(__file__).resolve().parents[1]


def converse(*users: str, target: StubTarget | None = None) -> list[str]:
    target = target or StubTarget()
    messages, replies = [], []
    for user in users:
        messages.append({"role": "user", "content": user})
        reply = target.send(messages, Conversation()).text
        messages.append({"role": "assistant", "content": reply})
        replies.append(reply)
    return replies


def test_it_answers_from_its_rules_not_by_echoing():
    reply = answer([{"role": "user", "content": "How long do I have to return an item?"}])
    assert "30 days" in reply
    assert "How long do I have" not in reply


def test_it_keeps_context_across_turns():
    asked, status, arrival = converse("Where is my order?", "It's 48213", "When will it arrive?")
    assert "order number" in asked
    assert "48213" in status and "packed" in status
    assert "48213" in arrival
    hello, _, name = converse("Hi, my name is Priya", "Where is my order?", "What's my name?")
    assert "Priya" in hello and name == "You told me your name is Priya."


def test_it_is_deterministic():
    first = converse("I want to speak to a human", "How long will I have to wait?")
    assert first == converse("I want to speak to a human", "How long will I have to wait?")
    assert "T-" in first[0] and "under 5 minutes" in first[1]


def test_misbehaviour_switches():
    leaky = StubTarget(behaviour=StubBehaviour(leak="email", leak_on="return"))
    assert LEAKED_EMAIL in converse("How do returns work?", target=leaky)[0]
    assert LEAKED_EMAIL not in converse("Hello", target=leaky)[0]
    erring = StubTarget(behaviour=StubBehaviour(error_on="refund"))
    assert "an error occurred" in converse("refund please", target=erring)[0]
    raising = StubTarget(behaviour=StubBehaviour(error_on=".", error_mode="raise"))
    with pytest.raises(TargetError):
        converse("Hello", target=raising)


def test_the_shipped_suite_is_realistic_and_uses_every_check():
    files = sorted((ROOT / "eval_cases").rglob("*.yaml"))
    cases = [case for path in files for case in load_case_file(path)]
    assert len(files) >= 5 and len(cases) >= 12
    assert sum(len(case.case.turns) > 1 for case in cases) >= 4
    used = {key for case in cases for expect in case.turn_expects
            for key, value in expect.model_dump(exclude_none=True).items() if value is not None}
    assert {"contains", "not_contains", "matches", "not_matches", "equals", "max_latency_ms",
            "no_pii", "no_error"} <= used

"""The stub as a judge (keyword rubric grading, steerable) and as an embedder, in process."""

from __future__ import annotations

import pytest

from pytest_llmops.checks.judge import judge_messages, parse_verdict
from pytest_llmops.targets.stub import StubBehaviour, StubTarget
from pytest_llmops.targets.stub_judge import DIMENSIONS, embedding, keyword_verdict
from pytest_llmops.transcript import Conversation


@pytest.mark.parametrize("rubric, reply, passed, score", [
    ("Mentions refunds and business days.", "Refunds take 5 business days.", True, 1.0),
    ("Does not promise a delivery date.", "We promise delivery by that date.", False, 0.0),  # a negated clause
    ("Does not promise a delivery date.", "We will email you when it ships.", True, 1.0),
    ("Offers store credit, never cash.", "We offer store credit.", True, 1.0),  # "offer" stands for "offers"
    ("Offers store credit, never cash.", "You can have cash or store credit.", True, 0.5),
    ("Gives the tracking number.", "Hello there!", False, 0.0),
])
def test_the_keyword_judge(rubric, reply, passed, score):
    verdict = keyword_verdict(rubric, reply)
    assert (verdict["pass"], verdict["score"]) == (passed, score)


def test_a_rubric_with_no_words_to_look_for_never_passes():
    assert keyword_verdict("It is.", "anything") == {"pass": False, "score": 0.0,
                                                     "reason": "stub judge: the rubric has no words to look for"}


def test_the_stub_judges_only_judge_requests_and_ignores_the_bots_misbehaviour():
    target = StubTarget("s", StubBehaviour(leak="email", error_on=".", judge_verdict="pass", judge_score=0.75))
    answer = target.send(judge_messages("Answers.", [{"role": "user", "content": "hi"}], "Hello"), Conversation())
    verdict = parse_verdict(answer.text)
    assert verdict is not None and (verdict.passed, verdict.score) == (True, 0.75)
    assert answer.usage is not None and answer.usage.completion_tokens == len(answer.text.split())
    assert "error occurred" in target.send([{"role": "user", "content": "hi"}], Conversation()).text  # still a bot


def test_malformed_once_answers_properly_when_asked_again():
    target = StubTarget("s", StubBehaviour(judge_malformed="once"))
    question = judge_messages("Mentions refunds.", [{"role": "user", "content": "hi"}], "Refunds take days.")
    first = target.send(question, Conversation()).text
    assert parse_verdict(first) is None
    retry = [*question, {"role": "assistant", "content": first}, {"role": "user", "content": "again"}]
    assert parse_verdict(target.send(retry, Conversation()).text).passed


def test_the_stub_embedding_is_a_deterministic_unit_vector():
    vector = embedding("Refunds take five business days")
    assert len(vector) == DIMENSIONS and vector == embedding("refunds  TAKE five business days!")
    assert sum(x * x for x in vector) == pytest.approx(1.0, abs=1e-4)
    embedded = StubTarget().embed(["a b", "c"], Conversation())
    assert len(embedded.vectors) == 2 and embedded.usage.prompt_tokens == 3

"""Feedback records -> regression candidates: which feedback type implies which rule.

``pii_leak`` -> ``no_pii`` on the reported turn, ``slow`` -> ``max_latency_ms``, ``error``
-> ``no_error``, ``wrong_answer`` -> ``not_contains`` the wrong text (and ``contains`` the
right answer). Planning, deduplication and writing are :mod:`.core`'s.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Iterable

from .. import jsonl
from ..pii import PiiDetector
from ..text import excerpt
from .core import MASK_LABEL_RE, NOTE_CHARS, REVIEW_TAGS, Provenance, RegressionCandidate, Skipped, forbidden_fragment

#: feedback type -> the rule it implies (types not listed imply none)
FEEDBACK_RULES = {"pii_leak": "no_pii", "slow": "max_latency_ms", "error": "no_error",
                  "wrong_answer": "wrong_answer"}
FEEDBACK_TAGS = ("from-feedback", *REVIEW_TAGS)


def candidates_from_feedback(records: Iterable[Any], detector: PiiDetector, max_latency_ms: float
                             ) -> tuple[list[RegressionCandidate], list[Skipped]]:
    """Candidates from feedback records (:class:`pytest_llmops.feedback.FeedbackRecord`), and skips with reasons."""
    with jsonl.collector_paused():  # many small objects, no cycles
        return _candidates_from_feedback(records, detector, max_latency_ms)


def _candidates_from_feedback(records: Iterable[Any], detector: PiiDetector, max_latency_ms: float
                              ) -> tuple[list[RegressionCandidate], list[Skipped]]:
    candidates: list[RegressionCandidate] = []
    skipped: list[Skipped] = []
    mask = lru_cache(maxsize=65536)(detector.mask)  # the same turns come back in many reports
    for record in records:
        note = record.type + (f": {excerpt(record.message, NOTE_CHARS)}" if record.message else "")
        source = Provenance("feedback", record.id, record.timestamp, " ".join(note.split()))
        rule = FEEDBACK_RULES.get(record.type)
        if rule is None:
            skipped.append(Skipped(source, f"type {record.type!r} implies no rule"))
            continue
        if not record.conversation:
            skipped.append(Skipped(source, "no conversation attached"))
            continue
        turn = record.reported_turn()
        if rule == "no_pii" and record.turn is None:
            turn = _first_leaking_turn(record.conversation, mask) or turn
        reported = record.conversation[turn - 1]
        expect, problem = _feedback_expect(rule, record, reported.reply, max_latency_ms, mask)
        if problem:
            skipped.append(Skipped(source, problem))
            continue
        users = tuple(mask(t.user) for t in record.conversation[:turn])
        candidates.append(RegressionCandidate(users=users, rule=rule, expect=expect, source=source,
                                              tags=(*FEEDBACK_TAGS, record.type), id_prefix="fb"))
    return candidates, skipped


def _first_leaking_turn(conversation: list[Any], mask: Callable[[str], str]) -> int | None:
    """The first turn whose reply held personal data (masked on the way in, or found now), if any."""
    for number, turn in enumerate(conversation, start=1):
        if turn.reply and MASK_LABEL_RE.search(mask(turn.reply)):
            return number
    return None


def _feedback_expect(rule: str, record: Any, reply: str | None, max_latency_ms: float,
                     mask: Callable[[str], str]) -> tuple[dict[str, Any], str | None]:
    if rule == "no_pii":
        return {"no_pii": True}, None
    if rule == "no_error":
        return {"no_error": True}, None
    if rule == "max_latency_ms":
        return {"max_latency_ms": max_latency_ms}, None
    bad = record.bad_text or reply
    fragment = forbidden_fragment(mask(bad)) if bad else None  # masked first: kept PII never reaches a case
    expect: dict[str, Any] = {}
    if fragment:
        expect["not_contains"] = [fragment]
    if record.expected:
        expected = forbidden_fragment(mask(record.expected))  # same rule: a masked label can never match
        if expected:
            expect["contains"] = [expected]
    if not expect:
        return {}, "wrong_answer without a usable wrong text or right answer (give bad_text or expected)"
    return expect, None


__all__ = ["FEEDBACK_RULES", "FEEDBACK_TAGS", "candidates_from_feedback"]

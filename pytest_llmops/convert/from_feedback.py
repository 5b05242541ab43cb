"""Feedback records -> regression candidates: which feedback type implies which rule.

``pii_leak`` -> ``no_pii`` on the reported turn, ``slow`` -> ``max_latency_ms``, ``error``
-> ``no_error``, ``wrong_answer`` -> ``not_matches`` the wrong claims (:mod:`.claims`; or
``not_contains`` a short wrong phrase) and ``contains`` the right answer. Planning,
deduplication and writing are :mod:`.core`'s.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Iterable

from .. import jsonl
from ..pii import PiiDetector
from ..text import excerpt
from .claims import MAX_CLAIMS, MAX_PHRASE_CHARS, claims, wrong_claims
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
    #: what a report asks for, worked out once: many users report the same conversation the same way
    worked_out: dict[tuple[Any, ...], RegressionCandidate | str] = {}
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
        asks = _what_it_asks(record)
        found = worked_out.get(asks)
        if found is None:
            found = worked_out[asks] = _candidate(record, rule, source, mask, max_latency_ms)
        if isinstance(found, str):
            skipped.append(Skipped(source, found))
        else:
            candidates.append(found.with_source(source))
    return candidates, skipped


def _what_it_asks(record: Any) -> tuple[Any, ...]:
    """Every field of a record that :func:`_candidate` reads, save its source: equal tuples, equal candidates."""
    return (record.type, record.turn, record.bad_text, record.expected, record.system, record.target,
            tuple((turn.user, turn.reply) for turn in record.conversation))


def _candidate(record: Any, rule: str, source: Provenance, mask: Callable[[str], str],
               max_latency_ms: float) -> RegressionCandidate | str:
    """The candidate a report with a conversation asks for, or why it gives none."""
    turn = record.reported_turn()
    if rule == "no_pii" and record.turn is None:
        turn = _first_leaking_turn(record.conversation, mask) or turn
    reported = record.conversation[turn - 1]
    users = tuple(mask(t.user) for t in record.conversation[:turn])
    expect, problem = _feedback_expect(rule, record, reported.reply, max_latency_ms, mask, users)
    if problem:
        return problem
    return RegressionCandidate(users=users, rule=rule, expect=expect, source=source,
                               tags=(*FEEDBACK_TAGS, record.type), id_prefix="fb",
                               system=mask(record.system) if record.system else None, target=record.target)


def _first_leaking_turn(conversation: list[Any], mask: Callable[[str], str]) -> int | None:
    """The first turn whose reply held personal data (masked on the way in, or found now), if any."""
    for number, turn in enumerate(conversation, start=1):
        if turn.reply and MASK_LABEL_RE.search(mask(turn.reply)):
            return number
    return None


def _feedback_expect(rule: str, record: Any, reply: str | None, max_latency_ms: float,
                     mask: Callable[[str], str], users: tuple[str, ...] = ()) -> tuple[dict[str, Any], str | None]:
    if rule == "no_pii":
        return {"no_pii": True}, None
    if rule == "no_error":
        return {"no_error": True}, None
    if rule == "max_latency_ms":
        return {"max_latency_ms": max_latency_ms}, None
    return _wrong_answer_expect(record.bad_text or reply, record.expected, mask, users)


def _wrong_answer_expect(wrong: str | None, right: str | None, mask: Callable[[str], str],
                         users: tuple[str, ...]) -> tuple[dict[str, Any], str | None]:
    """Checks that catch the same wrong answer reworded: ``not_matches`` its wrong claims (the numbers that
    differ from the right answer), else ``not_contains`` a short wrong phrase; ``contains`` the right answer
    when it is short, else ``matches`` its claims. Everything masked first: kept PII never reaches a case."""
    wrong = mask(wrong) if wrong else ""
    right = mask(right) if right else None
    expect: dict[str, Any] = {}
    found = wrong_claims(wrong, right, users)
    if found:
        expect["not_matches"] = [claim.pattern for claim in found]
    elif len(wrong.strip()) <= MAX_PHRASE_CHARS and (phrase := forbidden_fragment(wrong)):
        expect["not_contains"] = [phrase]  # a masked label can never match: the text between labels
    if right:
        stated = claims(right) if len(right.strip()) > MAX_PHRASE_CHARS else []
        if stated:
            expect["matches"] = [claim.pattern for claim in stated[:MAX_CLAIMS]]
        elif expected := forbidden_fragment(right):
            expect["contains"] = [expected]
    if not expect and len(wrong.strip()) > MAX_PHRASE_CHARS:
        return {}, ("wrong_answer whose wrong text states no claim (a number) and is too long to be said again "
                    f"word for word (over {MAX_PHRASE_CHARS} characters): give bad_text (--bad-text) with the "
                    "wrong phrase, or expected (--expected) with the right answer")
    if not expect:
        return {}, "wrong_answer without a usable wrong text or right answer (give bad_text or expected)"
    return expect, None


__all__ = ["FEEDBACK_RULES", "FEEDBACK_TAGS", "candidates_from_feedback"]

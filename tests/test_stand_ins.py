"""Stand-ins for masked personal data: realistic, of the right kind where they stand, deterministic."""

from __future__ import annotations

import pytest

from pytest_llmops.pii import BUILTIN_KINDS, PiiDetector
from pytest_llmops.pii.stand_ins import with_stand_ins

SENTENCES = {
    "email": "Please write to [EMAIL] about it.",
    "phone": "Call me back at [PHONE] about my refund.",
    "card": "My card is [CARD], is it charged twice?",
    "ssn": "My SSN is [SSN].",
    "iban": "Refund to [IBAN] please.",
    "ipv4": "I log in from [IPV4] and it fails.",
    "ipv6": "My address is [IPV6] today.",
}


@pytest.mark.parametrize("kind", BUILTIN_KINDS)
def test_every_built_in_kind_gets_a_value_the_detector_finds_as_that_kind(kind: str) -> None:
    detector = PiiDetector()
    seen = set()
    for seed in ("case-a", "case-b", "case-c", "case-d"):
        text = with_stand_ins(SENTENCES[kind], seed, detector)
        assert "[" not in text, text
        [finding] = detector.find(text)
        assert finding.kind == kind and detector.mask(text) == SENTENCES[kind]
        assert with_stand_ins(SENTENCES[kind], seed, detector) == text  # a rerun writes the same value
        seen.add(finding.value)
    assert len(seen) > 1  # not one fixed value for every case


def test_each_label_gets_its_own_value_and_unknown_labels_stay() -> None:
    detector = PiiDetector()
    text = with_stand_ins("Call [PHONE] or [PHONE]; my [ORDER] and [MEMBER_ID]", "seed", detector)
    first, second = (finding.value for finding in detector.find(text))
    assert first != second and text.endswith("my [ORDER] and [MEMBER_ID]")


def test_a_stand_in_is_never_a_value_the_project_allows() -> None:
    allowing = PiiDetector(allowlist=[{"pattern": r".*@example\.(com|net)"}])
    text = with_stand_ins(SENTENCES["email"], "seed", allowing)
    assert text.endswith("@example.org about it.") and [f.kind for f in allowing.find(text)] == ["email"]
    everything = PiiDetector(allowlist=[{"pattern": r".*@example\.(com|net|org)"}])
    assert with_stand_ins(SENTENCES["email"], "seed", everything) == SENTENCES["email"]  # no silent pass


def test_a_value_that_would_read_as_something_else_where_it_stands_is_not_used() -> None:
    detector = PiiDetector()
    text = with_stand_ins("Your order number: [PHONE]", "seed", detector)  # a label veto: no phone fits here
    assert text == "Your order number: [PHONE]"

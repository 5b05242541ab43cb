"""The pre-filters (a detector's gate, a secret rule's hints) skip only texts the full matchers find nothing in.

Every reply is searched for personal data and secrets, and most hold neither: a cheap test
first (an ``@``, a run of eight digits, "key", "sk-"...) skips the costly patterns for
them. Here the same texts go to detectors with and without the pre-filters, and both must
find the same, for generated texts that hold every kind, near-misses and the letters that
case-insensitive matching folds alike (dotless i, long s, Kelvin sign).
"""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pytest_llmops.pii import PiiDetector
from pytest_llmops.pii.screen import SEPARATOR
from pytest_llmops.pii.secrets import BUILTIN_RULES, SecretDetector, hint_text

from test_pii_property import LOOK_ALIKES, PII, SEPARATORS
from test_secrets import FORMATS

REGIONS = ("US", "GB", "DE", "FR", "PL")
SECRETS = [value for _, _, value in FORMATS]
KEYWORDS = ["api key", "API_KEY", "secret", "ſecret", "Password", "PAſſWORD", "passwd", "passphrase", "credentials",
            "CREDENTıALS", "credentİal", "token", "TOKEN", "bearer", "auth", "Authorization", "private key", "\u212aey"]
TRICKY = ["ı", "İ", "ſ", "\u212a", "é", "\u0663", "\x00", "_", "-", "=", ":", "/", "@", "+", "00"]

fragments = st.one_of(st.sampled_from(PII), st.sampled_from(SECRETS), st.sampled_from(KEYWORDS),
                      st.sampled_from(LOOK_ALIKES), st.sampled_from(SEPARATORS), st.sampled_from(TRICKY),
                      st.text(max_size=8), st.from_regex(r"[0-9 .()+:/-]{1,20}", fullmatch=True),
                      st.from_regex(r"[A-Za-z0-9_+/=-]{15,40}", fullmatch=True))
texts = st.one_of(st.text(max_size=200), st.lists(fragments, max_size=20).map("".join))


def unfiltered_pii(detector: PiiDetector) -> PiiDetector:
    """The same detector without any pre-filter: every recognizer's pattern runs on every text."""
    clone = object.__new__(PiiDetector)
    clone.__dict__.update(detector.__dict__)
    clone._recognizers = tuple(dataclasses.replace(r, precheck=None, min_run=0, gate="") for r in detector._recognizers)
    clone._could_hold = None
    return clone


PII_DETECTOR = PiiDetector(regions=REGIONS)
PII_UNFILTERED = unfiltered_pii(PII_DETECTOR)
SECRET_DETECTOR = SecretDetector()
SECRET_UNFILTERED = SecretDetector(rules=tuple(dataclasses.replace(rule, hints=()) for rule in BUILTIN_RULES))


def test_the_pre_filters_are_on() -> None:
    # what the property below compares: the filtered detectors do skip texts, the unfiltered ones never do
    assert PII_DETECTOR._could_hold is not None and not PII_DETECTOR._could_hold("Your order ships on Monday.")
    assert PII_UNFILTERED._could_hold is None
    assert SECRET_DETECTOR._could_hold is not None and SECRET_DETECTOR._could_hold("your order ships") is None
    assert SECRET_UNFILTERED._could_hold is None


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
@example("the api ſecret is 8f3a9c2e7b1d4f6a0c5e9b2d7f1a3c8e")
@example("CREDENTıALS: wJalrXUtnFEMI/Q7MDENG/bPxRfiCYEXAMPLEQQ")
@example("GB82WEST12345698765432 and 203.0.113.7 and 2001:db8::1 and fe80::1%eth0")
@example("call 030 12345678 or +44 20 7946 0958, mail X@Y.IO")
def test_pre_filters_never_skip_what_the_full_matchers_find(text: str) -> None:
    assert PII_DETECTOR.find(text) == PII_UNFILTERED.find(text)
    assert SECRET_DETECTOR.find(text) == SECRET_UNFILTERED.find(text)


@given(st.sampled_from(PII + SECRETS), st.text(max_size=30), st.text(max_size=30))
@settings(max_examples=400, deadline=None)
def test_every_kind_passes_its_pre_filter(value: str, before: str, after: str) -> None:
    text = f"{before} {value} {after}"
    assert PII_DETECTOR.find(text) == PII_UNFILTERED.find(text)
    assert SECRET_DETECTOR.find(text) == SECRET_UNFILTERED.find(text)


# -- screening a batch at once (the monitor) -------------------------------------------------------

batches = st.lists(st.one_of(texts, st.just(SEPARATOR), texts.map(lambda text: text + SEPARATOR + "4155550142")),
                   max_size=25)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches)
@example(["jane@example.com", "", "no", "x" + SEPARATOR + "y", "GB82WEST12345698765432", "ſecret 8f3a9c2e7b1d4f6a0c5e9b"])
@example(["4155550", "142 call", "1.2.3", ".4", "api", " key 8f3a9c2e7b1d4f6a0c5e9b2d7f1a3c8e"])  # no match across texts
def test_screening_a_batch_at_once_decides_as_each_text_alone(batch: list[str]) -> None:
    detector = PiiDetector(regions=REGIONS)
    detector.screen(batch)
    for text in batch:
        assert detector._screened[text] is bool(detector._could_hold(text))
        assert detector.secrets._screened[text] is (detector.secrets._could_hold(hint_text(text)) is not None)
        assert detector.find(text) == PII_UNFILTERED.find(text)
        assert detector.secrets.find(text) == SECRET_UNFILTERED.find(text)

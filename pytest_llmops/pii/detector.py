"""The detector every front uses: find personal data, and mask it (and any secret) with its kind.

Checks, failure text, reports, logs and generated cases all mask through
:meth:`PiiDetector.mask`, so a value found in one place is hidden in all of them.

Secrets (API keys, tokens, private keys: :mod:`.secrets`) are a kind of sensitive data
beside personal data. The detector holds a :class:`~.secrets.SecretDetector` and its
``mask`` hides what both find, so every output that masks personal data hides secrets
too; ``find`` stays personal data only, so the ``no_pii`` check, its kinds setting and
its allowlist mean what they meant. Secrets are always masked: no ``kinds`` setting or
PII allowlist turns that off.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Protocol, Sequence

from .allowlist import Allowlist
from .findings import PiiFinding, kept_spans
from .phones import DEFAULT_REGIONS, check_regions, national_recognizers, reads_north_american
from .recognizers import (BUILTIN_KINDS, BUILTIN_RECOGNIZERS, PHONE_NORTH_AMERICA, Recognizer, could_hold,
                          custom_recognizer, gates_of, longest_digit_run)
from .screen import could_hold_each
from .secrets import SecretDetector, SecretFinding

_HAS_DIGIT = re.compile(r"[0-9]").search
#: what :meth:`PiiDetector.mask` writes in place of a value: its kind as a label, e.g. ``[EMAIL]``
LABEL_RE = re.compile(r"\[([A-Z][A-Z0-9_]*)\]")


class Backend(Protocol):
    """An extra source of findings (Presidio): (kind, start, end) for each, its own kinds listed."""

    kinds: tuple[str, ...]

    def spans(self, text: str, kinds: frozenset[str]) -> list[tuple[str, int, int]]: ...


class PiiDetector:
    """Looks for the configured kinds of personal data, letting allowlisted values through.

    ``kinds`` defaults to every built-in kind plus the backend's; custom patterns
    (``[tool.llmops.pii.custom]``) are always on. ``regions`` (ISO codes, default
    :data:`DEFAULT_REGIONS`) say whose national-format phone numbers to read: "030 12345678"
    is a phone number only when Germany is among them. ``secrets`` finds the secrets
    :meth:`mask` hides as well (the built-in rules unless given).
    """

    def __init__(self, kinds: Iterable[str] | None = None, allowlist: Iterable[Any] | Allowlist = (),
                 custom: Iterable[Any] = (), backend: Backend | None = None, secrets: SecretDetector | None = None,
                 *, regions: Iterable[str] = DEFAULT_REGIONS):
        self.regions = check_regions(regions)
        self.secrets = secrets if secrets is not None else SecretDetector()
        self.custom = tuple(c if isinstance(c, Recognizer) else custom_recognizer(c) for c in custom)
        self.backend = backend
        known = {*BUILTIN_KINDS, *(backend.kinds if backend else ()), *(c.kind for c in self.custom)}
        chosen = tuple(kinds) if kinds is not None else (*BUILTIN_KINDS, *(backend.kinds if backend else ()))
        unknown = [kind for kind in chosen if kind not in known]
        if unknown:
            raise ValueError(f"unknown PII kind(s) {unknown}; known: {sorted(known)}")
        self.kinds = tuple(dict.fromkeys((*chosen, *(c.kind for c in self.custom))))
        self.allowlist = allowlist if isinstance(allowlist, Allowlist) else Allowlist.from_entries(allowlist)
        enabled = frozenset(self.kinds)
        self._recognizers = tuple(r for r in (*_builtin_recognizers(self.regions), *self.custom) if r.kind in enabled)
        self._backend_kinds = enabled & frozenset(backend.kinds) if backend else frozenset()
        self._could_hold = could_hold(self._recognizers) if not self._backend_kinds else None
        self._gates = gates_of(self._recognizers) if self._could_hold is not None else None
        self._screened: dict[str, bool] = {}  # text -> whether it passed the gates (see screen)

    @classmethod
    def from_settings(cls, pii: Any, secrets: SecretDetector | None = None) -> "PiiDetector":
        """The detector ``[tool.llmops.pii]`` describes (a ``config.PiiSettings``), backend included.

        ``secrets``: the secret detector ``[tool.llmops.secrets]`` describes (built-in rules when None).
        """
        backend = None
        if pii.backend == "presidio":
            from .presidio_backend import PresidioBackend

            backend = PresidioBackend.load(pii.presidio_model, pii.presidio_min_score)
        return cls(pii.kinds, pii.allowlist, pii.custom, backend, secrets, regions=pii.regions)

    def with_allowlist(self, extra: Iterable[Any]) -> "PiiDetector":
        """A detector that also allows ``extra`` (a file's, case's or turn's own entries)."""
        if not extra:  # most turns add nothing: no Allowlist built
            return self
        extra = Allowlist.from_entries(extra)
        if not extra:
            return self
        clone = object.__new__(PiiDetector)
        clone.__dict__.update(self.__dict__)
        clone.allowlist = self.allowlist | extra
        return clone

    def conversation(self) -> "ConversationMasker":
        """A masker for one conversation: it remembers what it finds, and finds fragments of it later."""
        return ConversationMasker(self)

    def screen(self, texts: Sequence[str], like: "PiiDetector | None" = None) -> None:
        """Run the pre-filter over ``texts`` at once (one search per gate over them all, see :mod:`.screen`), for
        the next calls about them: what the monitor does for each batch of records. Secrets are screened too.
        The answers replace those of the batch before; any other text is searched when it is asked about.

        ``like``: a detector that screened the same texts just now; its answers are taken where the gates agree.
        """
        if like is not None and like._gates == self._gates:
            self._screened = like._screened
        elif self._gates is not None:
            self._screened = dict(zip(texts, could_hold_each(texts, *self._gates)))
        self.secrets.screen(texts, like.secrets if like is not None else None)

    def _spans(self, text: str) -> list[tuple[int, int, int, str]]:
        gated = self._screened.get(text)
        if gated is None and self._could_hold is not None:
            gated = self._could_hold(text)
        if gated is False:
            return []  # no @, no long run of digits...: none of the recognizers can match (most replies)
        has_digit = _HAS_DIGIT(text) is not None
        longest_run = -1  # measured once, when a recognizer first asks
        spans = []
        for recognizer in self._recognizers:
            if recognizer.numeric and not has_digit:
                continue
            if recognizer.min_run:
                if longest_run < 0:
                    longest_run = longest_digit_run(text)
                if longest_run < recognizer.min_run:
                    continue
            for start, end in recognizer.spans(text):
                spans.append((start, -(end - start), -recognizer.priority, recognizer.kind))
        if self._backend_kinds:
            for kind, start, end in self.backend.spans(text, self._backend_kinds):
                spans.append((start, -(end - start), 1, kind))
        spans.sort()
        return spans

    def find(self, text: str) -> list[PiiFinding]:
        """Every finding in ``text``, in order, without overlaps (the longest, then strongest, wins)."""
        spans = self._spans(text)
        if not spans:
            return []
        ordered = ((start, start - negative_length, kind) for start, negative_length, _, kind in spans)
        return [PiiFinding(kind, start, end, text[start:end])
                for start, end, kind in kept_spans(text, ordered, self.allowlist)]

    def find_secrets(self, text: str) -> list[SecretFinding]:
        """Every secret in ``text`` (what the ``no_secrets`` check reports)."""
        return self.secrets.find(text)

    def find_all(self, text: str) -> list[PiiFinding]:
        """Personal data and secrets: everything :meth:`mask` hides."""
        return [*self.find(text), *self.secrets.find(text)]

    def mask(self, text: str, findings: list[PiiFinding] | None = None) -> str:
        """``text`` with each finding replaced by its kind, e.g. ``[EMAIL]``, and each secret by ``[SECRET]``.

        The one masking function. Every other copy of a found value goes too, even where
        its context alone would not have made it a finding ("order 4155550142 ... call
        4155550142"). Where findings overlap, the text of both is hidden.
        """
        findings = self.find_all(text) if findings is None else [*findings, *self.secrets.find(text)]
        return mask_findings(text, findings)


def mask_findings(text: str, findings: list[PiiFinding]) -> str:
    """``text`` with every finding (and every other copy of its value) replaced by its label."""
    if not findings:
        return text
    parts, last = [], 0
    for finding in sorted(_with_copies(text, findings), key=lambda f: (f.start, -f.end)):
        if finding.start < last:
            if finding.end > last:  # overlaps the previous finding: hide its tail too
                last = finding.end
            continue
        parts.append(text[last:finding.start])
        parts.append(finding.label)
        last = finding.end
    parts.append(text[last:])
    return "".join(parts)


def _builtin_recognizers(regions: tuple[str, ...]) -> tuple[Recognizer, ...]:
    """The built-in recognizers for ``regions``: North American format only for +1 regions, national formats added."""
    builtin = BUILTIN_RECOGNIZERS
    if not reads_north_american(regions):
        builtin = tuple(r for r in builtin if r is not PHONE_NORTH_AMERICA)
    return (*builtin, *national_recognizers(regions))


def _with_copies(text: str, findings: list[PiiFinding]) -> list[PiiFinding]:
    """``findings`` plus every other place their values occur in ``text``."""
    if not findings:
        return findings
    taken = {(f.start, f.end) for f in findings}
    extra: list[PiiFinding] = []
    for value, finding in {f.value: f for f in findings if f.value}.items():
        start = text.find(value)
        while start != -1:
            if (start, start + len(value)) not in taken:
                extra.append(PiiFinding(finding.kind, start, start + len(value), value))
            start = text.find(value, start + len(value))
    return [*findings, *extra]


from .conversation import ConversationMasker  # noqa: E402  (it builds on PiiFinding above)

"""The detector every front uses: find personal data, and mask it with its kind.

Checks, failure text, reports, logs and generated cases all mask through
:meth:`PiiDetector.mask`, so a value found in one place is hidden in all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Protocol

from .allowlist import Allowlist
from .recognizers import BUILTIN_KINDS, BUILTIN_RECOGNIZERS, Recognizer, custom_recognizer

_HAS_DIGIT = re.compile(r"[0-9]").search
#: what :meth:`PiiDetector.mask` writes in place of a value: its kind as a label, e.g. ``[EMAIL]``
LABEL_RE = re.compile(r"\[([A-Z][A-Z0-9_]*)\]")


@dataclass(frozen=True)
class PiiFinding:
    """One piece of personal data: its kind and where it stands. ``value`` is never printed."""

    kind: str
    start: int
    end: int
    value: str

    @property
    def label(self) -> str:
        return f"[{self.kind.upper()}]"

    def __repr__(self) -> str:  # keep the value out of tracebacks and logs
        return f"PiiFinding(kind={self.kind!r}, start={self.start}, end={self.end})"


class Backend(Protocol):
    """An extra source of findings (Presidio): (kind, start, end) for each, its own kinds listed."""

    kinds: tuple[str, ...]

    def spans(self, text: str, kinds: frozenset[str]) -> list[tuple[str, int, int]]: ...


class PiiDetector:
    """Looks for the configured kinds of personal data, letting allowlisted values through.

    ``kinds`` defaults to every built-in kind plus the backend's; custom patterns
    (``[tool.llmops.pii.custom]``) are always on.
    """

    def __init__(self, kinds: Iterable[str] | None = None, allowlist: Iterable[Any] | Allowlist = (),
                 custom: Iterable[Any] = (), backend: Backend | None = None):
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
        self._recognizers = tuple(r for r in (*BUILTIN_RECOGNIZERS, *self.custom) if r.kind in enabled)
        self._backend_kinds = enabled & frozenset(backend.kinds) if backend else frozenset()

    @classmethod
    def from_settings(cls, pii: Any) -> "PiiDetector":
        """The detector ``[tool.llmops.pii]`` describes (a ``config.PiiSettings``), backend included."""
        backend = None
        if pii.backend == "presidio":
            from .presidio_backend import PresidioBackend

            backend = PresidioBackend.load(pii.presidio_model, pii.presidio_min_score)
        return cls(pii.kinds, pii.allowlist, pii.custom, backend)

    def with_allowlist(self, extra: Iterable[Any]) -> "PiiDetector":
        """A detector that also allows ``extra`` (a file's, case's or turn's own entries)."""
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

    def _spans(self, text: str) -> list[tuple[int, int, int, str]]:
        has_digit = _HAS_DIGIT(text) is not None
        spans = []
        for recognizer in self._recognizers:
            if recognizer.numeric and not has_digit:
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
        kept: list[PiiFinding] = []
        covered = 0  # end of the last span taken, kept or allowed: what overlaps it is part of it
        for start, negative_length, _, kind in self._spans(text):
            end = start - negative_length
            if start < covered:
                continue
            covered = end
            value = text[start:end]
            if self.allowlist and self.allowlist.allows(value):
                continue
            kept.append(PiiFinding(kind, start, end, value))
        return kept

    def mask(self, text: str, findings: list[PiiFinding] | None = None) -> str:
        """``text`` with each finding replaced by its kind, e.g. ``[EMAIL]``: the one masking function.

        Every other copy of a found value goes too, even where its context alone would
        not have made it a finding ("order 4155550142 ... call 4155550142").
        """
        findings = self.find(text) if findings is None else findings
        parts, last = [], 0
        for finding in sorted(_with_copies(text, findings), key=lambda f: (f.start, -f.end)):
            if finding.start < last:
                continue
            parts.append(text[last:finding.start])
            parts.append(finding.label)
            last = finding.end
        parts.append(text[last:])
        return "".join(parts)


def _with_copies(text: str, findings: list[PiiFinding]) -> list[PiiFinding]:
    """``findings`` plus every other place their values occur in ``text``."""
    if not findings:
        return findings
    taken = {(f.start, f.end) for f in findings}
    extra = []
    for value, kind in {f.value: f.kind for f in findings if f.value}.items():
        start = text.find(value)
        while start != -1:
            if (start, start + len(value)) not in taken:
                extra.append(PiiFinding(kind, start, start + len(value), value))
            start = text.find(value, start + len(value))
    return [*findings, *extra]


from .conversation import ConversationMasker  # noqa: E402  (it builds on PiiFinding above)

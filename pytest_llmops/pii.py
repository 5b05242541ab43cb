"""Finding and masking personal data in chatbot text.

One detector serves every front: checks, failure text, reports, logs and generated
cases all mask through :func:`mask_pii` / :meth:`PiiDetector.mask`, so a value found
in one place is hidden in all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

EMAIL_RE = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
PHONE_RE = re.compile(
    r"(?<![\w+])(?:"
    r"(?:\+?1[\s.-]?)?(?:\(\d{3}\)|\d{3})[\s.-]?\d{3}[\s.-]?\d{4}"  # North American
    r"|\+\d{1,3}(?:[\s.-]?\(?\d{1,4}\)?){2,5}"  # international, E.164 with separators
    r")(?!\w)"
)

PATTERNS: dict[str, re.Pattern[str]] = {"email": EMAIL_RE, "phone": PHONE_RE}


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


def _normalise(value: str) -> str:
    return re.sub(r"[^0-9a-z@.]", "", value.lower())


class PiiDetector:
    """Looks for the configured kinds of personal data, ignoring allowlisted values."""

    def __init__(self, kinds: Iterable[str] = ("email", "phone"), allowlist: Iterable[str] = ()):
        unknown = [kind for kind in kinds if kind not in PATTERNS]
        if unknown:
            raise ValueError(f"unknown PII kind(s) {unknown}; known: {sorted(PATTERNS)}")
        self.kinds = tuple(kinds)
        self.allowlist = frozenset(_normalise(item) for item in allowlist)

    def with_allowlist(self, extra: Iterable[str]) -> "PiiDetector":
        """A detector that also allows ``extra`` (a file's, case's or turn's own allowlist)."""
        extra = list(extra)
        if not extra:
            return self
        clone = PiiDetector(self.kinds)
        clone.allowlist = self.allowlist | {_normalise(item) for item in extra}
        return clone

    def find(self, text: str) -> list[PiiFinding]:
        """Every finding in ``text``, in order, without overlaps."""
        found: list[PiiFinding] = []
        for kind in self.kinds:
            for match in PATTERNS[kind].finditer(text):
                if _normalise(match.group()) in self.allowlist:
                    continue
                found.append(PiiFinding(kind, match.start(), match.end(), match.group()))
        found.sort(key=lambda f: (f.start, -(f.end - f.start)))
        kept: list[PiiFinding] = []
        for finding in found:
            if kept and finding.start < kept[-1].end:
                continue
            kept.append(finding)
        return kept

    def mask(self, text: str, findings: list[PiiFinding] | None = None) -> str:
        """``text`` with each finding replaced by its kind, e.g. ``[EMAIL]``."""
        findings = self.find(text) if findings is None else findings
        parts, last = [], 0
        for finding in sorted(findings, key=lambda f: f.start):
            parts.append(text[last:finding.start])
            parts.append(finding.label)
            last = finding.end
        parts.append(text[last:])
        return "".join(parts)


DEFAULT_DETECTOR = PiiDetector()


def find_pii(text: str, detector: PiiDetector | None = None) -> list[PiiFinding]:
    """Personal data in ``text`` (emails and phone numbers by default)."""
    return (detector or DEFAULT_DETECTOR).find(text)


def mask_pii(text: str, detector: PiiDetector | None = None) -> str:
    """``text`` with personal data replaced by its kind: the one masking function."""
    return (detector or DEFAULT_DETECTOR).mask(text)

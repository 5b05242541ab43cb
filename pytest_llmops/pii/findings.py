"""A finding: one piece of sensitive data in some text, its kind and where it stands."""

from __future__ import annotations

from dataclasses import dataclass


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

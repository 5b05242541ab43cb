"""A finding: one piece of sensitive data in some text, its kind and where it stands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Protocol


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


class _Allows(Protocol):
    def __bool__(self) -> bool: ...

    def allows(self, value: str) -> bool: ...


def kept_spans(text: str, ordered: Iterable[tuple[int, int, str]],
               allowlist: _Allows) -> Iterator[tuple[int, int, str]]:
    """The spans of ``ordered`` (best first at each start) that lie outside every earlier one, allowlisted values out.

    A span inside one already taken (kept or allowed) is part of it, so an allowed value
    never leaves a shorter finding from its middle behind.
    """
    covered = 0
    for start, end, name in ordered:
        if start < covered:
            continue
        covered = end
        if allowlist and allowlist.allows(text[start:end]):
            continue
        yield start, end, name

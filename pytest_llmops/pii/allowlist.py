"""What the bot may say on purpose: exact values and patterns, from the project down to one turn.

An entry is a string (an exact value, compared after normalising: case, spaces and
punctuation do not matter, and a North American number matches with or without its
leading 1) or a mapping ``{pattern: REGEX}`` (the whole finding must match, ignoring
case). Levels add up: project, file, case and turn entries all apply to a turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

_KEEP = re.compile(r"[^0-9a-z@]")


def normalise(value: str) -> str:
    """The form allowlist entries and findings are compared in."""
    text = _KEEP.sub("", value.lower())
    if len(text) == 11 and text.isdigit() and text.startswith("1"):
        text = text[1:]
    return text


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """An allowlist pattern, or ValueError naming it when it does not compile."""
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"invalid allowlist pattern {pattern!r}: {exc}") from None


@dataclass(frozen=True)
class Allowlist:
    """Exact values and patterns a finding may match to be let through."""

    values: frozenset[str] = frozenset()
    patterns: tuple[re.Pattern[str], ...] = field(default=())

    @classmethod
    def from_entries(cls, entries: Iterable[Any]) -> "Allowlist":
        """Entries as config and case files write them: strings, ``{"pattern": ...}`` mappings or models with ``.pattern``."""
        values, patterns = set(), []
        for entry in entries or ():
            if isinstance(entry, str):
                values.add(normalise(entry))
                continue
            pattern = entry.get("pattern") if isinstance(entry, Mapping) else getattr(entry, "pattern", None)
            if not isinstance(pattern, str):
                raise ValueError(f"allowlist entry {entry!r} is neither a string nor {{pattern: REGEX}}")
            patterns.append(compile_pattern(pattern))
        return cls(frozenset(values), tuple(patterns))

    def __bool__(self) -> bool:
        return bool(self.values or self.patterns)

    def __or__(self, other: "Allowlist") -> "Allowlist":
        return Allowlist(self.values | other.values, self.patterns + other.patterns)

    def allows(self, value: str) -> bool:
        if normalise(value) in self.values:
            return True
        return any(pattern.fullmatch(value) for pattern in self.patterns)


def check_allow_entries(entries: Any) -> Any:
    """Raise ValueError unless ``entries`` is a list of strings and ``{pattern: REGEX}`` mappings that compile."""
    if not isinstance(entries, list):
        return entries  # the field's own type check says what is wrong
    for index, entry in enumerate(entries):
        if isinstance(entry, str):
            continue
        if not (isinstance(entry, Mapping) and set(entry) == {"pattern"} and isinstance(entry["pattern"], str)):
            got = f"a mapping with keys {sorted(map(str, entry))}" if isinstance(entry, Mapping) else type(entry).__name__
            raise ValueError(f"entry {index} must be a string (an exact value) or {{pattern: REGEX}}; got {got}")
        compile_pattern(entry["pattern"])
    return entries

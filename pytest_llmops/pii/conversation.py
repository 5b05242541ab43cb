"""A detector bound to one conversation: what was said earlier makes its fragments personal data too.

A reply cut off by ``max_tokens`` may end in ``415-555-01``: no detector finds a phone
number there, yet it is eight digits of the number the customer gave two turns before.
A :class:`ConversationMasker` remembers every value it has found in the conversation so
far and also finds, in later text:

* fragments of remembered numbers: a run of digits (separators allowed) whose digits
  are a prefix or suffix of at least :data:`MIN_FRAGMENT_DIGITS` digits of one (the
  whole number written another way counts too);
* fragments of remembered email addresses: a prefix or suffix of at least
  :data:`MIN_FRAGMENT_CHARS` characters of the local part (``jane.d``, ``jane.doe@exa``)
  that cannot be an ordinary word: it holds a digit or one of ``. _ % + -``, is followed
  by ``@``, or is where the text breaks off (so ``support`` from ``support@...`` stays a
  word in "our support team");
* regex-escaped copies (``jane\\.doe@example\\.com``), as a saved value filled into a
  ``matches`` pattern prints.

Masking stays as cheap as the detector's while nothing has been remembered; after that,
one extra scan per text for digit runs (only if it has digits) and one for local parts
(only if an email was remembered).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

from .detector import PiiFinding

if TYPE_CHECKING:
    from .detector import PiiDetector

MIN_FRAGMENT_DIGITS = 6
MIN_FRAGMENT_CHARS = 6
#: digits with the separators numbers are written with: "(415) 555-01", "4111 1111 11"
_DIGIT_RUN = re.compile(r"(?<![\w(+])[(+]?[0-9](?:(?:[ .\-/]|\) ?| ?\()?[0-9])*(?![\w])", re.ASCII)
#: an email local part, possibly with the start of its domain: "jane.doe", "jane.doe@exa"
_LOCAL_PART = re.compile(rf"(?<![\w.+%-])([A-Za-z0-9._%+-]{{{MIN_FRAGMENT_CHARS},}})(@[A-Za-z0-9.-]*)?", re.ASCII)
_NON_DIGIT = re.compile(r"[^0-9]", re.ASCII)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_HAS_DIGIT = re.compile(r"[0-9]", re.ASCII).search
MAX_GROUPS = 8  # digit groups of one run searched for a fragment inside it
_EMPTY: dict[str, str] = {}  # shared, never written: the pieces of a masker that found nothing yet
_WORD_LIKE = re.compile(r"[A-Za-z]+", re.ASCII)
_LOCAL_MARK = re.compile(r"[0-9._%+@-]", re.ASCII).search
_LAST_WORD = re.compile(rf"(?<![\w.+%-])([A-Za-z]{{{MIN_FRAGMENT_CHARS},}})()(?=[\s.,;:!?)\]\"'…-]*$)", re.ASCII)
_TEXT_END = re.compile(r"[\s.,;:!?)\]\"'…-]*", re.ASCII)


class Recollection(NamedTuple):
    """What a :class:`ConversationMasker` remembers: the values and the pieces worked out from them."""

    values: dict[str, str]
    digit_pieces: dict[str, str]
    local_pieces: dict[str, str]
    escaped: dict[str, str]


class ConversationMasker:
    """Finds and masks personal data in one conversation's texts, in the order they were said.

    Every text it looks at (user messages, replies, faults, check texts) adds what it
    found to the memory; later texts are searched for fragments of it as well.
    """

    __slots__ = ("detector", "_values", "_digit_pieces", "_local_pieces", "_escaped", "_seen")

    def __init__(self, detector: "PiiDetector"):
        self.detector = detector
        self._values: dict[str, str] = {}  # value -> kind, everything found so far
        self._seen: dict[str, list[PiiFinding]] = {}  # text -> the detector's findings in it
        # made at the first finding (most conversations have none): pieces of remembered values -> kind
        self._digit_pieces: dict[str, str] = _EMPTY  # prefixes/suffixes of a remembered number's digits
        self._local_pieces: dict[str, str] = _EMPTY  # prefixes/suffixes of a remembered local part, lowercase
        self._escaped: dict[str, str] = _EMPTY  # re.escape(value), where it differs from the value

    @property
    def remembers(self) -> bool:
        """Whether anything was found so far (before that, masking is the detector's alone)."""
        return bool(self._values)

    def find(self, text: str, detector: "PiiDetector | None" = None) -> list[PiiFinding]:
        """The findings in ``text`` (``detector`` may be a turn's, with its own allowlist), and fragments
        of what the conversation said before; what is found is remembered."""
        if detector is None or detector is self.detector:
            detector = self.detector
            found = self._seen.get(text)
            if found is None:  # the same text is often found, then masked: look once
                found = self._seen[text] = detector.find(text)
        else:
            found = detector.find(text)
        extra = self._fragments(text, found, detector) if self._values else []
        for finding in found:
            self._remember(finding)
        return found + extra if extra else found

    def mask(self, text: str) -> str:
        """``text`` masked by the detector, fragments of earlier personal data included."""
        return self.detector.mask(text, self.find(text))

    def has_seen(self, text: str) -> bool:
        """Whether ``text`` was looked at already (masking it again costs no detection)."""
        return text in self._seen

    def mask_fragments(self, text: str) -> str:
        """``text`` (already masked by the detector) with fragments of earlier personal data masked too."""
        if not self._values:
            return text
        found = self._fragments(text, [], self.detector)
        return self.detector.mask(text, found) if found else text

    # -- memory ------------------------------------------------------------------------------
    def remembered(self) -> dict[str, str]:
        """Every value found so far, with its kind (oldest first)."""
        return self._values

    def recall(self, values: dict[str, str]) -> None:
        """Remember ``values`` (value -> kind) that an earlier part of the same conversation held."""
        for value, kind in values.items():
            self._remember(PiiFinding(kind, 0, len(value), value))

    def recollection(self) -> Recollection:
        """A copy of what it remembers, pieces included, for a masker of the conversation's next part."""
        return Recollection(dict(self._values), dict(self._digit_pieces), dict(self._local_pieces),
                            dict(self._escaped))

    def restore(self, recollection: Recollection) -> None:
        """Remember what ``recollection`` holds: copied as it is when nothing was found yet (no pieces
        worked out again), else value by value."""
        if self._values:
            self.recall(recollection.values)
        elif recollection.values:
            self._values = dict(recollection.values)
            self._digit_pieces = dict(recollection.digit_pieces)
            self._local_pieces = dict(recollection.local_pieces)
            self._escaped = dict(recollection.escaped)

    def _remember(self, finding: PiiFinding) -> None:
        value, kind = finding.value, finding.kind
        if value in self._values:
            return
        if not self._values:
            self._digit_pieces, self._local_pieces, self._escaped = {}, {}, {}
        self._values[value] = kind
        escaped = re.escape(value)
        if escaped != value:
            self._escaped[escaped] = kind
        if "@" in value:
            local = value.rsplit("@", 1)[0].lower()
            self._add_pieces(self._local_pieces, local, MIN_FRAGMENT_CHARS, kind)
        digits = _NON_DIGIT.sub("", value)
        if len(digits) >= MIN_FRAGMENT_DIGITS:
            self._add_pieces(self._digit_pieces, digits, MIN_FRAGMENT_DIGITS, kind)
            if value.lstrip().startswith(("+", "00")):  # the number without its country code, as said at home
                start = 2 if value.lstrip().startswith("00") else 0
                for code in range(1, 4):
                    self._add_pieces(self._digit_pieces, digits[start + code:], MIN_FRAGMENT_DIGITS, kind)

    @staticmethod
    def _add_pieces(pieces: dict[str, str], whole: str, least: int, kind: str) -> None:
        for size in range(least, len(whole) + 1):
            pieces.setdefault(whole[:size], kind)
            pieces.setdefault(whole[-size:], kind)

    # -- search --------------------------------------------------------------------------------
    def _digit_piece(self, run: str) -> tuple[str, int, int] | None:
        """(kind, start, end in ``run``) of the longest stretch of whole digit groups that is a remembered
        piece: the run itself, or part of it ("order 12345 415555" holds "415555")."""
        kind = self._digit_pieces.get(_NON_DIGIT.sub("", run))
        if kind is not None:
            return kind, 0, len(run)
        groups = [m.span() for m in _DIGITS.finditer(run)][:MAX_GROUPS]
        stretches = sorted(((i, j) for i in range(len(groups)) for j in range(i, len(groups))),
                           key=lambda ij: groups[ij[0]][0] - groups[ij[1]][1])  # longest first
        for i, j in stretches:
            start, end = groups[i][0], groups[j][1]
            kind = self._digit_pieces.get(_NON_DIGIT.sub("", run[start:end]))
            if kind is not None:
                return kind, start, end
        return None

    def _fragments(self, text: str, found: list[PiiFinding], detector: "PiiDetector") -> list[PiiFinding]:
        taken = [(f.start, f.end) for f in found]
        extra: list[PiiFinding] = []

        def add(kind: str, start: int, end: int) -> None:
            value = text[start:end]
            if any(start < e and s < end for s, e in taken) or (detector.allowlist and detector.allowlist.allows(value)):
                return
            taken.append((start, end))
            extra.append(PiiFinding(kind, start, end, value))

        if self._digit_pieces and _HAS_DIGIT(text):
            for match in _DIGIT_RUN.finditer(text):
                piece = self._digit_piece(match.group())
                if piece is not None:
                    kind, start, end = piece
                    add(kind, match.start() + start, match.start() + end)
        if self._local_pieces:
            # a fragment that is all letters counts only where the text breaks off: elsewhere only tokens with
            # a digit or one of ._%+-@ can be one, so plain prose needs no scan but of its last word
            tail = _LAST_WORD.search(text)
            for match in _LOCAL_PART.finditer(text) if _LOCAL_MARK(text) else ([tail] if tail else []):
                local, domain = match.group(1), match.group(2)
                kind = self._local_pieces.get(local.lower())
                if kind is not None and (domain or not _WORD_LIKE.fullmatch(local)
                                         or _TEXT_END.fullmatch(text, match.end())):
                    add(kind, *match.span())
        if self._escaped and "\\" in text:
            for escaped, kind in self._escaped.items():
                start = text.find(escaped)
                while start != -1:
                    add(kind, start, start + len(escaped))
                    start = text.find(escaped, start + len(escaped))
        return extra


__all__ = ["ConversationMasker", "MIN_FRAGMENT_DIGITS", "MIN_FRAGMENT_CHARS"]

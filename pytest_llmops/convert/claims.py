"""What a wrong answer claimed, as a check that still catches it when the model words it differently.

A ``wrong_answer`` case that forbids the whole 190-character reply never fails again: a
sampling model almost never repeats it word for word. What stays when it rewords is the
claim: "14 days" where the policy is 30, "$9.99" where shipping is free. This module
finds such claims (a number, with its currency or percent sign and the word after it)
and turns each into a ``not_matches`` pattern that ignores wording, case and spacing:
``(?i)(?<![\\d.,])14(?![\\d]|[.,]\\d)[\\s-]*day(?:e?s)?\\b`` ("14 days", "14-day", "14 Days").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

#: a wrong text this short is a phrase a reviewer picked; longer ones are searched for claims
MAX_PHRASE_CHARS = 60
MAX_CLAIMS = 3
_NUMBER = r"[$€£]?\d+(?:[.,]\d+)?(?:\s*(?:-|–|to)\s*\d+(?:[.,]\d+)?)?%?"
_CLAIM = re.compile(rf"(?<![\w.,$€£])(?P<number>{_NUMBER})(?![\w])(?:\s*(?P<unit>[A-Za-z]+))?")
#: words after a number that say nothing about what it counts
_NOT_UNITS = frozenset("""a an and are as at be by for from in is it of on or so than that the then to
was were will with you your""".split())


@dataclass(frozen=True)
class Claim:
    """A number a text states, and the word it counts (``unit``, singular; may be empty)."""

    number: str
    unit: str

    @property
    def pattern(self) -> str:
        """A regular expression finding the claim however it is worded around, spaced or capitalised."""
        number = re.sub(r"\s*(?:-|–|to)\s*", r"\\s*(?:-|–|to)\\s*", re.escape(self.number))
        unit = rf"[\s-]*{re.escape(self.unit)}(?:e?s)?\b" if self.unit else ""
        return rf"(?i)(?<![\d.,]){number}(?![\d]|[.,]\d){unit}"

    @property
    def digits(self) -> str:
        return re.sub(r"\D", "", self.number)


def _singular(word: str) -> str:
    word = word.lower()
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def claims(text: str) -> list[Claim]:
    """Every number ``text`` states, with the word it counts when one follows ("14 days", "$4.99", "20%")."""
    found = []
    for match in _CLAIM.finditer(text):
        unit = match.group("unit") or ""
        found.append(Claim(match.group("number"), "" if unit.lower() in _NOT_UNITS else _singular(unit)))
    return list(dict.fromkeys(found))


def wrong_claims(wrong: str, right: str | None, context: Iterable[str] = ()) -> list[Claim]:
    """The claims of ``wrong`` that make it wrong: not in the right answer, not numbers the user gave
    (``context``, e.g. an order number). When the right answer states claims, those of ``wrong`` that count
    the same things ("14 days" against "30 days") are the wrong ones."""
    given = {claim.digits for text in (right or "", *context) for claim in claims(text)}
    found = [claim for claim in claims(wrong) if claim.digits not in given]
    right_units = {claim.unit for claim in claims(right or "") if claim.unit}
    same_things = [claim for claim in found if claim.unit in right_units]
    return (same_things or found)[:MAX_CLAIMS]


__all__ = ["Claim", "claims", "wrong_claims", "MAX_PHRASE_CHARS", "MAX_CLAIMS"]

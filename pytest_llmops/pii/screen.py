"""Pre-filters run over many texts at once: one search of each pattern over all of them.

A detector's pre-filter (its recognizers' gates, its secret rules' hints) is a few
searches per text, and each search costs a call however short the text. The monitor
checks thousands of records a second, so it screens a batch's texts first: the texts
are joined by a separator and each pattern is searched once over the whole, which
tells, for every text, whether it could hold a match. The detectors then skip the
pre-filter for a screened text, and everything for one that cannot hold anything.

A pattern used here must never match the separator (a control character that no
built-in gate or hint holds or matches), so that no match joins two texts; a match
that did would only mark both texts as possible holders, never hide one.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate
from typing import Callable, Iterable, Sequence

SEPARATOR = "\x1e"  # the ASCII record separator: not in any gate or hint, and rare in a chat message


def could_hold_each(texts: Sequence[str], literals: Iterable[str], patterns: Iterable[re.Pattern[str]],
                    fold: Callable[[str], str] | None = None) -> list[bool]:
    """For each of ``texts``: whether any of ``literals`` or ``patterns`` occurs in it (in ``fold(text)``)."""
    count = len(texts)
    holds = [False] * count
    if not count:
        return holds
    folded = [fold(text) for text in texts] if fold is not None else texts
    joined = SEPARATOR.join(folded)
    # where each text starts in the joined string (placed by lengths: a text may hold the separator itself)
    starts = [start + index for index, start in enumerate(accumulate(map(len, folded), initial=0))][:count]
    for search in (*(_finder(joined, literal) for literal in literals), *(_searcher(joined, p) for p in patterns)):
        position = 0
        while (found := search(position)) is not None:
            first = bisect_right(starts, found[0]) - 1
            last = bisect_right(starts, max(found[0], found[1] - 1)) - 1  # a match across a separator marks both
            for index in range(first, last + 1):
                holds[index] = True
            if last + 1 >= count:
                break
            position = starts[last + 1]  # found in that text: look on from the next one
    return holds


def _finder(joined: str, literal: str) -> Callable[[int], tuple[int, int] | None]:
    def find(position: int) -> tuple[int, int] | None:
        start = joined.find(literal, position)
        return None if start < 0 else (start, start + len(literal))

    return find


def _searcher(joined: str, pattern: re.Pattern[str]) -> Callable[[int], tuple[int, int] | None]:
    def search(position: int) -> tuple[int, int] | None:
        match = pattern.search(joined, position)
        return None if match is None else match.span()

    return search

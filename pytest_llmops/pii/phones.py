"""Phone numbers written the way people write them at home: no country code, the local grouping.

"030 12345678" is a Berlin number only to someone who knows the reply is German. So
national-format numbers are read as numbers of the regions a project expects
(``[tool.llmops.pii] regions``) and kept only when phonenumbers (the maintained port
of Google's libphonenumber) calls them valid there. Numbers with a country code
(``+49 ...``, ``0049 ...``) need no region and are found by the international recognizer
whatever the setting; the North American format is read when a +1 region is expected.

phonenumbers is slow next to a regex (tens of microseconds a call), so it sees only
candidates that passed a cheap pattern, a digit count, a shape veto and the region's own
length and number-range pattern.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Iterable

import phonenumbers

from .recognizers import Recognizer

# The US and the larger EU markets by population and e-commerce (Germany, France, Italy,
# Spain, Poland, the Netherlands), plus the UK: where a European or US support bot's
# customers mostly live. Each added region costs a few microseconds on phone-shaped
# candidates only, and adds numbers that may be read as phones.
DEFAULT_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "PL")

_DROP_SEPARATORS = str.maketrans("", "", " ./-()")  # the only non-digits NATIONAL_PATTERN lets in
# Shapes that say "something else" although the digits may be a valid number somewhere:
# the US SSN grouping 3-2-4 ("912-12-3456" is a Madrid number read as digits), ZIP+4, an
# IPv4 address, and the North American 3-3-4 with dashes or dots ("055-555-0142" is written
# the US way, so it is read the US way, where 055 is no area code; Italians and Dutch write
# "055 555 0142").
_OTHER_SHAPES = re.compile(r"[0-9]{3}([- ])[0-9]{2}\1[0-9]{4}|[0-9]{5}-[0-9]{4}|[0-9]{1,3}(?:\.[0-9]{1,3}){3}|"
                           r"[0-9]{3}([.-])[0-9]{3}\2[0-9]{4}")
_NATIONAL_DIGITS = range(9, 13)  # trunk "0" included: PL/ES 9, FR/NL 10, DE 10-12, GB 11, IT 9-11

# Words that say a bare run of digits is a phone number ("call 612345678", "mobile: ...").
# (Written first-letter-first, so that searching a reply for them skips other letters at C speed.)
PHONE_WORDS = re.compile(
    r"[cdfmprstw](?<![\w].)(?:(?<=c)(?:all(?:ed|ing)?|ell|ontact)|(?<=d)ial|(?<=f)ax|(?<=m)obile|(?<=p)hone|"
    r"(?<=r)(?:ing|each)|(?<=s)ms|(?<=t)(?:el(?:ephone|\.)?|ext)|(?<=w)hatsapp)(?![\w])")  # on lower-cased text

_SEPARATOR = r"(?:[ ]?[/-][ ]?|[ .])"
_GROUPS = rf"(?:{_SEPARATOR}[0-9]{{2,8}}+){{0,4}}+"
# The first character is a character class so that the scan skips text without digits at
# C speed; the lookbehinds after it (they include that character) refuse a start inside a
# word, an identifier ("#0151..."), a decimal or a longer number; the lookahead drops dates,
# times and prices before any Python code sees them.
_START = r"[(0-9](?<![\w+@.%/#-].)(?<![0-9][ .].)(?=(?:[ ./()-]{0,3}+[0-9]){8})"  # 8 more digits: short runs end here
_END = r"(?![\w@:]|[ .,/-]?[0-9])"
NATIONAL_PATTERN = re.compile(
    _START + r"(?:(?<=\()0[0-9]{1,4}\)[ ]?[0-9]{2,8}+" + _GROUPS + r"|(?<=[0-9])[0-9]{1,11}+" + _GROUPS + r")" + _END,
    re.ASCII)
COMPACT_PATTERN = re.compile(r"[1-9](?<![\w+@.%/#-].)(?<![0-9][ .].)[0-9]{8,9}+" + _END, re.ASCII)


@dataclass(frozen=True)
class _Region:
    """What a region's numbers look like in national format, from libphonenumber's metadata."""

    code: str
    trunk: str  # the national prefix dialled before the area code ("0"), or "" where there is none
    lengths: frozenset[int]  # possible lengths of the national significant number
    general: re.Pattern[str]  # every number of the region matches this (a cheap first test)


def check_regions(regions: Iterable[str]) -> tuple[str, ...]:
    """The region codes in upper case, or ValueError naming the ones libphonenumber does not know."""
    if isinstance(regions, str):
        raise ValueError(f"regions must be a list of region codes such as [\"DE\", \"FR\"], not {regions!r}")
    chosen = [str(region) for region in regions]
    unknown = [region for region in chosen if region.upper() not in phonenumbers.SUPPORTED_REGIONS]
    if unknown:
        raise ValueError(f"unknown region code(s) {unknown}; use ISO 3166-1 alpha-2 codes such as "
                         f"{list(DEFAULT_REGIONS)}")
    return tuple(dict.fromkeys(region.upper() for region in chosen))


def reads_north_american(regions: Iterable[str]) -> bool:
    """True when one of ``regions`` dials +1, so "(415) 555-0142" is one of their numbers."""
    return any(phonenumbers.country_code_for_region(region) == 1 for region in regions)


@functools.lru_cache(maxsize=64)
def _region_table(regions: tuple[str, ...]) -> tuple[_Region, ...]:
    """The regions outside +1 (the North American recognizer reads those) with their metadata."""
    table = []
    for code in regions:
        if phonenumbers.country_code_for_region(code) == 1:
            continue
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(code)
        general = metadata.general_desc
        table.append(_Region(code, metadata.national_prefix or "", frozenset(general.possible_length or ()),
                             re.compile(general.national_number_pattern or r"[0-9]+")))
    return tuple(table)


class NationalPhone:
    """Is a national-format candidate a valid number of one of the regions? Two stages, cheap first.

    :meth:`plausible` (digit count, shapes that mean something else, each region's trunk
    prefix, lengths and number ranges) runs on every candidate; :meth:`valid` asks
    phonenumbers, and runs only on plausible candidates that no label calls something else.
    ``bare`` allows nine or ten digits with no separator and no trunk "0" ("612345678");
    those are only read when a phone word stands before them (see :data:`PHONE_WORDS`).
    """

    def __init__(self, regions: tuple[str, ...], bare: bool = False):
        self.regions = _region_table(regions)
        self.bare = bare

    def plausible(self, candidate: str) -> bool:
        """True when some region's metadata allows the digits: no phonenumbers call yet."""
        number = candidate.translate(_DROP_SEPARATORS)
        if len(number) not in _NATIONAL_DIGITS or _OTHER_SHAPES.fullmatch(candidate):
            return False
        if not self.bare and number == candidate and number[0] != "0":
            return False  # nine bare digits are as likely an order number or an SSN
        return any(_national_significant(number, region) for region in self.regions)

    def valid(self, candidate: str) -> bool:
        """True when phonenumbers parses ``candidate`` as a valid number of a region that allows its digits.

        Valid *for that region*: a number of a neighbour sharing the country code (Jersey's
        under +44) is read only when that neighbour is among the regions too.
        """
        number = candidate.translate(_DROP_SEPARATORS)
        for region in self.regions:
            if not _national_significant(number, region):
                continue
            try:
                parsed = phonenumbers.parse(candidate, region.code)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number_for_region(parsed, region.code):
                return True
        return False


def _national_significant(number: str, region: _Region) -> bool:
    """``number`` (digits) fits ``region``: its trunk prefix where it has one, a possible length, its number ranges."""
    if region.trunk:
        if not number.startswith(region.trunk):
            return False  # where there is a trunk prefix, people write it
        number = number[len(region.trunk):]
    return len(number) in region.lengths and region.general.fullmatch(number) is not None


@functools.lru_cache(maxsize=64)
def national_recognizers(regions: tuple[str, ...]) -> tuple[Recognizer, ...]:
    """Recognizers for national-format numbers of ``regions`` (none when every region dials +1)."""
    if not _region_table(regions):
        return ()
    grouped, bare = NationalPhone(regions), NationalPhone(regions, bare=True)
    return (
        Recognizer("phone", NATIONAL_PATTERN, validator=grouped.plausible, confirm=grouped.valid, numeric=True,
                   min_run=_NATIONAL_DIGITS.start),
        Recognizer("phone", COMPACT_PATTERN, validator=bare.plausible, confirm=bare.valid, numeric=True,
                   needs_context=PHONE_WORDS, min_run=_NATIONAL_DIGITS.start),
    )

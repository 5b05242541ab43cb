"""The built-in kinds of personal data: a pattern that finds candidates, a check that confirms them.

A candidate becomes a finding only when its validator agrees (Luhn for cards, mod-97
for IBANs, issued ranges for SSNs, a real address for IPs) and the words just before
it do not say it is something else ("order", "tracking", "invoice", "version", ...).
Numeric patterns are ASCII-only and refuse to start or end inside a longer number, so
a 22-digit tracking number never yields a 16-digit "card" from its middle.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

from . import validators

# Words that label a number as something else when they stand right before it
# ("order 4155550142", "tracking number: 9400...", "version 1.2.3.4"). Only a label
# attached to the number counts: "Order #123 was paid with 4111 1111 1111 1111" still
# finds the card.
_OTHER_LABELS = (
    r"orders?|tracking|track|shipment|parcel|package|invoices?|inv|tickets?|case|ref|reference|confirmation|"
    r"booking|reservation|isbn|serial|sku|item|part|model|versions?|ver|build|release|firmware|receipt|"
    r"transaction|txn|po|zip|postcode|postal|promo|coupon|voucher|rma|claim|policy|batch|lot|"
    r"barcode|ean|upc|gtin|asin|no\.|nr\.|num\."
)
# Matched against lower-cased text: a big alternation with re.IGNORECASE costs four times as
# much, and this runs for nearly every numeric candidate.
_LABELLED_AS_OTHER = re.compile(
    rf"\b(?:{_OTHER_LABELS})(?!\w)(?:\s*(?:number|num|no\.?|nr\.?|id|code|#))?\s*(?:is|was|=)?\s*[:#]?\s*$")
# "SSN", "SSNs", "ss#", "SS #", "social security (number|no.|#)", "S.S.N.", "taxpayer id", "TIN".
# (Written first-letter-first, so that searching a reply for them skips other letters at C speed.)
# Matched against lower-cased text, like every list of telling words here (see said_before).
_SSN_WORDS = re.compile(r"[st](?<![\w][st])(?:(?<=s)(?:sns?(?![\w])|\.s\.n\.?|s\s?#|ocial\s+security"
                        r"(?:\s+(?:numbers?|no\.|nr\.|#))?(?![\w]))|(?<=t)(?:axpayer|in)(?![\w]))")
# Where a sentence ends: the telling word must be in the same sentence as the number.
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*\s+(?=[A-Z])|\n\s*\n")
CONTEXT_CHARS = 40  # how far back a label or a telling word may end before the number
_LONGEST_WORD = 30  # room for the telling word itself ("social   security") before that window
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)  # keeps every position


def labelled_as_other(text: str, start: int, since: int = 0) -> bool:
    """True when the words right before ``start`` say the number is an order, tracking, version... number.

    Only a label after ``since`` counts (where a telling word ends: "social security no." is no "no." label).
    """
    low = max(since, start - CONTEXT_CHARS)
    before = 1 if low else 0  # one character more, so that "\b" at the window's start sees what precedes it
    return _LABELLED_AS_OTHER.search(text[low - before:start].lower(), before) is not None


def said_before(text: str, start: int, words: re.Pattern[str]) -> int | None:
    """Where the last of ``words`` (a lower-case pattern) ends, if at most CONTEXT_CHARS before ``start``,
    in the same sentence.

    "Your SSN, as you gave it to us, is 123456789" counts; "We never ask for your SSN.
    Your code is 123456789" does not: the word belongs to another sentence.
    """
    low = max(0, start - CONTEXT_CHARS)
    first = max(0, low - _LONGEST_WORD)
    before = 1 if first else 0  # one character more, for the patterns' look-behind at the window's start
    offset = first - before
    last = None
    for last in words.finditer(text[offset:start].translate(_ASCII_LOWER), before):
        pass
    if last is None:
        return None
    end = offset + last.end()
    if end < low or _SENTENCE_END.search(text, end, start):
        return None
    return end


@dataclass(frozen=True)
class Recognizer:
    """One way of spotting one kind: candidates from ``pattern``, kept when ``validator`` agrees.

    ``numeric`` recognizers are vetoed by a label right before them; ``needs_context`` ones
    (nine bare digits as an SSN) also need a telling word such as "SSN" shortly before them,
    in the same sentence. ``precheck`` and ``min_run`` let a reply that cannot hold a match
    skip the pattern: most replies hold no personal data, and the scan runs on every one.
    """

    kind: str
    pattern: re.Pattern[str]
    validator: Callable[[str], bool] | None = None
    numeric: bool = False
    needs_context: re.Pattern[str] | None = None
    precheck: Callable[[str], bool] | None = None  # False when the reply cannot hold a match (cheaper than the pattern)
    min_run: int = 0  # digits a finding holds in one run of digits and separators (see longest_digit_run)
    confirm: Callable[[str], bool] | None = None  # a slow last check (phonenumbers), after labels and context
    priority: int = 0  # higher wins when two findings cover the same text
    trim: str = ""  # separators: when the whole match fails, try it cut short at one of these
    #: a pattern that every text holding a match matches (a necessary condition, far cheaper than the pattern):
    #: the detector joins its recognizers' gates into one search that most replies fail (see ``could_hold``)
    gate: str = ""

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        """(start, end) of every confirmed match in ``text``."""
        if self.precheck is not None and not self.precheck(text):
            return
        if self.needs_context is not None and self.needs_context.search(text.lower()) is None:
            return
        for match in self.pattern.finditer(text):
            start = match.start()
            end = self._confirmed_end(match.group(), start)
            if end is None or not self._in_context(text, start):
                continue
            if self.confirm is not None and not self.confirm(text[start:end]):
                continue
            yield start, end

    def _in_context(self, text: str, start: int) -> bool:
        """The words before ``start`` allow a finding: the telling word if one is needed, and no other label."""
        since = 0
        if self.needs_context is not None:
            since = said_before(text, start, self.needs_context)
            if since is None:
                return False
        return not (self.numeric and labelled_as_other(text, start, since))

    def _confirmed_end(self, value: str, start: int) -> int | None:
        """Where the confirmed value ends: the whole match, or (``trim``) its longest valid prefix of whole groups.

        A card number followed by its expiry ("4111 1111 1111 1111 12/25") matches one
        group too many; cutting at separators finds the card inside.
        """
        if self.validator is None or self.validator(value):
            return start + len(value)
        if self.trim:
            for cut in range(len(value) - 1, 0, -1):
                if value[cut] in self.trim and self.validator(value[:cut]):
                    return start + cut
        return None


_A = re.ASCII
# A run of digits with at most three separators between any two ("+1 (415) 555-0142",
# "030 / 1234567"): every numeric finding's digits lie in one run, so a reply whose
# longest run is shorter than a recognizer's ``min_run`` cannot hold its findings.
_SHORTEST_RUN = 8  # no numeric kind is found in fewer digits than this (IPv4 aside: it has no min_run)
_DIGIT_RUN = re.compile(r"[0-9](?:[ .()/-]{0,3}+[0-9]){%d,}+" % (_SHORTEST_RUN - 1), _A)
_DROP_DIGITS = str.maketrans("", "", "0123456789")
#: what a text must hold for any recognizer with a ``min_run`` of at least _SHORTEST_RUN: a run of that many digits
DIGIT_RUN_GATE = _DIGIT_RUN.pattern


def longest_digit_run(text: str) -> int:
    """The most digits in one run of ``text``, or 0 when no run holds _SHORTEST_RUN digits."""
    return max((len(run) - len(run.translate(_DROP_DIGITS)) for run in _DIGIT_RUN.findall(text)), default=0)


_EXTENSION = r"(?:[ ]?(?:x|ext\.?|extension)[ ]?[0-9]{1,6})?"
_AREA = r"(?:\([0-9]{3}\)[ .-]?|[0-9]{3}[ .-]?)"
# A number that is not the middle of a longer one: "4111 1111 1111 1111" but not its tail,
# nor a 16-digit slice of a 22-digit tracking number; "#" before it makes it an identifier.
_DIGITS_START = r"(?<![\w.,#-])(?<![0-9][ ])"
_DIGITS_END = r"(?![\w]|[ .,-][0-9])"
# The same start as a first digit checked from behind: a pattern that opens with a character
# class lets the regex engine skip to candidate characters at C speed, where one opening
# with a lookbehind runs the matcher at every position of every reply.
_FIRST_DIGIT = r"[0-9](?<![\w.,#-][0-9])(?<![0-9][ ][0-9])"

EMAIL = Recognizer(
    "email",
    re.compile(r"(?<![\w.+%-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![\w-]|\.\w)"),
    validator=lambda value: value.rsplit(".", 1)[1].lower() not in {"png", "jpg", "jpeg", "gif", "svg", "webp"},
    precheck=lambda text: "@" in text,
    gate="@",
)
PHONE_NORTH_AMERICA = Recognizer(
    "phone",
    re.compile(  # an optional +1 / 001 / 1, the area code (in brackets or not), exchange and line
        r"[+(0-9](?<![\w+@.%/#-].)(?<![0-9][ .].)"  # its first character, checked from behind (see _FIRST_DIGIT)
        r"(?:(?<=\+)1[ .-]?" + _AREA + r"|(?<=\()[0-9]{3}\)[ .-]?|(?<=1)[ .-]?" + _AREA + r"|(?<=0)01[ .-]?" + _AREA
        + r"|(?<=[0-9])[0-9]{2}[ .-]?)[0-9]{3}[ .-]?[0-9]{4}" + _EXTENSION + r"(?![\w@]|[.-][0-9])", _A),
    validator=validators.nanp_phone,
    numeric=True,
    min_run=10,
)
PHONE_INTERNATIONAL = Recognizer(
    "phone",
    re.compile(
        r"[+0](?<![\w+@.%/-].)(?<![0-9][ .].)(?:(?<=\+)|(?<=0)0(?=[1-9][0-9]{0,2}[ -]))[1-9][0-9]{0,2}(?:[ .-]?\(0\))?"
        r"(?:[ .-]?+(?:\([0-9]{1,4}\)|[0-9]++)){1,6}+" + _EXTENSION + r"(?![\w@]|[.-][0-9])", _A),
    validator=validators.international_phone,
    numeric=True,
    precheck=lambda text: "+" in text or "00" in text,
    min_run=8,
)
CARD = Recognizer(
    "card",
    re.compile(_FIRST_DIGIT + r"(?:[ -]?[0-9]){12,18}" + _DIGITS_END, _A),
    validator=validators.payment_card,
    numeric=True,
    min_run=13,
    priority=3,
    trim=" -",
)
SSN = Recognizer(
    "ssn",
    re.compile(_FIRST_DIGIT + r"[0-9]{2}([- ])[0-9]{2}\1[0-9]{4}" + _DIGITS_END, _A),
    validator=validators.us_ssn,
    numeric=True,
    min_run=9,
    priority=2,
)
SSN_BARE = Recognizer(
    "ssn",
    # A "#" may stand right before ("SSN#123456789"): the SSN word is required anyway.
    re.compile(r"[0-9](?<![\w.,-][0-9])(?<![0-9][ ][0-9])[0-9]{8}" + _DIGITS_END, _A),
    validator=validators.us_ssn,
    numeric=True,
    needs_context=_SSN_WORDS,
    min_run=9,
    priority=2,
)
IBAN = Recognizer(
    "iban",
    re.compile(r"[A-Z](?<![\w][A-Z])[A-Z][0-9]{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?(?![\w])", _A),
    validator=validators.iban,
    priority=3,
    trim=" ",
    gate=r"[A-Z](?<![\w][A-Z])[A-Z][0-9][0-9]",  # the country code and check digits every IBAN starts with
)
IPV4 = Recognizer(
    "ipv4",
    re.compile(r"[0-9](?<![\w.-][0-9])[0-9]{0,2}\.(?:[0-9]{1,3}\.){2}[0-9]{1,3}(?![\w-]|\.[0-9])", _A),
    validator=validators.ipv4,
    numeric=True,
    precheck=lambda text: text.count(".") >= 3,
    gate=r"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]",
)
IPV6 = Recognizer(
    "ipv6",
    re.compile(
        r"[0-9A-Fa-f:](?<![\w:.].)(?:(?<=:)|(?<=[0-9A-Fa-f])[0-9A-Fa-f]{0,3}:)(?:[0-9A-Fa-f]{0,4}:){1,6}"
        r"(?:(?:[0-9]{1,3}\.){3}[0-9]{1,3}|[0-9A-Fa-f]{1,4})?(?:%[A-Za-z0-9_.]+)?(?![\w:]|\.[0-9])", _A),
    validator=validators.ipv6,
    precheck=lambda text: text.count(":") >= 2,
    priority=1,
    gate=r":[0-9A-Fa-f]{0,4}:",  # two colons with at most one group between: every address has them
)

# National-format phone numbers depend on the regions a detector expects: see phones.py.
BUILTIN_RECOGNIZERS: tuple[Recognizer, ...] = (
    EMAIL, PHONE_NORTH_AMERICA, PHONE_INTERNATIONAL, CARD, SSN, SSN_BARE, IBAN, IPV4, IPV6,
)
BUILTIN_KINDS: tuple[str, ...] = tuple(dict.fromkeys(r.kind for r in BUILTIN_RECOGNIZERS))


def _field(spec: Any, name: str) -> Any:
    return spec.get(name) if isinstance(spec, Mapping) else getattr(spec, name, None)


def gates_of(recognizers: tuple[Recognizer, ...]) -> tuple[tuple[str, ...], tuple[re.Pattern[str], ...]] | None:
    """The gates of ``recognizers`` as (plain texts, patterns): a text none of them occurs in holds no finding.
    None when one of them has no gate (a custom pattern): then every text is searched."""
    gates: list[str] = []
    for recognizer in recognizers:
        if recognizer.gate:
            gates.append(recognizer.gate)
        elif recognizer.numeric and recognizer.min_run >= _SHORTEST_RUN:
            gates.append(DIGIT_RUN_GATE)
        else:
            return None
    gates = list(dict.fromkeys(gates))
    if not gates:
        return None
    # plain text by `in`, the rest one search each: a search for one pattern skips to its first character at C
    # speed, where one alternation of them all tries every branch at every position
    literals = tuple(gate for gate in gates if re.escape(gate) == gate)
    return literals, tuple(re.compile(gate, _A) for gate in gates if gate not in literals)


def could_hold(recognizers: tuple[Recognizer, ...]) -> Callable[[str], bool] | None:
    """A test that is False for a text where none of ``recognizers`` can find anything (most replies: no ``@``,
    no run of eight digits...), or None when one of them has no gate (a custom pattern): then every text is searched.

    It only ever skips texts that a recognizer's own pattern would not match: a pre-filter, never a finder.
    """
    gates = gates_of(recognizers)
    if gates is None:
        return None
    literals, searches = gates[0], tuple(pattern.search for pattern in gates[1])

    def test(text: str) -> bool:
        for literal in literals:  # loops, not any(): a generator per call cost as much as a search
            if literal in text:
                return True
        for search in searches:
            if search(text) is not None:
                return True
        return False

    return test


def custom_recognizer(spec: Any) -> Recognizer:
    """A recognizer for a ``[tool.llmops.pii.custom]`` entry: ``name``, ``pattern``, optional ``validator``.

    Raises ValueError naming the entry when the pattern does not compile or the validator is unknown.
    """
    name, pattern, validator = _field(spec, "name"), _field(spec, "pattern"), _field(spec, "validator")
    if not isinstance(name, str) or not CUSTOM_NAME.fullmatch(name):
        raise ValueError(f"custom PII pattern name {name!r} must be lowercase letters, digits and '_'")
    if name in BUILTIN_KINDS:
        raise ValueError(f"custom PII pattern name {name!r} is a built-in kind; choose another name")
    try:
        compiled = re.compile(pattern)
    except (re.error, TypeError) as exc:
        raise ValueError(f"custom PII pattern {name!r}: invalid regular expression {pattern!r}: {exc}") from None
    if validator is not None and validator not in validators.VALIDATORS:
        raise ValueError(f"custom PII pattern {name!r}: unknown validator {validator!r}; "
                         f"known: {sorted(validators.VALIDATORS)}")
    return Recognizer(name, compiled, validators.VALIDATORS[validator] if validator else None, priority=4)


CUSTOM_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")

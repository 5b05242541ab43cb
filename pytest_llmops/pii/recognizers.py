"""The built-in kinds of personal data: a pattern that finds candidates, a check that confirms them.

A candidate becomes a finding only when its validator agrees (Luhn for cards, mod-97
for IBANs, issued ranges for SSNs, a real address for IPs) and the words just before
it do not say it is something else ("order", "tracking", "invoice", "version", ...).
Numeric patterns are ASCII-only and refuse to start or end inside a longer number, so
a 22-digit tracking number never yields a 16-digit "card" from its middle.
"""

from __future__ import annotations

import re
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
_LABELLED_AS_OTHER = re.compile(
    rf"\b(?:{_OTHER_LABELS})(?!\w)(?:\s*(?:number|num|no\.?|nr\.?|id|code|#))?\s*(?:is|was|=)?\s*[:#]?\s*$", re.I)
_SSN_WORDS = re.compile(r"\b(?:ssn|social\s+security|ss\s*#|taxpayer|tin)\b", re.I)
CONTEXT_CHARS = 40


def labelled_as_other(text: str, start: int) -> bool:
    """True when the words right before ``start`` say the number is an order, tracking, version... number."""
    return _LABELLED_AS_OTHER.search(text, max(0, start - CONTEXT_CHARS), start) is not None


@dataclass(frozen=True)
class Recognizer:
    """One way of spotting one kind: candidates from ``pattern``, kept when ``validator`` agrees.

    ``numeric`` recognizers are vetoed by a label right before them; ``needs_context`` ones
    (nine bare digits as an SSN) need a telling word such as "SSN" right before them.
    """

    kind: str
    pattern: re.Pattern[str]
    validator: Callable[[str], bool] | None = None
    numeric: bool = False
    needs_context: re.Pattern[str] | None = None
    hint: str = ""  # a character every match contains: a cheap test before running the pattern
    priority: int = 0  # higher wins when two findings cover the same text
    trim: str = ""  # separators: when the whole match fails, try it cut short at one of these

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        """(start, end) of every confirmed match in ``text``."""
        if self.hint and self.hint not in text:
            return
        for match in self.pattern.finditer(text):
            start, end = match.span()
            end = self._confirmed_end(match.group(), start)
            if end is None:
                continue
            if self.needs_context is not None:
                if not self.needs_context.search(text, max(0, start - CONTEXT_CHARS), start):
                    continue
            elif self.numeric and labelled_as_other(text, start):
                continue
            yield start, end

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
_EXTENSION = r"(?:[ ]?(?:x|ext\.?|extension)[ ]?[0-9]{1,6})?"
# A number that is not the middle of a longer one: "4111 1111 1111 1111" but not its tail,
# nor a 16-digit slice of a 22-digit tracking number; "#" before it makes it an identifier.
_DIGITS_START = r"(?<![\w.,#-])(?<![0-9][ ])"
_DIGITS_END = r"(?![\w]|[ .,-][0-9])"

EMAIL = Recognizer(
    "email",
    re.compile(r"(?<![\w.+%-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![\w-]|\.\w)"),
    validator=lambda value: value.rsplit(".", 1)[1].lower() not in {"png", "jpg", "jpeg", "gif", "svg", "webp"},
    hint="@",
)
PHONE_NORTH_AMERICA = Recognizer(
    "phone",
    re.compile(
        r"(?<![\w+@.%/#-])(?<![0-9][ .])"
        r"(?:(?:\+1|001|1)[ .-]?)?(?:\([0-9]{3}\)[ .-]?|[0-9]{3}[ .-]?)[0-9]{3}[ .-]?[0-9]{4}"
        + _EXTENSION + r"(?![\w@]|[.-][0-9])", _A),
    validator=validators.nanp_phone,
    numeric=True,
)
PHONE_INTERNATIONAL = Recognizer(
    "phone",
    re.compile(
        r"(?<![\w+@.%/-])(?<![0-9][ .])(?:\+|\b00(?=[1-9][0-9]{0,2}[ -]))[1-9][0-9]{0,2}(?:[ .-]?\(0\))?"
        r"(?:[ .-]?+(?:\([0-9]{1,4}\)|[0-9]++)){1,6}+" + _EXTENSION + r"(?![\w@]|[.-][0-9])", _A),
    validator=validators.international_phone,
    numeric=True,
)
CARD = Recognizer(
    "card",
    re.compile(_DIGITS_START + r"[0-9](?:[ -]?[0-9]){12,18}" + _DIGITS_END, _A),
    validator=validators.payment_card,
    numeric=True,
    priority=3,
    trim=" -",
)
SSN = Recognizer(
    "ssn",
    re.compile(_DIGITS_START + r"[0-9]{3}([- ])[0-9]{2}\1[0-9]{4}" + _DIGITS_END, _A),
    validator=validators.us_ssn,
    numeric=True,
    priority=2,
)
SSN_BARE = Recognizer(
    "ssn",
    re.compile(_DIGITS_START + r"[0-9]{9}" + _DIGITS_END, _A),
    validator=validators.us_ssn,
    needs_context=_SSN_WORDS,
    priority=2,
)
IBAN = Recognizer(
    "iban",
    re.compile(r"(?<![\w])[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?(?![\w])", _A),
    validator=validators.iban,
    priority=3,
    trim=" ",
)
IPV4 = Recognizer(
    "ipv4",
    re.compile(r"(?<![\w.-])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![\w-]|\.[0-9])", _A),
    validator=validators.ipv4,
    numeric=True,
    hint=".",
)
IPV6 = Recognizer(
    "ipv6",
    re.compile(
        r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}"
        r"(?:(?:[0-9]{1,3}\.){3}[0-9]{1,3}|[0-9A-Fa-f]{1,4})?(?:%[A-Za-z0-9_.]+)?(?![\w:]|\.[0-9])", _A),
    validator=validators.ipv6,
    hint=":",
    priority=1,
)

BUILTIN_RECOGNIZERS: tuple[Recognizer, ...] = (
    EMAIL, PHONE_NORTH_AMERICA, PHONE_INTERNATIONAL, CARD, SSN, SSN_BARE, IBAN, IPV4, IPV6,
)
BUILTIN_KINDS: tuple[str, ...] = tuple(dict.fromkeys(r.kind for r in BUILTIN_RECOGNIZERS))


def _field(spec: Any, name: str) -> Any:
    return spec.get(name) if isinstance(spec, Mapping) else getattr(spec, name, None)


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

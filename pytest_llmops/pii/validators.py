"""Checksums and range rules that turn a pattern match into a finding worth reporting.

A regex alone cannot tell a card number from an invoice number, or an SSN from a
part number; these checks can. Each takes the matched text and answers yes or no.
Custom patterns in ``[tool.llmops.pii]`` name one of :data:`VALIDATORS`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Callable

_NOT_DIGIT = re.compile(r"[^0-9]")
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")
_MARKETPLACE_ORDER = re.compile(r"[0-9]{3}-[0-9]{7}-[0-9]{7}")  # 123-1234567-1234567, not a "00" phone

# Length of a valid IBAN per country (ISO 13616 registry); a wrong length is no IBAN.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
    "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
    "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
    "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}

# SSNs the SSA never issued although they fit the ranges (advertising and wallet samples).
_KNOWN_FAKE_SSNS = frozenset({"078051120", "219099999"})


def digits(text: str) -> str:
    """Only the digits of ``text`` (separators dropped)."""
    return _NOT_DIGIT.sub("", text)


def luhn(text: str) -> bool:
    """The Luhn (mod 10) check every payment card number passes."""
    number = digits(text)
    if not number:
        return False
    total = 0
    for position, char in enumerate(reversed(number)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def payment_card(text: str) -> bool:
    """13-19 digits from a card network's range (first digit 2-6, or JCB's old 1800) passing Luhn.

    The first digit is the ISO/IEC 7812 industry: 2-6 are the card networks (Mastercard,
    Amex, Diners, JCB, Visa, Discover, UnionPay, Maestro); 9 is national use, which is
    where ISBN-13s (978/979) live.
    """
    number = digits(text)
    in_range = number[:1] in ("2", "3", "4", "5", "6") or number.startswith("1800")
    return (13 <= len(number) <= 19 and in_range and len(set(number)) > 1 and luhn(number)
            and _card_grouping(text))


def _card_grouping(text: str) -> bool:
    """Written in groups, a card reads 4-4-4-4 (last group shorter for 13-19 digits), or Amex/Diners 4-6-5 / 4-6-4."""
    groups = [len(group) for group in re.split(r"[ -]", text)]
    if len(groups) == 1:
        return True
    return groups in ([4, 6, 5], [4, 6, 4]) or (all(g == 4 for g in groups[:-1]) and 1 <= groups[-1] <= 4)


def iban(text: str) -> bool:
    """The country's IBAN length and the ISO 7064 mod-97 check (remainder 1)."""
    value = _NOT_ALNUM.sub("", text).upper()
    if IBAN_LENGTHS.get(value[:2]) != len(value) or not value[2:4].isdigit():
        return False
    rearranged = value[4:] + value[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def us_ssn(text: str) -> bool:
    """Nine digits in the ranges the SSA issues: area not 000, 666 or 9xx; group not 00; serial not 0000."""
    number = digits(text)
    if len(number) != 9 or number in _KNOWN_FAKE_SSNS:
        return False
    area, group, serial = number[:3], number[3:5], number[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def nanp_phone(text: str) -> bool:
    """A North American number: area code and exchange start with 2-9 (the NANP's rule)."""
    number = digits(text.split("x")[0].split("X")[0].split("ext")[0])
    if len(number) == 11 and number[0] == "1":
        number = number[1:]
    elif len(number) == 13 and number.startswith("001"):
        number = number[3:]
    if len(number) != 10:
        return False
    area, exchange = number[:3], number[3:6]
    return area[0] in "23456789" and exchange[0] in "23456789"


def international_phone(text: str) -> bool:
    """``+`` or ``00`` then a country code and number: 8 to 15 digits in all (E.164), not starting with 0."""
    head = text.split("x")[0].split("X")[0].split("ext")[0]
    if _MARKETPLACE_ORDER.fullmatch(head.strip()):
        return False
    number = digits(re.sub(r"\(0\)", "", head))
    if head.lstrip().startswith("00"):
        number = number[2:]
    return 8 <= len(number) <= 15 and number[0] != "0"


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"  # 0-255, no leading zero (as ipaddress reads them)
_DOTTED_QUAD = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def ipv4(text: str) -> bool:
    """A valid dotted-quad address that can point at someone (not 0.0.0.0, loopback or broadcast).

    One regex instead of ``ipaddress.IPv4Address``, which costs ten times as much, and every
    version string with four parts ("version 1.2.3.4") is a candidate.
    """
    if _DOTTED_QUAD.fullmatch(text) is None:
        return False
    return not (text.startswith("127.") or text in ("0.0.0.0", "255.255.255.255"))


def ipv6(text: str) -> bool:
    """A valid IPv6 address with some substance: not ``::``/``::1``, and not two short groups like ``12::30``."""
    try:
        address = ipaddress.IPv6Address(text.split("%")[0])
    except ValueError:
        return False
    if address.is_loopback or address.is_unspecified:
        return False
    groups = [group for group in text.split("%")[0].split(":") if group]
    return len(groups) >= 3 or any(len(group) >= 3 for group in groups)


VALIDATORS: dict[str, Callable[[str], bool]] = {
    "luhn": luhn,
    "card": payment_card,
    "iban": iban,
    "ssn": us_ssn,
    "nanp": nanp_phone,
    "e164": international_phone,
    "ipv4": ipv4,
    "ipv6": ipv6,
}

"""Realistic stand-ins for masked personal data: one home for "a value of kind K".

A text that goes back to a chatbot (a generated regression case, a replayed cassette)
cannot carry the label ``[PHONE]``: a bot that echoes its input would echo the label,
``no_pii`` would pass, and the case could never fail. It must carry a value of the same
kind that the detector finds as that kind, yet is nobody's: a phone number in the
fictional 555-01xx range, an address at a reserved ``example`` domain, a published test
card number, a documentation IP range...

:func:`with_stand_ins` replaces every label in a text with such a value, and checks in
place that the detector finds it there as that kind (the words around a value matter:
"order 4155550142" is no phone number). Values are deterministic: the same seed and
text give the same values, so a rerun writes the same case. They are never the
original (which is masked before anything is stored, so it is not even known here).
A project's custom kinds have no generator: their label stays.
"""

from __future__ import annotations

import hashlib
import random
from typing import Callable

from .detector import LABEL_RE, PiiDetector
from .secrets import SECRET_KIND

ATTEMPTS = 24  # candidates tried per value before the label is left as it is

_FIRST = ("alex", "sam", "jordan", "casey", "riley", "morgan", "taylor", "jamie", "robin", "avery")
_LAST = ("miller", "garcia", "novak", "okafor", "lindqvist", "tanaka", "moreau", "kowalski", "silva", "brennan")
_DOMAINS = ("example.com", "example.net", "example.org")
_AREA_CODES = ("212", "303", "312", "404", "415", "503", "512", "617", "702", "919")
#: published test card numbers (card networks' and payment providers' documentation): Luhn-valid, nobody's
_TEST_CARDS = ("4111 1111 1111 1111", "4242 4242 4242 4242", "4012 8888 8888 1881", "5555 5555 5555 4444",
               "5105 1051 0510 5100", "4000 0566 5566 5556", "2223 0031 2200 3222", "6011 1111 1111 1117")
_DOC_NETWORKS = ("192.0.2", "198.51.100", "203.0.113")  # RFC 5737: documentation only


def _rng(seed: str) -> random.Random:
    return random.Random(hashlib.sha256(seed.encode("utf-8")).digest())


def _iban(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    check = 98 - int("".join(str(int(char, 36)) for char in rearranged)) % 97
    compact = f"{country}{check:02d}{bban}"
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


def _email(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST)}.{rng.choice(_LAST)}{rng.randint(10, 99)}@{rng.choice(_DOMAINS)}"


def _phone(rng: random.Random) -> str:
    return f"({rng.choice(_AREA_CODES)}) 555-01{rng.randint(0, 99):02d}"  # 555-0100..0199: fictional


def _card(rng: random.Random) -> str:
    return rng.choice(_TEST_CARDS)


def _ssn(rng: random.Random) -> str:
    return f"123-45-{rng.randint(1000, 9999)}"  # the classic sample's area and group, another serial


def _iban_value(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return _iban("GB", f"WEST{rng.randint(10**13, 10**14 - 1)}")  # the registry's example bank code
    return _iban("DE", f"37040044{rng.randint(10**9, 10**10 - 1)}")


def _ipv4(rng: random.Random) -> str:
    return f"{rng.choice(_DOC_NETWORKS)}.{rng.randint(1, 254)}"


def _ipv6(rng: random.Random) -> str:
    return f"2001:db8:{rng.randint(1, 0xffff):x}::{rng.randint(1, 0xffff):x}"  # RFC 3849: documentation only


def _secret(rng: random.Random) -> str:
    """A made-up key in GitHub's token format: the ``no_secrets`` check finds it, no service accepts it."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "ghp_" + "".join(rng.choice(alphabet) for _ in range(36))


#: kind -> a generator of realistic values nobody owns (``secret``: the ``[SECRET]`` a bot's key is masked as)
GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "email": _email, "phone": _phone, "card": _card, "ssn": _ssn, "iban": _iban_value,
    "ipv4": _ipv4, "ipv6": _ipv6, SECRET_KIND: _secret,
}


def _candidates(kind: str, seed: str) -> list[str]:
    """Values to try for the label, in a fixed order derived from ``seed``."""
    generate = GENERATORS.get(kind)
    if generate is None:
        return []
    return [generate(_rng(f"{kind}\x00{seed}\x00{attempt}")) for attempt in range(ATTEMPTS)]


def _fits(text: str, start: int, value: str, kind: str, detector: PiiDetector) -> bool:
    """Whether ``value`` put in ``text`` at ``start`` is found there as ``kind``, whole."""
    candidate = text[:start] + value + text[start:]
    found = detector.find_secrets(candidate) if kind == SECRET_KIND else detector.find(candidate)
    return any(f.kind == kind and f.start == start and f.end == start + len(value) for f in found)


def with_stand_ins(text: str, seed: str, detector: PiiDetector, kinds: set[str] | None = None) -> str:
    """``text`` with each ``[KIND]`` label (of ``kinds``, default: any the detector knows) replaced by a
    realistic value of that kind, checked in place; the n-th label of a kind gets the n-th value of ``seed``.
    A label with no stand-in that fits (a custom kind) is left as it is."""
    allowed = {*detector.kinds, SECRET_KIND} if kinds is None else kinds
    counts: dict[str, int] = {}
    parts: list[str] = []
    last = 0
    for match in LABEL_RE.finditer(text):
        kind = match.group(1).lower()
        if kind not in allowed:
            continue
        number = counts[kind] = counts.get(kind, -1) + 1
        done = "".join(parts) + text[last:match.start()]
        rest = text[match.end():]
        value = next((candidate for candidate in _candidates(kind, f"{seed}\x00{number}")
                      if _fits(done + rest, len(done), candidate, kind, detector)), None)
        parts.append(text[last:match.start()])
        parts.append(value if value is not None else match.group(0))
        last = match.end()
    parts.append(text[last:])
    return "".join(parts)


__all__ = ["GENERATORS", "with_stand_ins"]

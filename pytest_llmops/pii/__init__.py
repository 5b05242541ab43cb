"""Finding and masking personal data (and secrets) in chatbot text.

One detector serves every front: checks, failure text, reports, logs and generated
cases all mask through :func:`mask_pii` / :meth:`PiiDetector.mask`, so a value found
in one place is hidden in all of them. Built-in kinds: email, phone, card, ssn, iban,
ipv4, ipv6 (all on by default); custom patterns and Presidio add more. Phone numbers
written without a country code are read for :data:`DEFAULT_REGIONS` unless a detector
is given other ``regions``. Secrets (API keys, tokens, private keys: :mod:`.secrets`) are
masked by the same function, as ``[SECRET]``.
"""

from __future__ import annotations

import re

from .allowlist import Allowlist
from .detector import PiiDetector, PiiFinding
from .phones import DEFAULT_REGIONS
from .recognizers import BUILTIN_KINDS, BUILTIN_RECOGNIZERS
from .secrets import SecretDetector, SecretFinding
from .validators import VALIDATORS

DEFAULT_KINDS: tuple[str, ...] = BUILTIN_KINDS

# The main pattern of each built-in kind, for callers that list the kinds (``tuple(PATTERNS)``).
PATTERNS: dict[str, re.Pattern[str]] = {}
for _recognizer in BUILTIN_RECOGNIZERS:
    PATTERNS.setdefault(_recognizer.kind, _recognizer.pattern)

DEFAULT_DETECTOR = PiiDetector()


def find_pii(text: str, detector: PiiDetector | None = None) -> list[PiiFinding]:
    """Personal data in ``text`` (every built-in kind by default)."""
    return (detector or DEFAULT_DETECTOR).find(text)


def mask_pii(text: str, detector: PiiDetector | None = None) -> str:
    """``text`` with personal data replaced by its kind: the one masking function."""
    return (detector or DEFAULT_DETECTOR).mask(text)


__all__ = ["Allowlist", "PiiDetector", "PiiFinding", "SecretDetector", "SecretFinding", "BUILTIN_KINDS",
           "DEFAULT_KINDS", "DEFAULT_REGIONS", "PATTERNS", "VALIDATORS", "DEFAULT_DETECTOR", "find_pii", "mask_pii"]

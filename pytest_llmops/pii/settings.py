"""Checking ``[tool.llmops.pii]`` when it is read, so a typo stops the run before any reply is judged."""

from __future__ import annotations

from typing import Any

from .allowlist import Allowlist
from .presidio_backend import EXTRA_KINDS
from .recognizers import BUILTIN_KINDS, custom_recognizer


def check_pii_settings(pii: Any) -> None:
    """Raise ValueError naming the first problem: an unknown kind, a bad custom pattern or allowlist pattern."""
    custom_names = []
    for spec in pii.custom:
        custom_names.append(custom_recognizer(spec).kind)
    duplicates = sorted({name for name in custom_names if custom_names.count(name) > 1})
    if duplicates:
        raise ValueError(f"custom PII pattern name(s) {duplicates} used more than once")
    known = {*BUILTIN_KINDS, *custom_names, *(EXTRA_KINDS if pii.backend == "presidio" else ())}
    unknown = [kind for kind in pii.kinds or () if kind not in known]
    if unknown:
        hint = "" if pii.backend == "presidio" else f" (with backend = \"presidio\" also {list(EXTRA_KINDS)})"
        raise ValueError(f"kinds: unknown PII kind(s) {unknown}; known: {sorted(known)}{hint}")
    Allowlist.from_entries(pii.allowlist)

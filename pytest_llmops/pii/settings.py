"""``[tool.llmops.pii]`` and ``[tool.llmops.secrets]``: what sensitive data to look for, what the bot may say.

Checked when it is read, so a typo stops the run before any reply is judged (docs/pii.md,
docs/probes.md).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from .allowlist import Allowlist, check_allow_entries
from .phones import DEFAULT_REGIONS, check_regions
from .presidio_backend import EXTRA_KINDS
from .recognizers import BUILTIN_KINDS, custom_recognizer


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PiiPattern(_Section):
    """A project's own kind of personal data: a name, a regular expression, optionally a checksum."""

    name: str
    pattern: str
    validator: str | None = None


class PiiSettings(_Section):
    """Which kinds of personal data to look for, and what the bot may say on purpose (docs/pii.md)."""

    kinds: list[str] | None = None  # None: every built-in kind, plus the backend's
    allowlist: list[str | dict[str, str]] = Field(default_factory=list)  # exact values, {pattern = REGEX}
    custom: list[PiiPattern] = Field(default_factory=list)
    backend: Literal["builtin", "presidio"] = Field(
        default="builtin", validation_alias=AliasChoices("backend", "pii_backend"))
    presidio_model: str | None = None  # None: the first installed English spaCy pipeline
    presidio_min_score: float = Field(default=0.5, ge=0, le=1)
    # Whose national-format phone numbers ("030 12345678") to read; numbers with a country code are always read.
    regions: list[str] = Field(default_factory=lambda: list(DEFAULT_REGIONS))

    @field_validator("allowlist", mode="before")
    @classmethod
    def _allowlist_entries(cls, value: Any) -> Any:
        return check_allow_entries(value)

    @field_validator("regions")
    @classmethod
    def _known_regions(cls, value: list[str]) -> list[str]:
        return list(check_regions(value))

    @model_validator(mode="after")
    def _kinds_patterns_and_allowlist_are_valid(self) -> "PiiSettings":
        check_pii_settings(self)
        return self


def check_pii_settings(pii: PiiSettings) -> None:
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


class SecretSettings(_Section):
    """``[tool.llmops.secrets]``: secrets are always looked for and masked; this widens or narrows the rules.

    ``backend = "detect-secrets"`` adds Yelp's detect-secrets format plugins to the
    built-in rules (``pip install 'pytest-llmops[secrets]'``); ``allowlist`` lets
    documented example keys through (exact values or ``{pattern = REGEX}``).
    """

    backend: Literal["builtin", "detect-secrets"] = "builtin"
    allowlist: list[str | dict[str, str]] = Field(default_factory=list)

    @field_validator("allowlist", mode="before")
    @classmethod
    def _allowlist_entries(cls, value: Any) -> Any:
        return check_allow_entries(value)

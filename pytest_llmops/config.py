"""Settings from ``[tool.llmops]`` in pyproject.toml, with command-line overrides on top.

One model serves every front (pytest, the CLI, the monitor), so a threshold means the
same thing in CI and in production. Secrets never live here: a target names the
environment variable that holds its key.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError
from .pii.allowlist import check_allow_entries
from .pii.phones import DEFAULT_REGIONS, check_regions
from .pii.settings_check import check_pii_settings

DEFAULT_ERROR_PHRASES = [
    "an error occurred",
    "an error has occurred",
    "internal server error",
    "something went wrong",
    "service unavailable",
    "traceback (most recent call last)",
]


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


class Settings(_Section):
    """Everything ``[tool.llmops]`` may hold. Unknown keys are errors, as in case files."""

    cases_dir: str = "eval_cases"
    target: str = "stub"
    concurrency: int = Field(default=8, ge=1, le=1024)
    max_latency_ms: float = Field(default=5000, gt=0)
    timeout_s: float = Field(default=30, gt=0)
    error_phrases: list[str] = Field(default_factory=lambda: list(DEFAULT_ERROR_PHRASES))
    pii: PiiSettings = Field(default_factory=PiiSettings)
    targets: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # Sections owned by the gate, monitor and privacy modules; they validate their own part.
    gate: dict[str, Any] = Field(default_factory=dict)
    monitor: dict[str, Any] = Field(default_factory=dict)
    privacy: dict[str, Any] = Field(default_factory=dict)

    root: Path = Field(default_factory=Path.cwd, exclude=True)

    @functools.cached_property
    def cases_path(self) -> Path:
        """The resolved cases folder (cached: items ask for it once each, and resolving touches the disk)."""
        return (self.root / self.cases_dir).resolve()


def _format_errors(source: str, exc: ValidationError) -> str:
    lines = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            lines.append(f"{source}: unknown key {where!r}")
        else:
            lines.append(f"{source}: {where}: {error['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding a pyproject.toml, else ``start``."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return start


def read_tool_table(root: Path) -> dict[str, Any]:
    """The raw ``[tool.llmops]`` table of ``root/pyproject.toml`` (empty when there is none)."""
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return {}
    try:
        with pyproject.open("rb") as handle:
            document = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{pyproject}: cannot read: {exc}") from None
    table = document.get("tool", {}).get("llmops", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.llmops] must be a table")
    return table


def load_settings(root: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Settings for the project at ``root``; ``overrides`` (from the command line) win where not None."""
    root = (root or find_project_root()).resolve()
    table = dict(read_tool_table(root))
    for key, value in (overrides or {}).items():
        if value is not None:
            table[key] = value
    try:
        return Settings.model_validate({**table, "root": root})
    except ValidationError as exc:
        raise ConfigError(_format_errors(f"{root / 'pyproject.toml'} [tool.llmops]", exc)) from None

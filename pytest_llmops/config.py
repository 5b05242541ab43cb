"""Settings from ``[tool.llmops]`` in pyproject.toml, with command-line overrides on top.

One model serves every front (pytest, the CLI, the monitor), so a threshold means the
same thing in CI and in production. Each feature owns a typed section, defined beside
the feature (``pii/settings.py``, ``monitor/settings.py``, ``privacy/settings.py``,
``release/settings.py``) and validated here with the rest of the file, so a typo
anywhere stops the run before anything is sent. Secrets never live here: a target
names the environment variable that holds its key.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .cases import DEFAULT_MAX_CASE_FILE_BYTES, DEFAULT_MAX_CASES_PER_FILE
from .checks.names import DEFAULT_ERROR_PHRASES
from .checks.settings import EmbeddingSettings, JudgeSettings, LeakSettings, ModelPrice, RefusalSettings
from .errors import ConfigError
from .monitor.settings import MonitorSettings
from .pii.settings import PiiPattern, PiiSettings, SecretSettings
from .privacy.settings import PrivacySettings
from .release.settings import GateSettings
from .validation import config_problems

#: sections whose problems are reported under their own table name, e.g. ``[tool.llmops.gate]``
FEATURE_TABLES = ("gate", "monitor", "privacy", "secrets", "leaks", "refusal", "judge", "embeddings", "prices")
#: the largest reply a target may send (on the wire and unpacked): a few MB, far above any chat reply
DEFAULT_MAX_REPLY_BYTES = 5_000_000


class Settings(BaseModel):
    """Everything ``[tool.llmops]`` may hold. Unknown keys are errors, as in case files."""

    model_config = ConfigDict(extra="forbid")

    cases_dir: str = "eval_cases"
    target: str = "stub"
    concurrency: int = Field(default=8, ge=1, le=1024)
    max_latency_ms: float = Field(default=5000, gt=0)
    timeout_s: float = Field(default=30, gt=0)
    max_reply_bytes: int = Field(default=DEFAULT_MAX_REPLY_BYTES, ge=1)
    max_case_file_bytes: int = Field(default=DEFAULT_MAX_CASE_FILE_BYTES, ge=1)
    max_cases_per_file: int = Field(default=DEFAULT_MAX_CASES_PER_FILE, ge=1)
    error_phrases: list[str] = Field(default_factory=lambda: list(DEFAULT_ERROR_PHRASES))
    pii: PiiSettings = Field(default_factory=PiiSettings)
    secrets: SecretSettings = Field(default_factory=SecretSettings)
    leaks: LeakSettings = Field(default_factory=LeakSettings)
    refusal: RefusalSettings = Field(default_factory=RefusalSettings)
    targets: dict[str, dict[str, Any]] = Field(default_factory=dict)  # each kind validates its own options
    gate: GateSettings = Field(default_factory=GateSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    judge: JudgeSettings = Field(default_factory=JudgeSettings)
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    prices: dict[str, ModelPrice] = Field(default_factory=dict)  # model name -> USD per million tokens
    cache_dir: str = ".llmops-cache"  # judge verdicts and embeddings, reused by unchanged reruns
    max_tool_rounds: int = Field(default=3, ge=1, le=20)  # bot replies per turn while it calls tools

    root: Path = Field(default_factory=Path.cwd, exclude=True)

    @functools.cached_property
    def cases_path(self) -> Path:
        """The resolved cases folder (cached: items ask for it once each, and resolving touches the disk)."""
        return (self.root / self.cases_dir).resolve()

    @property
    def cache_path(self) -> Path:
        """The cache folder, resolved against the project root."""
        return (self.root / self.cache_dir).resolve()

    @property
    def pyproject(self) -> Path:
        """The file these settings come from (which may not exist: then every default applies)."""
        return self.root / "pyproject.toml"


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


def load_settings(root: Path | None = None, overrides: dict[str, Any] | None = None,
                  flags: dict[str, str] | None = None) -> Settings:
    """Settings for the project at ``root``; ``overrides`` (from the command line) win where not None.

    ``flags`` names the option each override was typed as (``{"concurrency":
    "--llmops-concurrency"}``), so a bad value given there is blamed on that option, not
    on a file the user never wrote it in.
    """
    root = (root or find_project_root()).resolve()
    table = dict(read_tool_table(root))
    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    table.update(given)
    try:
        return Settings.model_validate({**table, "root": root})
    except ValidationError as exc:
        typed = {key: flag for key, flag in (flags or {}).items() if key in given}
        raise ConfigError(config_problems(root / "pyproject.toml", exc, FEATURE_TABLES, model=Settings,
                                          flags=typed)) from None


__all__ = ["Settings", "PiiSettings", "PiiPattern", "SecretSettings", "LeakSettings", "RefusalSettings",
           "GateSettings", "MonitorSettings", "PrivacySettings", "JudgeSettings", "EmbeddingSettings", "ModelPrice",
           "load_settings", "find_project_root", "read_tool_table", "DEFAULT_ERROR_PHRASES"]

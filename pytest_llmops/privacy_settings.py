"""``[tool.llmops.privacy]``: where personal data is stored, for how long, and how user ids are hidden.

config.Settings keeps this section as a free-form dict so the core does not depend on
the privacy feature; this module validates it (unknown keys are errors, as everywhere).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .config import Settings, _format_errors
from .errors import ConfigError

DEFAULT_KEY_ENV = "LLMOPS_PSEUDONYM_KEY"


class PrivacySettings(BaseModel):
    """Store paths (relative to the project root), retention and pseudonymisation."""

    model_config = ConfigDict(extra="forbid")

    retention_days: int | None = Field(default=None, ge=1)
    feedback: list[str] = Field(default_factory=lambda: ["feedback.jsonl"])
    monitor_logs: list[str] = Field(default_factory=lambda: ["chatbot_monitoring.log"])
    results: list[str] = Field(default_factory=lambda: ["*results*.json"])
    cases: list[str] | None = None  # default: every YAML file under cases_dir
    audit_log: str = "privacy_audit.jsonl"
    pseudonymize: bool = False
    pseudonym_key_env: str = DEFAULT_KEY_ENV

    @field_validator("pseudonym_key_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value


def privacy_settings(settings: Settings) -> PrivacySettings:
    """The validated ``[tool.llmops.privacy]`` section of ``settings``."""
    try:
        return PrivacySettings.model_validate(settings.privacy)
    except ValidationError as exc:
        source = f"{Path(settings.root) / 'pyproject.toml'} [tool.llmops.privacy]"
        raise ConfigError(_format_errors(source, exc)) from None


def privacy_settings_from(table: dict[str, Any], source: str = "[tool.llmops.privacy]") -> PrivacySettings:
    """Validate a raw privacy table (for callers that hold no Settings)."""
    try:
        return PrivacySettings.model_validate(table)
    except ValidationError as exc:
        raise ConfigError(_format_errors(source, exc)) from None

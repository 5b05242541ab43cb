"""``[tool.llmops.privacy]``: where personal data is stored, for how long, and how user ids are hidden.

config.Settings keeps this section as a free-form dict so the core does not depend on
the privacy feature; this module validates it (unknown keys are errors, as everywhere).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..config import Settings, _format_errors
from ..errors import ConfigError

DEFAULT_KEY_ENV = "LLMOPS_PSEUDONYM_KEY"
DEFAULT_MONITOR_LOG = "chatbot_monitoring.log"


class PrivacySettings(BaseModel):
    """Store paths (relative to the project root), retention and pseudonymisation."""

    model_config = ConfigDict(extra="forbid")

    retention_days: int | None = Field(default=None, ge=1)
    feedback: list[str] = Field(default_factory=lambda: ["feedback.jsonl"])
    monitor_logs: list[str] | None = None  # default: [tool.llmops.monitor] log_file, else chatbot_monitoring.log
    results: list[str] = Field(default_factory=lambda: ["*results*.json", "reports/**/*.json"])
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


def monitor_log_patterns(settings: Settings, privacy: PrivacySettings) -> list[str]:
    """The monitor logs to cover: as configured here, else where the monitor writes its log."""
    if privacy.monitor_logs is not None:
        return privacy.monitor_logs
    log_file = settings.monitor.get("log_file", DEFAULT_MONITOR_LOG)
    return [log_file] if isinstance(log_file, str) and log_file else []

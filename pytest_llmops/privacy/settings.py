"""``[tool.llmops.privacy]``: where personal data is stored, for how long, and how user ids are hidden.

Part of :class:`pytest_llmops.config.Settings`, validated with the rest of the file
(unknown keys are errors, as everywhere).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from ..config import Settings

DEFAULT_KEY_ENV = "LLMOPS_PSEUDONYM_KEY"


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


def monitor_log_patterns(settings: "Settings") -> list[str]:
    """The monitor logs to cover: as configured here, else where the monitor writes its log."""
    if settings.privacy.monitor_logs is not None:
        return settings.privacy.monitor_logs
    log_file = settings.monitor.log_file
    return [log_file] if log_file else []

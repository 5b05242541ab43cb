"""``[tool.llmops.monitor]``: where the log goes, how records are read, when to fail or alert.

Part of :class:`pytest_llmops.config.Settings` (validated with the rest of the file);
:func:`monitor_settings` layers the ``llmops monitor`` flags on top.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..cases import Expect
from ..checks.names import CATEGORIES
from ..errors import ConfigError
from ..validation import with_overrides

if TYPE_CHECKING:
    from ..config import Settings

DEFAULT_LOG_FILE = "chatbot_monitoring.log"
#: the fields of an interaction record, as read from JSON Lines (before any mapping)
RECORD_FIELDS = ("timestamp", "conversation_id", "user_id", "user", "reply", "latency_ms", "status", "error",
                 "system", "target")
#: what ``fail_on`` and ``alert_on`` may name, besides the finding categories
EXTRA_CONDITIONS = ("bad_input", "any")


def parse_condition(name: Any) -> str:
    """One ``fail_on``/``alert_on`` name, checked: a finding category, ``bad_input`` or ``any``."""
    if not isinstance(name, str) or name.strip() not in (*CATEGORIES, *EXTRA_CONDITIONS):
        raise ValueError(f"unknown condition {name!r}; choose from {', '.join((*CATEGORIES, *EXTRA_CONDITIONS))}")
    return name.strip()


def parse_conditions(text: str) -> list[str]:
    """``"pii,error"`` as a checked list."""
    return [parse_condition(part) for part in text.split(",") if part.strip()]


def validate_field_map(mapping: dict[str, str]) -> dict[str, str]:
    """A record field -> dotted path mapping, checked: known fields, well-formed paths."""
    for name, path in mapping.items():
        if name not in RECORD_FIELDS:
            raise ValueError(f"unknown record field {name!r}; known: {', '.join(RECORD_FIELDS)}")
        if not isinstance(path, str) or not path or any(not part for part in path.split(".")):
            raise ValueError(f"field {name!r}: {path!r} is not a dotted path like 'response.text'")
    return mapping


#: Expect keys a case file may use but the monitor cannot check
MONITOR_UNSUPPORTED_CHECKS = ("judge", "similar", "tool_calls", "no_tool_calls", "max_tokens")


class MonitorSettings(BaseModel):
    """``[tool.llmops.monitor]``. Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    log_file: str | None = DEFAULT_LOG_FILE  # relative to the project root; None: no log file
    console: bool = True  # the CLI prints each interaction's JSON line on stdout
    log_max_bytes: int | None = Field(default=None, ge=1024)  # rotate the log to .1, .2 ... at this size
    log_backups: int = Field(default=5, ge=0, le=1000)
    fields: dict[str, str] = Field(default_factory=dict)  # record field -> dotted path in the input
    max_line_bytes: int = Field(default=1_048_576, ge=64)
    expect: Expect | None = None  # extra rules for every reply, as in a case file's `expect`
    summary_every_s: float | None = Field(default=None, gt=0)
    fail_on: list[str] = Field(default_factory=list)
    alert_webhook: str | None = None
    alert_webhook_env: str | None = None  # name of an environment variable holding the URL (it may hold a token)
    alert_on: list[str] = Field(default_factory=lambda: ["pii", "secret", "prompt_leak", "error"])
    alert_cooldown_s: float = Field(default=60, ge=0)
    alert_retries: int = Field(default=3, ge=0, le=20)
    alert_timeout_s: float = Field(default=5, gt=0)
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, mapping: dict[str, str]) -> dict[str, str]:
        return validate_field_map(mapping)

    @field_validator("expect")
    @classmethod
    def _checks_the_monitor_can_run(cls, expect: Expect | None) -> Expect | None:
        """A logged interaction has no tool calls or token counts, and no reply is sent on to a judge or embedder."""
        unsupported = [name for name in MONITOR_UNSUPPORTED_CHECKS if expect is not None and getattr(expect, name)]
        if unsupported:
            raise ValueError(f"{', '.join(unsupported)} cannot run in the monitor (it has no tool calls or token "
                             "counts, and sends no reply on to a judge or embedder); use them in case files")
        return expect

    @field_validator("fail_on", "alert_on", mode="before")
    @classmethod
    def _conditions(cls, value: Any) -> Any:
        return parse_conditions(value) if isinstance(value, str) else [parse_condition(v) for v in value]


def monitor_settings(settings: "Settings", overrides: dict[str, Any] | None = None,
                     flags: dict[str, str] | None = None) -> MonitorSettings:
    """The monitor section of ``settings`` with command-line ``overrides`` (None: not given) on top,
    and the webhook URL read from ``alert_webhook_env`` when only that is set. ``flags`` names
    the option each override came from, for error messages."""
    options = with_overrides(settings.monitor, overrides, settings.pyproject, "monitor", flags)
    if options.alert_webhook is None and options.alert_webhook_env:
        url = os.environ.get(options.alert_webhook_env)
        if not url:
            raise ConfigError(f"[tool.llmops.monitor] alert_webhook_env: the environment variable "
                              f"{options.alert_webhook_env} that should hold the webhook URL is not set")
        options = options.model_copy(update={"alert_webhook": url})
    return options

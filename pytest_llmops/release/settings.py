"""``[tool.llmops.gate]``: the thresholds a run must meet to be promoted.

Part of :class:`pytest_llmops.config.Settings`, validated with the rest of the file;
:func:`gate_settings` layers the ``llmops gate`` / ``llmops promote`` flags on top.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from ..validation import with_overrides

if TYPE_CHECKING:
    from ..config import Settings


class GateSettings(BaseModel):
    """``[tool.llmops.gate]``: every threshold a run must meet. Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    min_pass_rate: float = Field(default=1.0, ge=0, le=1)
    max_pii_findings: int = Field(default=0, ge=0)
    max_error_rate: float = Field(default=0.0, ge=0, le=1)
    #: None: the per-reply limit ``[tool.llmops] max_latency_ms``
    max_p95_latency_ms: float | None = Field(default=None, gt=0)
    max_errors: int = Field(default=0, ge=0)
    min_cases: int = Field(default=1, ge=1)
    #: p95 may grow by this much over the baseline's ...
    max_p95_regression_pct: float = Field(default=20.0, ge=0)
    #: ... and by at least this many ms before it counts (sub-millisecond noise is not a regression)
    p95_regression_floor_ms: float = Field(default=50.0, ge=0)
    #: the bot's tokens and cost over the whole run (judge and embedding tokens are not counted); None: no limit
    max_cost_usd: float | None = Field(default=None, ge=0)
    max_tokens_total: int | None = Field(default=None, ge=0)
    #: the bot's cost per turn (tokens per turn when either run has no prices) may grow this much over the baseline
    max_cost_regression_pct: float | None = Field(default=20.0, ge=0)
    #: file the gate compares against by default, and that ``llmops promote`` writes
    baseline_file: str | None = None


def gate_settings(settings: "Settings", overrides: dict[str, Any] | None = None,
                  flags: dict[str, str] | None = None) -> GateSettings:
    """The gate section of ``settings`` with command-line ``overrides`` (None values ignored) on top;
    ``max_p95_latency_ms`` defaults to the per-reply limit ``[tool.llmops] max_latency_ms``.
    ``flags`` names the option each override came from, for error messages."""
    gate = with_overrides(settings.gate, overrides, settings.pyproject, "gate", flags)
    if gate.max_p95_latency_ms is None:
        gate = gate.model_copy(update={"max_p95_latency_ms": settings.max_latency_ms})
    return gate

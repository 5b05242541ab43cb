"""Repeated replays with a pass threshold: chatbots answer differently each time.

A case with ``repeat: N`` (or a run with ``--llmops-repeat N``) is replayed N times,
each run a separate job on the run's replay pool, so runs go concurrently within the
concurrency limit. The case passes when at least ``min_pass`` runs (or the share
``min_pass_rate``) pass. This module decides the plan; :mod:`pytest_llmops.record`
combines the runs into the case's record.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .cases import LoadedCase

EPSILON = 1e-9


@dataclass(frozen=True)
class RepeatPlan:
    """How many runs a case gets and how many of them must pass."""

    runs: int = 1
    required: int = 1

    @property
    def repeated(self) -> bool:
        return self.runs > 1

    def describe(self) -> str:
        return f"{self.required} of {self.runs}"


def plan_for(case: LoadedCase, override: int | None = None) -> RepeatPlan:
    """The case's plan; ``override`` (``--llmops-repeat``) replaces every case's count.

    Under an override a case's ``min_pass: K`` of its own ``repeat: M`` keeps its
    share: K/M of the new count, rounded up. Without a threshold every run must pass.
    """
    runs = override or case.repeat
    if case.min_pass is not None:
        required = case.min_pass if override is None else math.ceil(case.min_pass / case.repeat * runs - EPSILON)
    elif case.min_pass_rate is not None:
        required = math.ceil(case.min_pass_rate * runs - EPSILON)
    else:
        required = runs
    return RepeatPlan(runs=runs, required=max(1, min(required, runs)))


__all__ = ["RepeatPlan", "plan_for"]

"""Repeated replays with a pass threshold: chatbots answer differently each time.

A case with ``repeat: N`` (or a run with ``--llmops-repeat N``) is replayed N times,
each run a separate job on the run's replay pool, so runs go concurrently within the
concurrency limit. The case passes when at least ``min_pass`` runs (or the share
``min_pass_rate``) pass. The combined record keeps the shape of a single run's record
(the run shown is the first failing one, or the first one when the case passes) and
adds a ``repeat`` field with the whole distribution: which run failed which check and
the latency spread of every turn across runs.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from html import escape
from typing import Any, Callable, Hashable

from .cases import LoadedCase
from .checks.checker import excerpt

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


def job_keys(nodeid: str, plan: RepeatPlan) -> list[Hashable]:
    """Replay pool keys: the node id for a single run, ``(nodeid, run)`` for each of several."""
    if not plan.repeated:
        return [nodeid]
    return [(nodeid, run) for run in range(1, plan.runs + 1)]


def replay_jobs(nodeid: str, plan: RepeatPlan, replay_run: Callable[[int], Any]) -> list[tuple[Hashable, Callable[[], Any]]]:
    """(key, job) for every run of a case; ``replay_run(run)`` replays run number ``run`` (1-based)."""
    return [(key, (lambda run=run: replay_run(run))) for run, key in enumerate(job_keys(nodeid, plan), start=1)]


def _failed_checks(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"turn": turn["turn"], "check": check["check"], "actual": check["actual"]}
            for turn in record["turns"] for check in turn["checks"] if not check["passed"]]


def _spread(values: list[float]) -> dict[str, float]:
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3),
            "max": round(max(values), 3), "runs": len(values)}


def _latency_spread(records: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per turn (as a string key, JSON-friendly): min, median and max latency over the runs that got there."""
    by_turn: dict[int, list[float]] = {}
    for record in records:
        for turn in record["turns"]:
            if turn["latency_ms"] is not None:
                by_turn.setdefault(turn["turn"], []).append(turn["latency_ms"])
    return {str(turn): _spread(values) for turn, values in sorted(by_turn.items())}


def combine(records: list[dict[str, Any]], plan: RepeatPlan) -> dict[str, Any]:
    """One record for all runs of a case; a single run's record is returned unchanged."""
    if not plan.repeated:
        return records[0]
    passed_runs = sum(1 for record in records if record["passed"])
    passed = passed_runs >= plan.required
    shown = next((i for i, r in enumerate(records) if not r["passed"]), 0) if not passed else \
        next((i for i, r in enumerate(records) if r["passed"]), 0)
    combined = dict(records[shown])
    combined["passed"] = passed
    combined["repeat"] = {
        "runs": plan.runs,
        "min_pass": plan.required,
        "passed_runs": passed_runs,
        "shown_run": shown + 1,
        "results": [{"run": index, "passed": record["passed"], "failed_checks": _failed_checks(record),
                     "skipped_turns": record["skipped_turns"],
                     "latency_ms": [turn["latency_ms"] for turn in record["turns"]]}
                    for index, record in enumerate(records, start=1)],
        "latency_ms": _latency_spread(records),
    }
    return combined


def _run_line(result: dict[str, Any]) -> str:
    if result["passed"]:
        return f"  run {result['run']}: passed"
    failed = ", ".join(f"turn {f['turn']} {f['check']} ({excerpt(f['actual'], 160)})" for f in result["failed_checks"])
    if result["skipped_turns"]:
        failed += f"; {result['skipped_turns']} turn(s) not sent"
    return f"  run {result['run']}: FAILED {failed}"


def distribution_lines(record: dict[str, Any]) -> list[str]:
    """The repeat distribution for the failure text (empty for a case run once)."""
    repeat = record.get("repeat")
    if not repeat:
        return []
    verdict = "enough" if record["passed"] else "not enough"
    lines = ["", f"repeated {repeat['runs']} times: {repeat['passed_runs']} passed, {verdict} "
                 f"(min_pass {repeat['min_pass']} of {repeat['runs']})"]
    lines += [_run_line(result) for result in repeat["results"]]
    for turn, spread in repeat["latency_ms"].items():
        lines.append(f"  turn {turn} latency over {spread['runs']} run(s): min {spread['min']:.0f} ms, "
                     f"median {spread['median']:.0f} ms, max {spread['max']:.0f} ms")
    lines.append(f"showing run {repeat['shown_run']}:")
    return lines


def junit_properties(record: dict[str, Any]) -> list[tuple[str, Any]]:
    """JUnit properties for the distribution: counts, each run's failed checks, latency spread."""
    repeat = record.get("repeat")
    if not repeat:
        return []
    properties: list[tuple[str, Any]] = [("llmops_repeat_runs", repeat["runs"]),
                                         ("llmops_repeat_min_pass", repeat["min_pass"]),
                                         ("llmops_repeat_passed_runs", repeat["passed_runs"])]
    for result in repeat["results"]:
        failed = ",".join(f"turn{f['turn']}:{f['check']}" for f in result["failed_checks"])
        properties.append((f"llmops_run_{result['run']}_failed_checks", failed))
    for turn, spread in repeat["latency_ms"].items():
        for name in ("min", "median", "max"):
            properties.append((f"llmops_turn_{turn}_latency_ms_{name}", spread[name]))
    return properties


def summary_line(record: dict[str, Any]) -> str | None:
    """One line for reports: '2/3 runs passed (min_pass 2): run 3 failed turn 1 no_pii'."""
    repeat = record.get("repeat")
    if not repeat:
        return None
    failures = [line.strip() for line in map(_run_line, repeat["results"]) if "FAILED" in line]
    tail = f": {'; '.join(failures)}" if failures else ""
    return excerpt(f"{repeat['passed_runs']}/{repeat['runs']} runs passed (min_pass {repeat['min_pass']}){tail}", 500)


def _run_row(result: dict[str, Any]) -> str:
    failed = ", ".join(f"turn {f['turn']} {f['check']}: {f['actual']}" for f in result["failed_checks"])
    latencies = ", ".join("-" if ms is None else f"{ms:.1f} ms" for ms in result["latency_ms"])
    state = "passed" if result["passed"] else "failed"
    return (f'<tr class="{state}"><td>run {int(result["run"])}</td><td>{"pass" if result["passed"] else "FAIL"}</td>'
            f"<td>{escape(failed)}</td><td>{escape(latencies)}</td></tr>")


def repeat_html(record: dict[str, Any]) -> str:
    """The distribution as an HTML block for the report (empty for a case run once); every text escaped."""
    repeat = record.get("repeat")
    if not repeat:
        return ""
    verdict = "passed" if record["passed"] else "FAILED"
    spread = "; ".join(f"turn {escape(turn)}: min {s['min']:.1f}, median {s['median']:.1f}, max {s['max']:.1f} ms"
                       for turn, s in repeat["latency_ms"].items())
    return (f'<div class="llmops-repeat"><b>{verdict}: {int(repeat["passed_runs"])} of {int(repeat["runs"])} runs '
            f'passed, {int(repeat["min_pass"])} needed.</b> Latency across runs: {spread or "-"}. '
            f'The conversation below is run {int(repeat["shown_run"])}.'
            '<table class="llmops-checks"><tr><th>run</th><th>result</th><th>failed checks</th>'
            f'<th>latency per turn</th></tr>{"".join(map(_run_row, repeat["results"]))}</table></div>')


__all__ = ["repeat_html", "RepeatPlan", "plan_for", "job_keys", "replay_jobs", "combine", "distribution_lines",
           "junit_properties", "summary_line"]

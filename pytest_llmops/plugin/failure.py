"""What pytest shows of a case: the failure text and the JUnit XML properties, from its record."""

from __future__ import annotations

from typing import Any

from ..results import CaseResult, RunRecord
from ..text import excerpt, terminal_safe_lines


def _run_line(run: RunRecord) -> str:
    if run.passed:
        return f"  run {run.run}: passed"
    failed = ", ".join(f"turn {f.turn} {f.check} ({excerpt(f.actual, 160)})" for f in run.failed_checks)
    if run.skipped_turns:
        failed += f"; {run.skipped_turns} turn(s) not sent"
    return f"  run {run.run}: FAILED {failed}"


def distribution_lines(record: CaseResult) -> list[str]:
    """The repeat distribution for the failure text (empty for a case run once)."""
    repeat = record.repeat
    if repeat is None:
        return []
    verdict = "enough" if record.passed else "not enough"
    lines = ["", f"repeated {repeat.runs} times: {repeat.passed_runs} passed, {verdict} "
                 f"(min_pass {repeat.min_pass} of {repeat.runs})"]
    lines += [_run_line(run) for run in repeat.results]
    for turn, spread in repeat.latency_ms.items():
        lines.append(f"  turn {turn} latency over {spread.runs} run(s): min {spread.min:.0f} ms, "
                     f"median {spread.median:.0f} ms, max {spread.max:.0f} ms")
    lines.append(f"showing run {repeat.shown_run}:")
    return lines


def failure_text(record: CaseResult) -> str:
    """Every failed check of every turn, PII already masked; for a repeated case, the distribution first.

    Text from the chatbot or a case file may hold terminal escape sequences: every line is
    written with control characters escaped (the user message and reply are ``repr``s already).
    """
    failed = record.failed_checks()
    lines = [f"{record.nodeid}: {len(failed)} check(s) failed (target: {record.target.name})"]
    lines += distribution_lines(record)
    for turn in record.turns:
        if turn.passed:
            continue
        lines.append("")
        lines.append(f"turn {turn.turn}: user: {excerpt(turn.user, 200)!r}")
        if turn.reply is not None:
            lines.append(f"  reply ({turn.latency_ms or 0:.0f} ms): {excerpt(turn.reply)!r}")
        for check in turn.failed_checks():
            lines.append(f"  FAILED {check.check}: expected {check.expected}; got {check.actual}")
    if record.skipped_turns:
        lines.append("")
        lines.append(f"{record.skipped_turns} later turn(s) not sent: the conversation broke off at a fault "
                     "or a failed save")
    return terminal_safe_lines("\n".join(lines))


def junit_properties(record: CaseResult) -> list[tuple[str, Any]]:
    """JUnit XML properties: the target, each turn's latency and failed checks, the repeat distribution."""
    properties: list[tuple[str, Any]] = [("llmops_target", record.target.name)]
    for turn in record.turns:
        prefix = f"llmops_turn_{turn.turn}"
        properties.append((f"{prefix}_latency_ms", turn.latency_ms))
        if turn.ttft_ms is not None:  # streaming targets: time to first token
            properties.append((f"{prefix}_ttft_ms", turn.ttft_ms))
        if turn.retries:  # 429/503 retries the reply needed
            properties.append((f"{prefix}_retries", turn.retries))
        properties.append((f"{prefix}_failed_checks", ",".join(check.check for check in turn.failed_checks())))
    repeat = record.repeat
    if repeat is not None:
        properties += [("llmops_repeat_runs", repeat.runs), ("llmops_repeat_min_pass", repeat.min_pass),
                       ("llmops_repeat_passed_runs", repeat.passed_runs)]
        for run in repeat.results:
            failed = ",".join(f"turn{f.turn}:{f.check}" for f in run.failed_checks)
            properties.append((f"llmops_run_{run.run}_failed_checks", failed))
        for turn_number, spread in repeat.latency_ms.items():
            for name in ("min", "median", "max"):
                properties.append((f"llmops_turn_{turn_number}_latency_ms_{name}", getattr(spread, name)))
    return properties

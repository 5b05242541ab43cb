"""What pytest shows of a case: the failure text and the JUnit XML properties, from its record."""

from __future__ import annotations

from typing import Any

from ..results import TOKEN_ACCOUNTS, CaseResult, RunRecord
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
        if turn.tool_calls:
            calls = ", ".join(f"{call['name']}({call['arguments']})" for call in turn.tool_calls)
            lines.append(f"  tool calls: {excerpt(calls, 300)}")
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
        if turn.tokens is not None and turn.tokens.bot is not None:
            properties.append((f"{prefix}_tokens", turn.tokens.bot.total_tokens))
        for check in turn.checks:  # a judge's verdict, a similarity score
            if check.score is not None:
                properties.append((f"{prefix}_{check.check}_score", check.score))
            if check.reason:
                properties.append((f"{prefix}_{check.check}_reason", check.reason))
    properties += token_properties(record)
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


def token_properties(record: CaseResult) -> list[tuple[str, Any]]:
    """The case's tokens and cost per account (every run): ``llmops_tokens_bot``, ``llmops_cost_usd_judge``, ..."""
    properties: list[tuple[str, Any]] = []
    for account in TOKEN_ACCOUNTS:
        usage = getattr(record.tokens, account, None) if record.tokens is not None else None
        if usage is None:
            continue
        properties += [(f"llmops_tokens_{account}", usage.total_tokens),
                       (f"llmops_tokens_{account}_prompt", usage.prompt_tokens),
                       (f"llmops_tokens_{account}_completion", usage.completion_tokens)]
        if usage.cost_usd is not None:
            properties.append((f"llmops_cost_usd_{account}", usage.cost_usd))
    return properties

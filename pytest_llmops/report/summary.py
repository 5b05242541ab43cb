"""The run summary reviewers read first: pass/fail, latency percentiles, failed checks, PII, errors, probes.

Pure functions over case results, so the terminal, the HTML report and the results JSON
show the same numbers.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Iterable, Sequence

from ..checks.names import is_error_check
from ..probes.library import PROBE_CATEGORIES
from ..results import (TOKEN_ACCOUNTS, CaseResult, LatencySummary, ProbeTally, RunResults, Summary, TokenUsage, Tokens,
                       TurnRecord, sum_tokens)
from ..text import format_ms, format_usd


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of already-sorted values, interpolating between ranks."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    position = (len(sorted_values) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    fraction = position - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction


def latency_summary(latencies: Iterable[float]) -> LatencySummary:
    """p50, p95, p99 and max of the latencies (milliseconds, rounded to 0.001); None when there are none."""
    ordered = sorted(latencies)
    if not ordered:
        return LatencySummary()
    return LatencySummary(**{f"p{q}": round(percentile(ordered, q), 3) for q in (50, 95, 99)},
                          max=round(ordered[-1], 3))


def is_error_turn(turn: TurnRecord) -> bool:
    """A turn counts as an error when the chatbot faulted or its reply holds an error phrase."""
    if turn.reply is None:
        return True
    return any(is_error_check(check.check) and not check.passed for check in turn.checks)


def probe_tallies(cases: Sequence[CaseResult]) -> dict[str, ProbeTally]:
    """Per probe category (library order): how many probes ran and how many held; empty without probes."""
    tallies: dict[str, ProbeTally] = {}
    for case in cases:
        if case.probe_category is None:
            continue
        tally = tallies.setdefault(case.probe_category, ProbeTally())
        if case.outcome == "skipped":
            tally.skipped += 1
            continue
        tally.run += 1
        tally.held += case.outcome == "passed"
        tally.failed += case.outcome == "failed"
        tally.errors += case.outcome == "error"
    order = {category: index for index, category in enumerate(PROBE_CATEGORIES)}
    return dict(sorted(tallies.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))


def probe_lines(summary: Summary) -> list[str]:
    """``system-prompt: 11/12 held`` for each probe category that ran (the terminal and HTML say the same)."""
    lines = []
    for category, tally in summary.probes.items():
        extra = [f"{tally.errors} errors"] * bool(tally.errors) + [f"{tally.skipped} skipped"] * bool(tally.skipped)
        lines.append(f"{category}: {tally.held}/{tally.run} held" + (f" ({', '.join(extra)})" if extra else ""))
    return lines


def build_summary(cases: Sequence[CaseResult], collection_errors: int = 0,
                  pii_kinds: Iterable[str] = ()) -> Summary:
    """The summary of a run from its case results (``pii_kinds``: configured kinds, listed even at 0).

    Every run of a repeated case counts: its turns, latencies and failed checks.
    """
    outcomes = Counter(case.outcome for case in cases)
    turns = [turn for case in cases for turn in case.all_turns()]
    checks_failed: Counter[str] = Counter()
    pii_findings: Counter[str] = Counter({kind: 0 for kind in pii_kinds})
    for turn in turns:
        for check in turn.checks:
            checks_failed[check.check] += 0 if check.passed else 1
            for kind in check.pii_kinds:
                pii_findings[kind] += 1
    ran = len(cases) - outcomes["skipped"]
    error_turns = sum(1 for turn in turns if is_error_turn(turn))
    return Summary(
        cases=len(cases),
        passed=outcomes["passed"],
        failed=outcomes["failed"],
        skipped=outcomes["skipped"],
        errors=collection_errors + outcomes["error"],
        pass_rate=round(outcomes["passed"] / ran, 6) if ran else 0.0,
        turns=len(turns),
        error_rate=round(error_turns / len(turns), 6) if turns else 0.0,
        latency_ms=latency_summary(turn.latency_ms for turn in turns
                                   if turn.reply is not None and turn.latency_ms is not None),
        checks_failed=dict(sorted(checks_failed.items())),
        pii_findings=dict(sorted(pii_findings.items())),
        probes=probe_tallies(cases),
        tokens=sum_tokens(case.tokens for case in cases) or Tokens(),
    )


def describe_usage(usage: TokenUsage) -> str:
    """One account's tokens and cost: ``1,234 tokens (1,000 in, 234 out), $0.0012``."""
    text = f"{usage.total_tokens:,} tokens ({usage.prompt_tokens:,} in, {usage.completion_tokens:,} out)"
    if usage.cost_usd is None:
        return f"{text}, no price for {', '.join(usage.unpriced_models) or 'the model'}"
    return f"{text}, {format_usd(usage.cost_usd)}"


#: cases named on the terminal summary's "most tokens" line
COSTLIEST_SHOWN = 3


def costliest_cases(cases: Sequence[CaseResult], limit: int = COSTLIEST_SHOWN) -> str | None:
    """The cases whose bot spent the most tokens, with their cost: ``a.yaml::x 412 tokens $0.0012, ...``."""
    spent = [(case.tokens.bot, case.nodeid) for case in cases if case.tokens is not None and case.tokens.bot]
    if not spent:
        return None
    spent.sort(key=lambda item: (-item[0].total_tokens, item[1]))
    return ", ".join(f"{nodeid} {usage.total_tokens:,} tokens"
                     + ("" if usage.cost_usd is None else f" {format_usd(usage.cost_usd)}")
                     for usage, nodeid in spent[:limit])


def describe_tokens(tokens: Tokens | None) -> str:
    """Tokens and cost per account, ``; ``-separated: ``bot 1,234 tokens (...), $0.0012; judge ...``."""
    parts = [f"{account} {describe_usage(getattr(tokens, account))}" for account in TOKEN_ACCOUNTS
             if tokens is not None and getattr(tokens, account) is not None]
    return "; ".join(parts) if parts else "none reported"


def run_passed(summary: Summary) -> bool:
    """The verdict reports show: something ran, nothing failed, nothing errored."""
    return summary.cases > 0 and not (summary.failed or summary.errors)


def _counts(counts: dict[str, int]) -> str:
    failing = [f"{name} {count}" for name, count in counts.items() if count]
    return ", ".join(failing) if failing else "none"


def describe_git(results: RunResults) -> str:
    git = results.run.git
    if not git.commit:
        return "not a git checkout"
    where = f" on {git.branch}" if git.branch else " (detached)"
    return f"commit {git.commit[:12]}{where}{' (uncommitted changes)' if git.dirty else ''}"


def describe_target(results: RunResults) -> str:
    """The targets the cases ran against: ``stub (stub)``, or each of several, ``; ``-separated."""
    targets = results.run.targets or [results.run.target]
    return "; ".join(f"{target.name} ({target.kind})" + (f" at {target.url}" if target.url else "")
                     for target in targets)


def terminal_lines(results: RunResults) -> list[str]:
    """The summary as plain lines for ``pytest_terminal_summary``: only counts and names, no chatbot text."""
    summary, run = results.summary, results.run
    latency = summary.latency_ms
    verdict = "PASS" if run_passed(summary) else "FAIL"
    return [
        f"{verdict}: {summary.passed}/{summary.cases} cases passed ({summary.pass_rate:.1%}), "
        f"{summary.failed} failed, {summary.skipped} skipped, {summary.errors} errors",
        f"target: {describe_target(results)}; concurrency {run.concurrency}",
        f"suite: {run.cases_dir}/, {describe_git(results)}; {run.started_at:%Y-%m-%d %H:%M:%S} UTC, "
        f"{run.duration_s:.2f} s",
        f"turns: {summary.turns}, error rate {summary.error_rate:.1%}; latency ms " + ", ".join(
            f"{name} {format_ms(getattr(latency, name), unit=False)}" for name in ("p50", "p95", "p99", "max")),
        f"failed checks: {_counts(summary.checks_failed)}",
        f"PII findings: {_counts(summary.pii_findings)}",
        f"tokens: {describe_tokens(summary.tokens)}",
    ] + ([f"most tokens: {costliest}"] if (costliest := costliest_cases(results.cases)) else []) + (
        ["probes (held / run):"] + [f"  {line}" for line in probe_lines(summary)] if summary.probes else [])

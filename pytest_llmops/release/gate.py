"""The promotion gate: may the run in a results file be promoted to ``stable``?

Pure logic over :class:`~pytest_llmops.results.RunResults`, no git and no printing: the
thresholds (``[tool.llmops.gate]`` overridden by flags), an optional baseline run (the
results stored for the current ``stable``), and a verdict made of rows that the CLI
prints as a terminal table and as Markdown for ``$GITHUB_STEP_SUMMARY``.
An empty run, or one where case files failed to load, never passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..results import CaseResult, RunInfo, RunResults, TokenUsage
from ..text import format_usd
from .settings import GateSettings

#: outcomes that count as "this case does not work"
BROKEN = ("failed", "error")
#: how many case names a row lists before it says "and N more"
LIST_LIMIT = 20


@dataclass
class GateRow:
    """One line of the verdict. ``passed`` None is a note that never decides the verdict."""

    check: str
    threshold: str
    actual: str
    passed: bool | None
    details: list[str] = field(default_factory=list)

    @property
    def result(self) -> str:
        return "NOTE" if self.passed is None else ("PASS" if self.passed else "FAIL")


@dataclass
class Verdict:
    """Every row the gate checked, and what it was checking."""

    rows: list[GateRow]
    commit: str | None
    target: str
    cases: int
    baseline: str | None  # what the run was compared with, or why it was not

    @property
    def passed(self) -> bool:
        return all(row.passed is not False for row in self.rows)

    @property
    def failed_rows(self) -> list[GateRow]:
        return [row for row in self.rows if row.passed is False]

    @property
    def checked(self) -> int:
        return sum(row.passed is not None for row in self.rows)


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} ms" if value >= 10 else f"{value:.2f} ms"


def _listed(names: list[str]) -> list[str]:
    shown = names[:LIST_LIMIT]
    if len(names) > LIST_LIMIT:
        shown.append(f"... and {len(names) - LIST_LIMIT} more")
    return shown


def _case_key(case: CaseResult) -> str:
    return case.nodeid


def _threshold_rows(results: RunResults, gate: GateSettings) -> list[GateRow]:
    summary = results.summary
    broken = [case.nodeid for case in results.cases if case.outcome in BROKEN]
    pii_total = sum(summary.pii_findings.values())
    pii_kinds = [f"{kind}: {count}" for kind, count in sorted(summary.pii_findings.items()) if count]
    p95 = summary.latency_ms.p95
    errors = [f"{record.nodeid}: {record.message.splitlines()[0] if record.message else ''}"
              for record in results.collection_errors]
    return [
        GateRow("cases run", f">= {gate.min_cases}", str(summary.cases), summary.cases >= gate.min_cases),
        GateRow("collection errors", f"<= {gate.max_errors}", str(summary.errors), summary.errors <= gate.max_errors,
                _listed(errors)),
        GateRow("pass rate", f">= {_pct(gate.min_pass_rate)}",
                f"{_pct(summary.pass_rate)} ({summary.passed}/{summary.cases - summary.skipped})",
                summary.cases > summary.skipped and summary.pass_rate >= gate.min_pass_rate,
                _listed(broken)),
        GateRow("PII findings", f"<= {gate.max_pii_findings}", str(pii_total), pii_total <= gate.max_pii_findings,
                pii_kinds),
        GateRow("error rate", f"<= {_pct(gate.max_error_rate)}", f"{_pct(summary.error_rate)} of {summary.turns} turns",
                summary.error_rate <= gate.max_error_rate),
        GateRow("p95 latency", f"<= {_ms(gate.max_p95_latency_ms)}", _ms(p95),
                p95 is None or gate.max_p95_latency_ms is None or p95 <= gate.max_p95_latency_ms),
    ]


def _token_rows(results: RunResults, gate: GateSettings) -> list[GateRow]:
    """The bot's cost and tokens over the run, when the gate limits them (judge and embeddings not counted)."""
    bot = results.summary.tokens.bot
    rows = []
    if gate.max_cost_usd is not None:
        limit = f"<= {format_usd(gate.max_cost_usd)}"
        if bot is None:
            rows.append(GateRow("bot cost", limit, "unknown: no token usage recorded", False))
        elif bot.cost_usd is None:
            rows.append(GateRow("bot cost", limit, f"unknown: no price for {', '.join(bot.unpriced_models)}", False,
                                ["add the model to [tool.llmops.prices]"]))
        else:
            rows.append(GateRow("bot cost", limit, format_usd(bot.cost_usd), bot.cost_usd <= gate.max_cost_usd))
    if gate.max_tokens_total is not None:
        limit = f"<= {gate.max_tokens_total:,}"
        if bot is None:
            rows.append(GateRow("bot tokens", limit, "unknown: no token usage recorded", False))
        else:
            rows.append(GateRow("bot tokens", limit, f"{bot.total_tokens:,}", bot.total_tokens <= gate.max_tokens_total))
    return rows


def _per_turn(usage: TokenUsage, turns: int, in_dollars: bool) -> float:
    amount = (usage.cost_usd or 0.0) if in_dollars else float(usage.total_tokens)
    return amount / turns


def _cost_regression_row(results: RunResults, baseline: RunResults, gate: GateSettings) -> GateRow | None:
    """The bot's cost per turn against the baseline's (tokens per turn when either has no prices)."""
    if gate.max_cost_regression_pct is None:
        return None
    limit = f"<= +{gate.max_cost_regression_pct:g}% per turn"
    now, before = results.summary.tokens.bot, baseline.summary.tokens.bot
    if now is None or before is None or not results.summary.turns or not baseline.summary.turns:
        return GateRow("cost vs baseline", limit, "n/a (no token usage on one side)", None)
    in_dollars = now.cost_usd is not None and before.cost_usd is not None
    old, new = _per_turn(before, baseline.summary.turns, in_dollars), _per_turn(now, results.summary.turns, in_dollars)
    pct = (new - old) / old * 100 if old > 0 else (0.0 if new <= old else float("inf"))
    shown = (f"{format_usd(old)} -> {format_usd(new)}" if in_dollars else f"{old:.1f} -> {new:.1f} tokens")
    return GateRow("cost vs baseline", limit, f"{shown} per turn ({pct:+.1f}%)", pct <= gate.max_cost_regression_pct)
def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        elif value is not None:
            flat[f"{prefix}{key}"] = value
    return flat


def _targets(run: RunInfo) -> dict[str, dict[str, Any]]:
    """Every target a run used, by name, as flat ``field: value`` (files before ``targets``: the one target)."""
    return {target.name: _flat(target.model_dump(mode="json")) for target in (run.targets or [run.target])}


def condition_differences(run: RunInfo, baseline: RunInfo) -> list[str]:
    """How the run's conditions differ from the baseline's: concurrency, xdist workers, targets.

    Latency measured at concurrency 4 is not comparable with latency at 1, nor one model's
    with another's; the gate names such a difference instead of blaming the bot.
    """
    differences = []
    if run.concurrency != baseline.concurrency:
        differences.append(f"concurrency {run.concurrency} now, {baseline.concurrency} on baseline")
    if run.workers != baseline.workers:
        differences.append(f"xdist workers {run.workers or 'none'} now, {baseline.workers or 'none'} on baseline")
    now, before = _targets(run), _targets(baseline)
    if set(now) != set(before):
        differences.append(f"targets {', '.join(now)} now, {', '.join(before)} on baseline")
    for name in now.keys() & before.keys():
        changed = [f"{key} {now[name].get(key, 'unset')} now, {before[name].get(key, 'unset')} on baseline"
                   for key in sorted(now[name].keys() | before[name].keys()) if now[name].get(key) != before[name].get(key)]
        differences += [f"target {name}: {change}" for change in changed]
    return differences


def _baseline_rows(results: RunResults, baseline: RunResults, gate: GateSettings) -> list[GateRow]:
    before = {_case_key(case): case for case in baseline.cases}
    now = {_case_key(case): case for case in results.cases}
    regressed = [key for key, case in now.items()
                 if case.outcome in BROKEN and key in before and before[key].outcome == "passed"]
    new_failing = [key for key, case in now.items() if case.outcome in BROKEN and key not in before]
    missing = [key for key in before if key not in now]
    rows = [GateRow("regressions", "none (passed on baseline)", str(len(regressed)), not regressed,
                    _listed([f"{key}: passed on baseline, {now[key].outcome} now" for key in regressed]))]
    differences = condition_differences(results.run, baseline.run)
    if differences:
        rows.append(GateRow("run vs baseline", "(same targets and concurrency)", "; ".join(differences), None))

    old_p95, new_p95 = baseline.summary.latency_ms.p95, results.summary.latency_ms.p95
    limit = f"<= +{gate.max_p95_regression_pct:g}% or +{gate.p95_regression_floor_ms:g} ms"
    if old_p95 is None or new_p95 is None:
        rows.append(GateRow("p95 vs baseline", limit, "n/a (no latency on one side)", None))
    else:
        growth = new_p95 - old_p95
        pct = growth / old_p95 * 100 if old_p95 > 0 else (0.0 if growth <= 0 else float("inf"))
        regressed_latency = pct > gate.max_p95_regression_pct and growth > gate.p95_regression_floor_ms
        caveat = "; run conditions differ, see 'run vs baseline'" if differences else ""
        rows.append(GateRow("p95 vs baseline", limit, f"{_ms(old_p95)} -> {_ms(new_p95)} ({pct:+.1f}%{caveat})",
                            not regressed_latency))
    cost_row = _cost_regression_row(results, baseline, gate)
    if cost_row is not None:
        rows.append(cost_row)
    rows.append(GateRow("new failing cases", "(listed, count in pass rate)", str(len(new_failing)), None,
                        _listed(new_failing)))
    if missing:
        rows.append(GateRow("cases not run now", "(listed)", str(len(missing)), None, _listed(missing)))
    return rows


def evaluate(results: RunResults, gate: GateSettings, baseline: RunResults | None = None,
             baseline_label: str | None = None) -> Verdict:
    """The verdict for ``results``: thresholds always, regressions only when a ``baseline`` is given.

    ``baseline_label`` says what the baseline is (or, without one, why there is none).
    """
    rows = _threshold_rows(results, gate) + _token_rows(results, gate)
    tested = results.run.git
    if not tested.commit or tested.dirty:
        why = "no git commit recorded" if not tested.commit else f"{tested.commit[:12]} plus uncommitted changes"
        rows.append(GateRow("tested commit", "(promote needs a clean commit)", why, None))
    if baseline is not None:
        rows.extend(_baseline_rows(results, baseline, gate))
    return Verdict(rows=rows, commit=results.run.git.commit, target=results.run.target.name,
                   cases=results.summary.cases, baseline=baseline_label)


def _heading(verdict: Verdict, source: str) -> list[str]:
    commit = verdict.commit[:12] if verdict.commit else "unknown"
    lines = [f"results: {source} (commit {commit}, target {verdict.target}, {verdict.cases} cases)"]
    lines.append(f"baseline: {verdict.baseline or 'none (no comparison)'}")
    return lines


def verdict_line(verdict: Verdict) -> str:
    failed = len(verdict.failed_rows)
    if verdict.passed:
        return f"VERDICT: PASS ({verdict.checked} checks passed)"
    names = ", ".join(row.check for row in verdict.failed_rows)
    return f"VERDICT: FAIL ({failed} of {verdict.checked} checks failed: {names})"


def render_text(verdict: Verdict, source: str) -> str:
    """The verdict as an aligned plain-text table for the terminal (and for tag messages)."""
    header = ("check", "threshold", "actual", "result")
    table = [header] + [(row.check, row.threshold, row.actual, row.result) for row in verdict.rows]
    widths = [max(len(line[i]) for line in table) for i in range(3)]
    lines = ["llmops gate", *_heading(verdict, source), ""]
    for index, line in enumerate(table):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line[:3])) + "  " + line[3])
        if index:
            lines.extend(f"    - {detail}" for detail in verdict.rows[index - 1].details)
    lines += ["", verdict_line(verdict)]
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(verdict: Verdict, source: str) -> str:
    """The verdict as GitHub-flavoured Markdown (for ``$GITHUB_STEP_SUMMARY``)."""
    icon = {"PASS": "✅ PASS", "FAIL": "❌ FAIL", "NOTE": "ℹ️ NOTE"}
    lines = [f"## llmops gate: {'✅ PASS' if verdict.passed else '❌ FAIL'}", ""]
    lines += [f"- {_md_cell(line)}" for line in _heading(verdict, source)]
    lines += ["", "| check | threshold | actual | result |", "|---|---|---|---|"]
    lines += [f"| {_md_cell(row.check)} | {_md_cell(row.threshold)} | {_md_cell(row.actual)} | {icon[row.result]} |"
              for row in verdict.rows]
    for row in verdict.rows:
        if row.details:
            lines += ["", f"**{_md_cell(row.check)}**", ""]
            lines += ["- `" + detail.replace("`", "'") + "`" for detail in row.details]
    lines += ["", f"**{verdict_line(verdict)}**", ""]
    return "\n".join(lines)

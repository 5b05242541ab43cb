"""pytest-html integration: each case's conversation in its row, the run summary on top.

Imported and registered only when pytest-html is installed and active, so the plugin
works without it. Every piece of text that reaches the page goes through
:func:`html.escape`: chatbot replies are hostile input (``<script>``, ``</td>``,
``onerror=`` attributes, 100 kB walls of text) and must show as text. Replies arrive
here already masked by ``report.case_record``.
"""

from __future__ import annotations

from html import escape
from typing import Any, Iterable
from urllib.parse import quote

import pytest
from pytest_html import extras as html_extras

from .collector import ResultsCollector
from ..repeat import repeat_html
from ..pii import PiiDetector
from ..results import RunResults
from ..report.run_info import SECRET_KEY_RE
from ..report.summary import describe_git, describe_target, run_passed

FAILING_CASES_LISTED = 50
LONG_TEXT_CHARS = 2000

STYLE = """<style>
.llmops-summary{border:1px solid #d0d7de;border-radius:6px;padding:8px 14px;margin:10px 0;background:#f6f8fa;max-width:1100px}
.llmops-summary h2{margin:4px 0 8px}
.llmops-verdict{font-size:1.25em;font-weight:bold;margin:4px 0 10px}
.llmops-verdict.pass{color:#1a7f37}.llmops-verdict.fail{color:#cf222e}
.llmops-facts{border-collapse:collapse}
.llmops-facts th{text-align:left;padding:2px 14px 2px 0;vertical-align:top;white-space:nowrap}
.llmops-facts td{padding:2px 0;overflow-wrap:anywhere}
.llmops-bad{color:#cf222e;font-weight:bold}
.llmops-case{font-family:Helvetica,Arial,sans-serif;font-size:13px;max-width:1100px}
.llmops-meta{margin:6px 0;color:#444}
.llmops-turn{border-left:4px solid #1a7f37;margin:8px 0;padding:4px 10px;background:#fff}
.llmops-turn.failed{border-left-color:#cf222e;background:#fff8f8}
.llmops-turn-head{font-weight:bold;margin-bottom:4px}
.llmops-msg{display:flex;gap:8px;margin:3px 0}
.llmops-who{flex:0 0 3.5em;font-weight:bold;color:#555}
.llmops-text{flex:1;white-space:pre-wrap;overflow-wrap:anywhere;max-height:24em;overflow:auto;
  padding:4px 6px;border-radius:4px;font-family:Menlo,Consolas,monospace;font-size:12px}
.llmops-user .llmops-text{background:#eef4ff}.llmops-bot .llmops-text{background:#f2f2f2}
.llmops-fault{color:#cf222e;font-weight:bold;margin:3px 0}
.llmops-checks{border-collapse:collapse;margin-top:4px;width:100%;table-layout:fixed}
.llmops-checks td,.llmops-checks th{border:1px solid #e1e4e8;padding:2px 6px;text-align:left;overflow-wrap:anywhere;
  vertical-align:top}
.llmops-checks th{background:#f6f8fa}.llmops-checks col.verdict{width:5em}.llmops-checks col.name{width:9em}
.llmops-checks tr.failed td{background:#ffebe9}
.llmops-note{color:#555;font-style:italic}
</style>"""


def _text(value: Any) -> str:
    """Any value as HTML text, escaped (quotes too, so it is safe in attributes as well)."""
    return escape("" if value is None else str(value), quote=True)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"


def _message(role: str, label: str, text: str) -> str:
    note = f'<div class="llmops-note">{len(text):,} characters</div>' if len(text) > LONG_TEXT_CHARS else ""
    return (f'<div class="llmops-msg llmops-{role}"><span class="llmops-who">{label}</span>'
            f'<div><div class="llmops-text">{_text(text)}</div>{note}</div></div>')


def _checks_table(checks: list[dict[str, Any]]) -> str:
    rows = []
    for check in checks:
        passed = check["passed"]
        rows.append(f'<tr class="{"passed" if passed else "failed"}"><td>{"pass" if passed else "FAIL"}</td>'
                    f'<td>{_text(check["check"])}</td><td>{_text(check["expected"])}</td>'
                    f'<td>{_text(check["actual"])}</td></tr>')
    return ('<table class="llmops-checks"><colgroup><col class="verdict"><col class="name"><col><col></colgroup>'
            '<tr><th>result</th><th>check</th><th>expected</th><th>got</th></tr>' + "".join(rows) + "</table>")


def _turn(turn: dict[str, Any]) -> str:
    state = "passed" if turn["passed"] else "failed"
    timing = _ms(turn.get("latency_ms"))
    if turn.get("latency_recorded"):
        timing += " (recorded, replayed from a cassette)"
    if turn.get("ttft_ms") is not None:
        timing += f", first token {_ms(turn['ttft_ms'])}"
    if turn.get("retries"):
        timing += f", {turn['retries']} retries"
    parts = [f'<div class="llmops-turn {state}" data-turn="{int(turn["turn"])}">',
             f'<div class="llmops-turn-head">Turn {int(turn["turn"])} &middot; {_text(timing)} &middot; '
             f'{"passed" if turn["passed"] else "FAILED"}</div>',
             _message("user", "User", turn["user"])]
    if turn.get("reply") is None:
        kind = turn.get("error_kind") or "error"
        parts.append(f'<div class="llmops-fault">No reply ({_text(kind)}): {_text(turn.get("error"))}</div>')
    else:
        parts.append(_message("bot", "Bot", turn["reply"]))
    parts.append(_checks_table(turn.get("checks", [])))
    parts.append("</div>")
    return "".join(parts)


def render_transcript(record: dict[str, Any]) -> str:
    """One case's whole conversation as HTML: every message, its latency and every check."""
    target = record.get("target") or {}
    tags = ", ".join(record.get("tags") or []) or "none"
    meta = (f'<div class="llmops-meta"><b>{_text(record.get("case_id"))}</b>'
            f'{" &mdash; " + _text(record["description"]) if record.get("description") else ""}'
            f'<br>target {_text(target.get("name"))} ({_text(target.get("kind"))}) &middot; tags {_text(tags)}'
            f' &middot; {_text(str(record.get("nodeid", "")).split("::")[0])}:{_text(record.get("line"))}</div>')
    turns = "".join(_turn(turn) for turn in record.get("turns", []))
    if not record.get("turns"):
        turns = '<div class="llmops-note">No turn was sent (the case was skipped or failed before replay).</div>'
    skipped = record.get("skipped_turns") or 0
    tail = (f'<div class="llmops-fault">{int(skipped)} later turn(s) not sent: the conversation broke off at a '
            f'fault.</div>' if skipped else "")
    return f'<div class="llmops-case">{meta}{repeat_html(record)}{turns}{tail}</div>'


def _counts(counts: dict[str, int]) -> str:
    failing = [f'<span class="llmops-bad">{_text(name)} {count}</span>' for name, count in counts.items() if count]
    return ", ".join(failing) if failing else "none"


def _failing_cases(results: RunResults) -> Iterable[str]:
    failing = [case for case in results.cases if case.outcome in ("failed", "error")]
    for case in failing[:FAILING_CASES_LISTED]:
        checks = sorted({check.check for turn in case.turns for check in turn.checks if not check.passed})
        why = ", ".join(checks) if checks else case.outcome
        yield (f'<li><a href="#{_text(quote(case.nodeid, safe=""))}">{_text(case.nodeid)}</a>: '
               f'{_text(why)}</li>')
    if len(failing) > FAILING_CASES_LISTED:
        yield f"<li>... and {len(failing) - FAILING_CASES_LISTED} more (use the Failed filter below)</li>"


def render_summary(results: RunResults) -> str:
    """The run summary block for the top of the report."""
    summary, run = results.summary, results.run
    latency = summary.latency_ms
    passed = run_passed(summary)
    rows = [
        ("Cases", f"{summary.passed} passed, {summary.failed} failed, {summary.skipped} skipped, "
                  f"{summary.errors} errors (of {summary.cases})"),
        ("Target", describe_target(results)),
        ("Suite", f"{run.cases_dir}/, {describe_git(results)}"),
        ("Date", f"{run.started_at:%Y-%m-%d %H:%M:%S} UTC, {run.duration_s:.2f} s"),
        ("Concurrency", f"{run.concurrency}" + (f" per worker, {run.workers} workers" if run.workers
                                                 else "")),
        ("Turns", f"{summary.turns}, error rate {summary.error_rate:.1%}"),
        ("Latency", f"p50 {_ms(latency.p50)}, p95 {_ms(latency.p95)}, p99 {_ms(latency.p99)}, max {_ms(latency.max)}"),
    ]
    table = "".join(f"<tr><th>{_text(name)}</th><td>{_text(value)}</td></tr>" for name, value in rows)
    table += f"<tr><th>Failed checks</th><td>{_counts(summary.checks_failed)}</td></tr>"
    table += f"<tr><th>PII findings</th><td>{_counts(summary.pii_findings)}</td></tr>"
    verdict = (f'<p class="llmops-verdict {"pass" if passed else "fail"}">{"PASS" if passed else "FAIL"}: '
               f'{summary.passed} of {summary.cases} cases passed ({summary.pass_rate:.1%})</p>')
    failing = "".join(_failing_cases(results))
    failing_block = f"<h3>Failing cases</h3><ul>{failing}</ul>" if failing else ""
    errors = "".join(f"<li><b>{_text(error.nodeid)}</b><pre>{_text(error.message)}</pre></li>"
                     for error in results.collection_errors)
    errors_block = f"<h3>Case files that could not be read</h3><ul>{errors}</ul>" if errors else ""
    return (f'<section class="llmops-summary"><h2>Chatbot evaluation</h2>{verdict}'
            f'<table class="llmops-facts">{table}</table>{failing_block}{errors_block}</section>')


def _row_cells(record: dict[str, Any] | None) -> list[str]:
    if record is None:
        return ['<td class="col-llmopsTarget"></td>', '<td class="col-llmopsTurns"></td>',
                '<td class="col-llmopsFailed"></td>', '<td class="col-llmopsSlowest"></td>']
    turns = record.get("turns", [])
    failed = sum(1 for turn in turns for check in turn["checks"] if not check["passed"])
    latencies = [turn["latency_ms"] for turn in turns if turn.get("latency_ms") is not None]
    return [f'<td class="col-llmopsTarget">{_text((record.get("target") or {}).get("name"))}</td>',
            f'<td class="col-llmopsTurns">{len(turns)}</td>',
            f'<td class="col-llmopsFailed">{failed}</td>',
            f'<td class="col-llmopsSlowest">{_text(_ms(max(latencies)) if latencies else "-")}</td>']


def safe_environment(metadata: dict[str, Any], detector: PiiDetector, nested: bool = False) -> dict[str, Any]:
    """pytest-metadata's environment table made fit to show: no secret-looking keys, PII masked, escaped.

    pytest-html inserts these values as HTML, and they come from CI variables (a branch
    name may hold ``<``; GitLab's ``GITLAB_USER_EMAIL`` is personal data) and ``--metadata``.
    Top-level keys are set as text by pytest-html; nested keys and all values as HTML.
    """
    safe: dict[str, Any] = {}
    for key, value in metadata.items():
        if SECRET_KEY_RE.search(str(key)):
            continue
        name = _text(key) if nested else str(key)
        if isinstance(value, dict):
            safe[name] = safe_environment(value, detector, nested=True)
        else:
            safe[name] = _text(detector.mask(str(value)))
    return safe


class HtmlReportPlugin:
    """pytest-html hooks, registered as a plugin object by ``plugin.pytest_configure``."""

    def __init__(self, collector: ResultsCollector):
        self.collector = collector

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        from pytest_metadata.plugin import metadata_key  # installed with pytest-html

        metadata = session.config.stash.get(metadata_key, None)
        if metadata is not None:
            session.config.stash[metadata_key] = safe_environment(metadata, self.collector.detector)

    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str],
                                    session: pytest.Session) -> None:
        results = self.collector.results or self.collector.build()
        prefix.extend([STYLE, render_summary(results)])

    def pytest_html_report_title(self, report: Any) -> None:
        report.title = f"Chatbot evaluation: {report.title}"

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells[2:2] = ['<th class="sortable" data-column-type="llmopsTarget">Target</th>', "<th>Turns</th>",
                      '<th class="sortable" data-column-type="llmopsFailed">Failed checks</th>',
                      "<th>Slowest reply</th>"]

    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        if cells and cells[1].startswith('<td class="col-testId">'):
            # pytest-html 4.2 puts the test id in unescaped; ids and file names are not ours to trust.
            when = "" if report.when == "call" else f"::{report.when}"
            cells[1] = f'<td class="col-testId">{_text(report.nodeid + when)}</td>'
        cells[2:2] = _row_cells(getattr(report, "llmops", None))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = getattr(report, "llmops", None)
        if record is not None and report.when == "call":
            report.extras = [*getattr(report, "extras", []), html_extras.html(render_transcript(record))]

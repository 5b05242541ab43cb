"""The HTML report's pieces, rendered from records: the run summary and each case's conversation.

Pure rendering, no pytest: :mod:`pytest_llmops.plugin.html` hands these to pytest-html.
Every piece of text that reaches the page goes through :func:`html.escape`: chatbot
replies are hostile input (``<script>``, ``</td>``, ``onerror=`` attributes, 100 kB walls
of text) and must show as text. Replies arrive already masked (``pytest_llmops.record``).
"""

from __future__ import annotations

from html import escape
from typing import Any, Iterable
from urllib.parse import quote

from ..pii import PiiDetector
from ..redaction import SECRET_NAME_RE
from ..results import CaseResult, RunRecord, RunResults, TurnRecord
from ..text import format_ms
from ..transcript import CheckResult
from .summary import describe_git, describe_target, describe_tokens, probe_lines, run_passed

FAILING_CASES_LISTED = 50
LONG_TEXT_CHARS = 2000

#: Our styles, and the few of pytest-html's we override: the page opens with the verdict (flex
#: order moves the summary above the environment table), every text has WCAG AA contrast
#: (pytest-html's body text is #999 on white, 2.8:1), and nothing scrolls sideways at 800 px
#: (pytest-html sets min-width: 800px on a body with margins; unbroken test ids widen the table).
STYLE = """<style>
body{min-width:0;color:#1f2328;display:flex;flex-direction:column}
#title,body>p:first-of-type{order:-3}
body>.summary{order:-2}
#environment-header,#environment{order:1}
body>footer{order:2}
.summary__data{display:flex;flex-direction:column}
.summary__data>*{flex:none}
.summary__data>.additional-summary.prefix{order:-1}
a,.filters button,.collapse button{color:#0550ae}
.filters button:hover,.collapse button:hover{color:#033d8b}
#results-table{color:#1f2328;table-layout:auto}
#results-table td{overflow-wrap:anywhere}
span.passed,.passed .col-result{color:#1a7f37}
span.skipped,span.xfailed,span.rerun,.skipped .col-result,.xfailed .col-result,.rerun .col-result{color:#9a6700}
span.error,span.failed,span.xpassed,.error .col-result,.failed .col-result,.xpassed .col-result{color:#cf222e}
.llmops-summary{border:1px solid #d0d7de;border-radius:6px;padding:8px 14px;margin:10px 0;background:#f6f8fa;
  max-width:1100px;color:#1f2328;box-sizing:border-box}
.llmops-summary h2{margin:6px 0 8px;font-size:15px;color:#1f2328}
.llmops-verdict{font-size:20px;font-weight:bold;margin:2px 0 8px;padding:6px 12px;border-radius:6px;color:#fff}
.llmops-verdict.pass{background:#1a7f37}.llmops-verdict.fail{background:#cf222e}
.llmops-facts{border-collapse:collapse}
.llmops-facts th{text-align:left;padding:2px 14px 2px 0;vertical-align:top;white-space:nowrap;color:#1f2328}
.llmops-facts td{padding:2px 0;overflow-wrap:anywhere;color:#1f2328}
.llmops-summary li{overflow-wrap:anywhere}
.llmops-summary pre{white-space:pre-wrap;overflow-wrap:anywhere}
.llmops-bad{color:#cf222e;font-weight:bold}
.llmops-case{font-family:Helvetica,Arial,sans-serif;font-size:13px;max-width:1100px;color:#1f2328}
.llmops-meta{margin:6px 0;color:#3d444d}
.llmops-turn{border-left:4px solid #1a7f37;margin:8px 0;padding:4px 10px;background:#fff}
.llmops-turn.failed{border-left-color:#cf222e;background:#fff8f8}
.llmops-turn-head{font-weight:bold;margin-bottom:4px}
.llmops-msg{display:flex;gap:8px;margin:3px 0}
.llmops-who{flex:0 0 3.5em;font-weight:bold;color:#3d444d}
.llmops-text{flex:1;min-width:0;white-space:pre-wrap;overflow-wrap:anywhere;max-height:24em;overflow:auto;
  padding:4px 6px;border-radius:4px;font-family:Menlo,Consolas,monospace;font-size:12px;color:#1f2328}
.llmops-user .llmops-text{background:#eef4ff}.llmops-bot .llmops-text{background:#f2f2f2}
.llmops-fault{color:#cf222e;font-weight:bold;margin:3px 0}
.llmops-checks{border-collapse:collapse;margin-top:4px;width:100%;table-layout:fixed}
.llmops-checks td,.llmops-checks th{border:1px solid #d0d7de;padding:2px 6px;text-align:left;overflow-wrap:anywhere;
  vertical-align:top;color:#1f2328}
.llmops-checks th{background:#f6f8fa}.llmops-checks col.verdict{width:5em}.llmops-checks col.name{width:9em}
.llmops-checks tr.failed td{background:#ffebe9}
.llmops-note{color:#3d444d;font-style:italic}
</style>"""


def escape_text(value: Any) -> str:
    """Any value as HTML text, escaped (quotes too, so it is safe in attributes as well)."""
    return escape("" if value is None else str(value), quote=True)



def _message(role: str, label: str, text: str) -> str:
    note = f'<div class="llmops-note">{len(text):,} characters</div>' if len(text) > LONG_TEXT_CHARS else ""
    return (f'<div class="llmops-msg llmops-{role}"><span class="llmops-who">{label}</span>'
            f'<div><div class="llmops-text">{escape_text(text)}</div>{note}</div></div>')


def _checks_table(checks: list[CheckResult]) -> str:
    rows = []
    for check in checks:
        passed = check.passed
        rows.append(f'<tr class="{"passed" if passed else "failed"}"><td>{"pass" if passed else "FAIL"}</td>'
                    f'<td>{escape_text(check.check)}</td><td>{escape_text(check.expected)}</td>'
                    f'<td>{escape_text(check.actual)}</td></tr>')
    return ('<table class="llmops-checks"><colgroup><col class="verdict"><col class="name"><col><col></colgroup>'
            '<tr><th>result</th><th>check</th><th>expected</th><th>got</th></tr>' + "".join(rows) + "</table>")


def _turn(turn: TurnRecord) -> str:
    state = "passed" if turn.passed else "failed"
    timing = format_ms(turn.latency_ms)
    if turn.latency_recorded:
        timing += " (recorded, replayed from a cassette)"
    if turn.ttft_ms is not None:
        timing += f", first token {format_ms(turn.ttft_ms)}"
    if turn.retries:
        timing += f", {turn.retries} retries"
    if turn.tokens is not None and turn.tokens.bot is not None:
        timing += f", {turn.tokens.bot.total_tokens:,} tokens"
    parts = [f'<div class="llmops-turn {state}" data-turn="{int(turn.turn)}">',
             f'<div class="llmops-turn-head">Turn {int(turn.turn)} &middot; {escape_text(timing)} &middot; '
             f'{"passed" if turn.passed else "FAILED"}</div>',
             _message("user", "User", turn.user)]
    if turn.reply is None:
        parts.append(f'<div class="llmops-fault">No reply ({escape_text(turn.error_kind or "error")}): '
                     f'{escape_text(turn.error)}</div>')
    else:
        parts.append(_message("bot", "Bot", turn.reply))
    if turn.tool_calls:
        calls = ", ".join(f"{call['name']}({call['arguments']})" for call in turn.tool_calls)
        parts.append(f'<div class="llmops-meta">Tool calls: {escape_text(calls)}</div>')
    parts.append(_checks_table(turn.checks))
    parts.append("</div>")
    return "".join(parts)


def _run_row(run: RunRecord) -> str:
    failed = ", ".join(f"turn {f.turn} {f.check}: {f.actual}" for f in run.failed_checks)
    latencies = ", ".join("-" if ms is None else f"{ms:.1f} ms" for ms in run.latency_ms)
    state = "passed" if run.passed else "failed"
    return (f'<tr class="{state}"><td>run {int(run.run)}</td><td>{"pass" if run.passed else "FAIL"}</td>'
            f"<td>{escape_text(failed)}</td><td>{escape_text(latencies)}</td></tr>")


def repeat_html(record: CaseResult) -> str:
    """The distribution of a repeated case as an HTML block (empty for a case run once); every text escaped."""
    repeat = record.repeat
    if repeat is None:
        return ""
    verdict = "passed" if record.passed else "FAILED"
    spread = "; ".join(f"turn {escape_text(turn)}: min {s.min:.1f}, median {s.median:.1f}, max {s.max:.1f} ms"
                       for turn, s in repeat.latency_ms.items())
    return (f'<div class="llmops-repeat"><b>{verdict}: {int(repeat.passed_runs)} of {int(repeat.runs)} runs '
            f'passed, {int(repeat.min_pass)} needed.</b> Latency across runs: {spread or "-"}. '
            f'The conversation below is run {int(repeat.shown_run)}.'
            '<table class="llmops-checks"><tr><th>run</th><th>result</th><th>failed checks</th>'
            f'<th>latency per turn</th></tr>{"".join(map(_run_row, repeat.results))}</table></div>')


def render_transcript(record: CaseResult) -> str:
    """One case's whole conversation as HTML: every message, its latency and every check."""
    tags = ", ".join(record.tags) or "none"
    probe = f" &middot; probe category {escape_text(record.probe_category)}" if record.probe_category else ""
    meta = (f'<div class="llmops-meta"><b>{escape_text(record.case_id)}</b>'
            f'{" &mdash; " + escape_text(record.description) if record.description else ""}'
            f'<br>target {escape_text(record.target.name)} ({escape_text(record.target.kind)}) &middot; tags {escape_text(tags)}'
            f'{probe} &middot; {escape_text(record.nodeid.split("::")[0])}:{escape_text(record.line)}'
            + (f'<br>tokens: {escape_text(describe_tokens(record.tokens))}' if record.tokens is not None else "")
            + '</div>')
    turns = "".join(_turn(turn) for turn in record.turns)
    if not record.turns:
        turns = '<div class="llmops-note">No turn was sent (the case was skipped or failed before replay).</div>'
    tail = (f'<div class="llmops-fault">{int(record.skipped_turns)} later turn(s) not sent: the conversation broke '
            f'off at a fault.</div>' if record.skipped_turns else "")
    return f'<div class="llmops-case">{meta}{repeat_html(record)}{turns}{tail}</div>'


def _counts(counts: dict[str, int]) -> str:
    failing = [f'<span class="llmops-bad">{escape_text(name)} {count}</span>' for name, count in counts.items() if count]
    return ", ".join(failing) if failing else "none"


def _failing_cases(results: RunResults) -> Iterable[str]:
    failing = [case for case in results.cases if case.outcome in ("failed", "error")]
    for case in failing[:FAILING_CASES_LISTED]:
        checks = sorted({check.check for _, check in case.failed_checks()})
        why = ", ".join(checks) if checks else case.outcome
        yield (f'<li><a href="#{escape_text(quote(case.nodeid, safe=""))}">{escape_text(case.nodeid)}</a>: '
               f'{escape_text(why)}</li>')
    if len(failing) > FAILING_CASES_LISTED:
        yield f"<li>... and {len(failing) - FAILING_CASES_LISTED} more (use the Failed filter below)</li>"


def render_summary(results: RunResults) -> str:
    """The run summary block for the top of the report: the verdict first, then the facts behind it."""
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
        ("Latency", ", ".join(f"{name} {format_ms(getattr(latency, name))}" for name in ("p50", "p95", "p99", "max"))),
        ("Tokens and cost", describe_tokens(summary.tokens)),
    ]
    table = "".join(f"<tr><th>{escape_text(name)}</th><td>{escape_text(value)}</td></tr>" for name, value in rows)
    table += f"<tr><th>Failed checks</th><td>{_counts(summary.checks_failed)}</td></tr>"
    table += f"<tr><th>PII findings</th><td>{_counts(summary.pii_findings)}</td></tr>"
    if summary.probes:
        held = "<br>".join(f'<span class="{"" if t.held == t.run else "llmops-bad"}">{escape_text(line)}</span>'
                           for line, t in zip(probe_lines(summary), summary.probes.values()))
        table += f'<tr class="llmops-probes"><th>Probes (held / run)</th><td>{held}</td></tr>'
    verdict = (f'<p class="llmops-verdict {"pass" if passed else "fail"}">{"PASS" if passed else "FAIL"}: '
               f'{summary.passed} of {summary.cases} cases passed ({summary.pass_rate:.1%})</p>')
    failing = "".join(_failing_cases(results))
    failing_block = f"<h3>Failing cases</h3><ul>{failing}</ul>" if failing else ""
    errors = "".join(f"<li><b>{escape_text(error.nodeid)}</b><pre>{escape_text(error.message)}</pre></li>"
                     for error in results.collection_errors)
    errors_block = f"<h3>Case files that could not be read</h3><ul>{errors}</ul>" if errors else ""
    return (f'<section class="llmops-summary">{verdict}<h2>Chatbot evaluation</h2>'
            f'<table class="llmops-facts">{table}</table>{failing_block}{errors_block}</section>')


def row_cells(record: CaseResult | None) -> list[str]:
    """The report table's extra cells for one row: target, turns, failed checks, slowest reply."""
    if record is None:
        return ['<td class="col-llmopsTarget"></td>', '<td class="col-llmopsTurns"></td>',
                '<td class="col-llmopsFailed"></td>', '<td class="col-llmopsSlowest"></td>']
    latencies = [turn.latency_ms for turn in record.turns if turn.latency_ms is not None]
    return [f'<td class="col-llmopsTarget">{escape_text(record.target.name)}</td>',
            f'<td class="col-llmopsTurns">{len(record.turns)}</td>',
            f'<td class="col-llmopsFailed">{len(record.failed_checks())}</td>',
            f'<td class="col-llmopsSlowest">{escape_text(format_ms(max(latencies)) if latencies else "-")}</td>']


def safe_environment(metadata: dict[str, Any], detector: PiiDetector, nested: bool = False) -> dict[str, Any]:
    """pytest-metadata's environment table made fit to show: no secret-looking keys, PII masked, escaped.

    pytest-html inserts these values as HTML, and they come from CI variables (a branch
    name may hold ``<``; GitLab's ``GITLAB_USER_EMAIL`` is personal data) and ``--metadata``.
    Top-level keys are set as text by pytest-html; nested keys and all values as HTML.
    """
    safe: dict[str, Any] = {}
    for key, value in metadata.items():
        if SECRET_NAME_RE.search(str(key)):
            continue
        name = escape_text(key) if nested else str(key)
        if isinstance(value, dict):
            safe[name] = safe_environment(value, detector, nested=True)
        else:
            safe[name] = escape_text(detector.mask(str(value)))
    return safe

"""pytest-html integration: each case's conversation in its row, the run summary on top.

Imported and registered only when pytest-html is installed and active, so the plugin
works without it. The HTML itself is rendered by :mod:`pytest_llmops.report.html`.
"""

from __future__ import annotations

from typing import Any

import pytest
from pytest_html import extras as html_extras

from ..report.html import STYLE, escape_text, render_summary, render_transcript, row_cells, safe_environment
from .collector import ResultsCollector


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
            cells[1] = f'<td class="col-testId">{escape_text(report.nodeid + when)}</td>'
        cells[2:2] = row_cells(getattr(report, "llmops", None))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = getattr(report, "llmops", None)
        if record is not None and report.when == "call":
            report.extras = [*getattr(report, "extras", []), html_extras.html(render_transcript(record))]

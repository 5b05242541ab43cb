"""Gathering every case's record during a run into one :class:`~pytest_llmops.results.RunResults`.

Registered as a plugin object in the process that reports: the only process without
pytest-xdist, the controller with it (workers send their reports, ``report.llmops``
included, to the controller, so every case is seen exactly once). At the end of the
session it builds the results, writes ``--llmops-results`` and prints the summary.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .. import __version__
from ..cases import is_case_file_name
from ..clock import utc_now
from ..errors import StorageError
from ..pii import PiiDetector
from ..redaction import SHAPES
from ..report.run_info import git_info, run_target, targets_used
from ..report.summary import build_summary, terminal_lines
from ..results import CaseResult, CollectionErrorRecord, RunInfo, RunResults, TargetInfo, ToolInfo, write_results
from ..text import excerpt, terminal_safe
from .run import is_xdist_worker

COLLECTION_ERROR_CHARS = 2000
PROBES_NODE = "probes/"  # the probe library's collectors (--llmops-probes)


@dataclass
class _CaseEntry:
    record: CaseResult
    outcome: str = "passed"
    duration_s: float = 0.0


def _phase_outcome(report: pytest.TestReport, current: str, judged: bool) -> str:
    """The case's outcome after one more phase report (``judged``: its checks ran)."""
    if report.when == "setup":
        return "error" if report.failed else "skipped" if report.skipped else current
    if report.when == "call":
        if report.failed and not judged:
            return "error"  # it crashed before its checks could judge it
        return report.outcome
    return "error" if report.failed and current == "passed" else current


class ResultsCollector:
    """A pytest plugin object: collects case records and collection errors, then writes the results."""

    def __init__(self, config: pytest.Config, *, cases_dir: str, concurrency: int, default_target: TargetInfo,
                 detector: PiiDetector, results_path: Path | None):
        self.config = config
        self.cases_dir = cases_dir
        self.concurrency = concurrency
        self.default_target = default_target
        self.detector = detector
        self.results_path = results_path
        self.results: RunResults | None = None
        self.results_written = False
        self._cases: dict[str, _CaseEntry] = {}
        self._collection_errors: dict[str, str] = {}
        self._started_at = utc_now()
        self._started = time.perf_counter()

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self._started_at = utc_now()
        self._started = time.perf_counter()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed and (is_case_file_name(report.nodeid) or report.nodeid.startswith(PROBES_NODE)):
            message = excerpt(self.detector.mask(SHAPES.text(report.longreprtext)), COLLECTION_ERROR_CHARS)
            self._collection_errors.setdefault(report.nodeid, message)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = getattr(report, "llmops", None)
        entry = self._cases.get(report.nodeid)
        if entry is None:
            if record is None:
                return  # not a conversation case (or a setup that passed: the call report follows)
            entry = self._cases[report.nodeid] = _CaseEntry(record)
        elif record is not None and report.when == "call":
            entry.record = record
        entry.duration_s += report.duration
        entry.outcome = _phase_outcome(report, entry.outcome, judged=bool(entry.record.turns))

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if exitstatus == pytest.ExitCode.USAGE_ERROR:
            return  # e.g. a path that does not exist: pytest's one-line error says it all; no 0-case results
        self.results = self.build(int(exitstatus))
        if self.results_path is None:
            return
        try:
            write_results(self.results_path, self.results)
        except StorageError as exc:  # nothing written, no temporary file left; the summary will not name the file
            print(f"pytest-llmops: cannot write results to {self.results_path}: {exc.reason}", file=sys.stderr)
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
        else:
            self.results_written = True

    def build(self, exit_status: int | None = None) -> RunResults:
        """The results of the run so far (all of it, once the session has finished)."""
        cases = [entry.record.model_copy(update={"outcome": entry.outcome, "duration_s": round(entry.duration_s, 4)})
                 for entry in self._cases.values()]
        cases.sort(key=lambda case: (case.file, case.line or 0, case.nodeid))
        workers = getattr(self.config.option, "numprocesses", None)
        used = targets_used(cases)
        run = RunInfo(
            started_at=self._started_at, finished_at=utc_now(),
            duration_s=round(time.perf_counter() - self._started, 3),
            git=git_info(self.config.rootpath), target=run_target(used, self.default_target), targets=used,
            concurrency=self.concurrency, cases_dir=self.cases_dir,
            argv=[str(arg) for arg in self.config.invocation_params.args],
            workers=workers if isinstance(workers, int) and workers > 0 else None, exit_status=exit_status,
        )
        errors = [CollectionErrorRecord(nodeid=nodeid, message=message)
                  for nodeid, message in sorted(self._collection_errors.items())]
        summary = build_summary(cases, len(errors), self.detector.kinds)
        return RunResults(tool=ToolInfo(version=__version__), run=run, summary=summary, cases=cases,
                          collection_errors=errors)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.results is None:
            return
        terminalreporter.write_sep("=", "llmops summary")
        for line in terminal_lines(self.results):
            terminalreporter.write_line(terminal_safe(line))
        if self.results_written:
            terminalreporter.write_line(f"results: {self.results_path}")


def install(config: pytest.Config, *, cases_dir: str, concurrency: int, default_target: TargetInfo,
            detector: PiiDetector) -> None:
    """Register the collector, and the pytest-html integration when pytest-html is active.

    Only in the process that reports: xdist workers send their reports to the controller.
    """
    if is_xdist_worker(config):
        return
    option = config.getoption("llmops_results")
    results_path = None
    if option:
        results_path = Path(config.invocation_params.dir, option)
        if results_path.is_dir():
            raise pytest.UsageError(f"pytest-llmops: --llmops-results {option}: is a folder; name a file")
    collector = ResultsCollector(config, cases_dir=cases_dir, concurrency=concurrency,
                                 default_target=default_target, detector=detector, results_path=results_path)
    config.pluginmanager.register(collector, "llmops-results")
    if config.pluginmanager.hasplugin("html") and config.getoption("htmlpath", None):
        from .html import HtmlReportPlugin  # pytest-html is optional: import it only when a report is asked for

        config.pluginmanager.register(HtmlReportPlugin(collector), "llmops-html")

"""Case files as pytest collectors, cases as pytest items.

A :class:`CaseYamlFile` yields one :class:`CaseItem` per case; each item carries the
:class:`~pytest_llmops.replay.ReplayJob` decided at collection, waits for its runs
(replayed and checked on the pool), builds the case's record once, and fails with that
record when the checks say so. With ``--llmops-probes``, a :class:`ProbeLibrary` adds the
shipped probes as the same items, one :class:`ProbeFile` per category, named
``probes/<category>/<id>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from ..cases import CaseLimits, LoadedCase, load_case_file
from ..errors import CaseFailed, CaseFileError, ConfigError
from ..probes.library import probe_file
from ..record import case_result
from ..results import CaseResult
from ..text import terminal_safe_lines
from ..targets import Target
from .failure import failure_text, junit_properties
from .replay_ahead import JOB_KEY, run_records_of
from .run import RUN_KEY

#: the record of a case item once its checks judged it
RECORD_KEY = pytest.StashKey[CaseResult]()


class CaseYamlFile(pytest.File):
    """A YAML case file: one item per case, or one clear collection error for a bad file."""

    def collect(self) -> Iterator["CaseItem"]:
        run = self.config.stash[RUN_KEY]
        try:
            cases = load_case_file(self.path, CaseLimits.from_settings(run.settings))
        except CaseFileError as exc:
            raise self.CollectError(terminal_safe_lines(self._relative(str(exc)))) from None
        yield from case_items(self, cases)

    def _relative(self, message: str) -> str:
        absolute = str(self.path)
        return message.replace(absolute, self.nodeid) if absolute in message else message


def case_items(parent: pytest.Collector, cases: list[LoadedCase], probe_category: str | None = None,
               ) -> Iterator["CaseItem"]:
    """One item per case, marked ``llmops`` and with each tag; a bad target or canary is a collection error."""
    run = parent.config.stash[RUN_KEY]
    for case in cases:
        extra = {} if probe_category is None else {"nodeid": f"{parent.nodeid}/{case.id}"}
        line = f"{parent.nodeid}:{case.line}: case {case.id!r}"
        try:
            target = run.target_named(case.target)
            item = CaseItem.from_parent(parent, name=case.id, case=case, target=target, probe_category=probe_category,
                                        **extra)
        except ConfigError as exc:
            raise parent.CollectError(terminal_safe_lines(f"{line}: {exc}")) from None
        problems = run.unavailable_checks(case)  # e.g. judge: with no [tool.llmops.judge] target
        if problems:
            raise parent.CollectError(terminal_safe_lines("\n".join(f"{line}: {problem}" for problem in problems)))
        item.add_marker("llmops")
        for tag in case.tags:
            if tag not in run.registered_tags:
                parent.config.addinivalue_line("markers", f"{tag}: llmops case tag")
                run.registered_tags.add(tag)
            item.add_marker(tag)
        yield item


class ProbeLibrary(pytest.Collector):
    """The probe categories chosen with ``--llmops-probes``, as collectors named ``probes/<category>``."""

    def collect(self) -> Iterator["ProbeFile"]:
        for category in self.config.stash[RUN_KEY].probe_categories:
            yield ProbeFile.from_parent(self, name=category, nodeid=f"probes/{category}", path=probe_file(category))


class ProbeFile(pytest.Collector):
    """One category's shipped case file: its probes as case items named ``probes/<category>/<id>``."""

    def collect(self) -> Iterator["CaseItem"]:
        try:
            cases = load_case_file(self.path)
        except CaseFileError as exc:  # a broken install: the shipped files are tested
            raise self.CollectError(str(exc)) from None
        yield from case_items(self, cases, probe_category=self.name)


class CaseItem(pytest.Item):
    """One conversation case, replayed and checked when pytest runs it."""

    def __init__(self, *, case: LoadedCase, target: Target, probe_category: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.target = target
        self.probe_category = probe_category  # a probe of the library (--llmops-probes): its category
        self.job = self.config.stash[RUN_KEY].job_for(self.nodeid, case, target, probe_category)
        self.case = self.job.case  # as sent: with the target's system prompt when the case sets none
        self.stash[JOB_KEY] = self.job

    def runtest(self) -> None:
        run = self.config.stash[RUN_KEY]
        record = case_result(self.case, self.nodeid, run.target_info(self.target), run_records_of(self.config, self.job),
                             self.job.plan, probe_category=self.probe_category, clean=run.checker.clean)
        self.stash[RECORD_KEY] = record
        self.user_properties.extend(junit_properties(record))
        if not record.passed:
            raise CaseFailed(record)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            return failure_text(excinfo.value.record)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"llmops case {self.case.id}"

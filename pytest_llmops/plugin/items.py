"""Case files as pytest collectors, cases as pytest items.

A :class:`CaseYamlFile` yields one :class:`CaseItem` per case; each item carries the
:class:`~pytest_llmops.replay.ReplayJob` decided at collection, waits for its runs'
transcripts, builds the case's record once, and fails with that record when the checks
say so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from ..cases import CaseLimits, LoadedCase, load_case_file
from ..errors import CaseFailed, CaseFileError, ConfigError
from ..record import judged_case
from ..results import CaseResult
from ..text import terminal_safe_lines
from ..targets import Target
from .failure import failure_text, junit_properties
from .replay_ahead import JOB_KEY, transcripts_of
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
        for case in cases:
            try:
                target = run.target_named(case.target)
            except ConfigError as exc:
                line = f"{self.nodeid}:{case.line}: case {case.id!r}"
                raise self.CollectError(terminal_safe_lines(f"{line}: {exc}")) from None
            item = CaseItem.from_parent(self, name=case.id, case=case, target=target)
            item.add_marker("llmops")
            for tag in case.tags:
                if tag not in run.registered_tags:
                    self.config.addinivalue_line("markers", f"{tag}: llmops case tag")
                    run.registered_tags.add(tag)
                item.add_marker(tag)
            yield item

    def _relative(self, message: str) -> str:
        absolute = str(self.path)
        return message.replace(absolute, self.nodeid) if absolute in message else message


class CaseItem(pytest.Item):
    """One conversation case, replayed and checked when pytest runs it."""

    def __init__(self, *, case: LoadedCase, target: Target, **kwargs: Any):
        super().__init__(**kwargs)
        self.case = case
        self.target = target
        self.job = self.config.stash[RUN_KEY].job_for(self.nodeid, case, target)
        self.stash[JOB_KEY] = self.job

    def runtest(self) -> None:
        run = self.config.stash[RUN_KEY]
        transcripts = transcripts_of(self.config, self.job)
        record = judged_case(self.case, self.nodeid, run.target_info(self.target), transcripts, run.checker,
                             self.job.plan)
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

"""What one ``pytest --llmops`` session shares: settings, checker, targets, cassette and repeat options.

Built once in ``pytest_configure`` and kept in ``config.stash`` (never in module globals).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ..cases import LoadedCase
from ..checks import Checker
from ..config import Settings
from ..record import target_info
from ..repeat import plan_for
from ..replay import ReplayJob
from ..results import TargetInfo
from ..targets import Target, build_target
from ..targets import cassette
from ..variables import literal


@dataclass
class LlmopsRun:
    """Everything one ``--llmops`` session shares: settings, the checker, targets built once each."""

    settings: Settings
    checker: Checker
    rootpath: Path
    cassettes: cassette.CassetteMode | None = None  # --llmops-record / --llmops-replay
    repeat: int | None = None  # --llmops-repeat: runs of every case
    registered_tags: set[str] = field(default_factory=set)
    targets: dict[str, Target] = field(default_factory=dict)  # built once per name, on first use
    _infos: dict[str, TargetInfo] = field(default_factory=dict)

    def target_named(self, name: str | None) -> Target:
        """The target called ``name`` (None: the run's own), built and cached on first use.

        Wrapped for recording or replaying when cassettes are on. Raises ConfigError for an
        unknown name or bad options, before anything is sent.
        """
        name = name or self.settings.target
        if name not in self.targets:
            if self.cassettes is None:
                self.targets[name] = build_target(name, self.settings)
            else:
                self.targets[name] = cassette.build_cassette_target(name, self.settings, self.cassettes,
                                                                    self.checker.detector, build_target)
        return self.targets[name]

    def target_info(self, target: Target) -> TargetInfo:
        """What the record shows about ``target`` (computed once per target)."""
        if target.name not in self._infos:
            self._infos[target.name] = target_info(target.describe())
        return self._infos[target.name]

    def job_for(self, nodeid: str, case: LoadedCase, target: Target) -> ReplayJob:
        """The replay job of one collected case.

        The target's system prompt joins here, for a case whose file and case set none
        (``system: ""`` in a case sends none): the job's case is what is sent, recorded in
        cassettes and judged, so all of them agree. It is sent as written (no ``{name}``
        filling: the case's variables are not the target's).
        """
        if case.system is None and target.system is not None:
            case = dataclasses.replace(case, system=literal(target.system))
        key = cassette.case_key(case.path, case.id, self.settings.cases_path, self.rootpath)
        return ReplayJob(key=nodeid, case=case, target=target, plan=plan_for(case, self.repeat), cassette_key=key)

    def close(self) -> None:
        for target in self.targets.values():
            target.close()


RUN_KEY = pytest.StashKey[LlmopsRun]()

"""What one ``pytest --llmops`` session shares: settings, checker, targets, cassette and repeat options.

Built once in ``pytest_configure`` and kept in ``config.stash`` (never in module globals).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ..canary import new_canary
from ..cases import LoadedCase
from ..checks import Checker
from ..config import Settings
from ..errors import ConfigError
from ..probes.library import PROBE_TAG
from ..record import target_info
from ..repeat import plan_for
from ..replay import ReplayJob
from ..results import TargetInfo
from ..targets import Target, build_target
from ..targets import cassette


@dataclass
class LlmopsRun:
    """Everything one ``--llmops`` session shares: settings, the checker, targets built once each."""

    settings: Settings
    checker: Checker
    rootpath: Path
    cassettes: cassette.CassetteMode | None = None  # --llmops-record / --llmops-replay
    repeat: int | None = None  # --llmops-repeat: runs of every case
    probe_categories: tuple[str, ...] = ()  # --llmops-probes: the probe library's categories to run
    canary: str | None = None  # planted in system prompts; [tool.llmops.leaks] canary, else new each run
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

    def __post_init__(self) -> None:
        if self.canary is None and self.settings.leaks.plant_canary != "never":
            self.canary = self.settings.leaks.canary or new_canary()

    def canary_for(self, case: LoadedCase) -> str | None:
        """The canary to plant in ``case``'s system prompt, as ``plant_canary`` says (None: none).

        A canary made up for this run changes every run, so no recording could match the
        request it is planted in: with cassettes it must be fixed, and ConfigError says so.
        """
        plant = self.settings.leaks.plant_canary
        if not case.system or plant == "never" or (plant == "probes" and PROBE_TAG not in case.tags):
            return None
        if self.cassettes is not None and self.settings.leaks.canary is None:
            raise ConfigError("its system prompt gets a canary, and cassettes can only replay a fixed one: "
                              "set canary = '...' under [tool.llmops.leaks] (docs/probes.md)")
        return self.canary

    def job_for(self, nodeid: str, case: LoadedCase, target: Target, probe_category: str | None = None) -> ReplayJob:
        """The replay job of one collected case (a probe's cassettes go under ``probes/``)."""
        if probe_category is not None:
            key = f"probes/{probe_category}.yaml::{case.id}"
        else:
            key = cassette.case_key(case.path, case.id, self.settings.cases_path, self.rootpath)
        return ReplayJob(key=nodeid, case=case, target=target, plan=plan_for(case, self.repeat), cassette_key=key,
                         canary=self.canary_for(case))

    def close(self) -> None:
        for target in self.targets.values():
            target.close()


RUN_KEY = pytest.StashKey[LlmopsRun]()


def is_xdist_worker(config: pytest.Config) -> bool:
    """True inside a pytest-xdist worker process (xdist's documented test: the worker's input is set)."""
    return hasattr(config, "workerinput")

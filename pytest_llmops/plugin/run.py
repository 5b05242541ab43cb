"""What one ``pytest --llmops`` session shares: settings, checker, targets, cassette and repeat options.

Built once in ``pytest_configure`` and kept in ``config.stash`` (never in module globals).
The judge and the embedder are targets like the chatbot: built here once, wrapped in
cassettes when recording or replaying, and handed to the checker with the verdict cache.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ..checks.canary import new_canary
from ..cases import LoadedCase
from ..checks import Checker
from ..checks.cache import DiskCache
from ..checks.judge import Judge
from ..checks.similarity import Embedder
from ..checks.tokens import Pricing
from ..config import Settings
from ..errors import ConfigError
from ..probes.library import PROBE_TAG
from ..record import run_record, target_info
from ..repeat import plan_for
from ..replay import ReplayJob, StopFlag
from ..results import RunRecord, TargetInfo
from ..targets import Target, build_target, target_table
from ..targets import cassette
from ..targets.exchange_cassette import build_exchange_cassette
from ..variables import literal

#: target kinds that can embed texts (``Target.embed``)
EMBEDDING_KINDS = ("openai", "python", "stub")


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
    use_cache: bool = True  # --llmops-no-cache turns it off
    registered_tags: set[str] = field(default_factory=set)
    targets: dict[str, Target] = field(default_factory=dict)  # built once per name, on first use
    cache: DiskCache | None = None
    pricing: Pricing = field(default_factory=Pricing)
    _infos: dict[str, TargetInfo] = field(default_factory=dict)
    _helpers: list[Target] = field(default_factory=list)
    _closed: bool = False

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

    def set_up_evaluators(self) -> None:
        """Build the judge and the embedder ([tool.llmops.judge], [tool.llmops.embeddings]) and give them to the checker.

        The verdict cache is off with ``--llmops-no-cache`` and while recording cassettes
        (a cached verdict would never reach the cassette). ConfigError names the section.
        """
        settings = self.settings
        self.pricing = Pricing(settings.prices)
        recording = self.cassettes is not None and self.cassettes.live
        self.cache = DiskCache(settings.cache_path) if self.use_cache and not recording else None
        mask = self.checker.detector.mask
        if settings.refusal.judge and not settings.judge.target:
            raise ConfigError("[tool.llmops.refusal] judge = true needs the LLM judge: set [tool.llmops.judge] "
                              "target = \"NAME\" (docs/checks.md), or remove judge = true to decide refusals by "
                              "phrases alone (docs/probes.md)")
        if settings.judge.target:
            judge = self._helper("judge", settings.judge.target)
            self.checker.judge = Judge(judge, mask=mask if settings.judge.mask_pii else None, cache=self.cache,
                                       retries=settings.judge.retries, mask_stored=mask)
        if settings.embeddings.target:
            kind = target_table(settings.embeddings.target, settings).get("type", "stub")
            if kind not in EMBEDDING_KINDS:
                raise ConfigError(f"[tool.llmops.embeddings] target {settings.embeddings.target!r} is a {kind} target, "
                                  f"which cannot embed texts; use one of type {', '.join(EMBEDDING_KINDS)}")
            embedder = self._helper("embeddings", settings.embeddings.target)
            self.checker.embedder = Embedder(embedder, mask=mask if settings.embeddings.mask_pii else None,
                                             cache=self.cache)

    def _helper(self, role: str, name: str) -> Target:
        try:
            if self.cassettes is None:
                target: Target = build_target(name, self.settings)
            else:
                target = build_exchange_cassette(name, role, self.settings, self.cassettes, self.checker.detector,
                                                 build_target)
        except ConfigError as exc:
            raise ConfigError(f"[tool.llmops.{role}] target: {exc}") from None
        self._helpers.append(target)
        return target

    def unavailable_checks(self, case: LoadedCase) -> list[str]:
        """Why ``case`` cannot be checked in this run (a judge or embedder it needs is not configured)."""
        problems = []
        if self.checker.judge is None and any(expect.judge for expect in case.turn_expects):
            problems.append("uses 'judge' but no judge is configured: set [tool.llmops.judge] target = \"NAME\" "
                            "(\"stub\" for the built-in keyword judge; docs/checks.md)")
        if self.checker.embedder is None and any(expect.similar for expect in case.turn_expects):
            problems.append("uses 'similar' but no embedder is configured: set [tool.llmops.embeddings] "
                            "target = \"NAME\" (docs/checks.md)")
        return problems

    def describe_evaluators(self) -> str | None:
        """The report header's line about the judge, the embedder and the cache (None without either)."""
        parts = [f"{role} {helper.target.name} ({helper.target.describe().get('kind', '?')})"
                 for role, helper in (("judge", self.checker.judge), ("embeddings", self.checker.embedder))
                 if helper is not None]
        if not parts:
            return None
        cache = f"cache {self.cache.folder}" if self.cache is not None else (
            "cache off (recording cassettes)" if self.use_cache else "cache off (--llmops-no-cache)")
        return f"llmops: {', '.join(parts)}; {cache}"

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
        """The replay job of one collected case (a probe's cassettes go under ``probes/``).

        The target's system prompt joins here, for a case whose file and case set none
        (``system: ""`` in a case sends none): the job's case is what is sent, recorded in
        cassettes, checked for leaks and judged, so all of them agree. It is sent as written
        (no ``{name}`` filling: the case's variables are not the target's).
        """
        if case.system is None and target.system is not None:
            case = dataclasses.replace(case, system=literal(target.system))
        if probe_category is not None:
            key = f"probes/{probe_category}.yaml::{case.id}"
        else:
            key = cassette.case_key(case.path, case.id, self.settings.cases_path, self.rootpath)
        return ReplayJob(key=nodeid, case=case, target=target, plan=plan_for(case, self.repeat), cassette_key=key,
                         canary=self.canary_for(case), max_tool_rounds=self.settings.max_tool_rounds)

    def checked_run(self, job: ReplayJob, run: int, should_stop: StopFlag | None = None) -> RunRecord:
        """Replay run ``run`` of ``job`` and check it (judge and embedder included): one pool task."""
        return run_record(job.case, job.replay(run, should_stop), self.checker, self.pricing)

    def close(self) -> None:
        """Close every target once (the session's end and pytest_unconfigure both ask)."""
        if self._closed:
            return
        self._closed = True
        for target in [*self.targets.values(), *self._helpers]:
            target.close()


RUN_KEY = pytest.StashKey[LlmopsRun]()


def is_xdist_worker(config: pytest.Config) -> bool:
    """True inside a pytest-xdist worker process (xdist's documented test: the worker's input is set)."""
    return hasattr(config, "workerinput")

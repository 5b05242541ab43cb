"""pytest hooks only: options, collecting case files into items, failure text, JUnit properties.

The work is done by the engine (cases, targets, replay, checks); this module wires it
into pytest. Run state lives in ``config.stash``, never in module globals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

from .. import repeat
from ..targets import cassette
from . import collector, replay_ahead as concurrent_replay
from ..cases import LoadedCase, load_case_file
from ..checks.checker import Checker, excerpt
from ..config import Settings, load_settings
from ..errors import CaseFileError, ConfigError
from ..record import case_record
from ..targets import Target, build_target
from ..transcript import Transcript

CASE_SUFFIXES = (".yaml", ".yml")


@dataclass
class LlmopsRun:
    """Everything one ``--llmops`` session shares: settings, the target, the checker."""

    settings: Settings
    target: Target
    checker: Checker
    registered_tags: set[str]
    targets: dict[str, Target] = field(default_factory=dict)  # built once per name, on first use
    cassettes: cassette.CassetteMode | None = None  # --llmops-record / --llmops-replay
    repeat: int | None = None  # --llmops-repeat: runs of every case

    def build(self, name: str) -> Target:
        """Build target ``name``, wrapped for recording or replaying when cassettes are on."""
        if self.cassettes is None:
            return build_target(name, self.settings)
        return cassette.build_cassette_target(name, self.settings, self.cassettes, self.checker.detector, build_target)

    def target_named(self, name: str | None) -> Target:
        """The target called ``name`` (None: the run's own), built and cached on first use.

        Raises ConfigError for an unknown name or bad options, before anything is sent.
        """
        if name is None or name == self.settings.target:
            return self.target
        if name not in self.targets:
            self.targets[name] = self.build(name)
        return self.targets[name]


RUN_KEY = pytest.StashKey[LlmopsRun]()
RECORD_KEY = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("llmops", "pytest-llmops: chatbot conversation cases")
    group.addoption("--llmops", action="store_true", default=False,
                    help="collect YAML conversation cases (from cases_dir, default eval_cases/) and replay them.")
    group.addoption("--llmops-target", metavar="NAME", default=None,
                    help="target to replay against: 'stub' (built-in bot) or a [tool.llmops.targets.NAME] entry.")
    group.addoption("--llmops-cases", metavar="DIR", default=None,
                    help="folder of case files, relative to the project root (overrides cases_dir).")
    group.addoption("--llmops-concurrency", metavar="N", type=int, default=None,
                    help="conversations replayed at once (overrides concurrency; default 8).")
    group.addoption("--llmops-max-latency-ms", metavar="MS", type=float, default=None,
                    help="default latency limit per reply in milliseconds (overrides max_latency_ms; default 5000).")
    group.addoption("--llmops-timeout", metavar="SECONDS", type=float, default=None,
                    help="give up on a reply after this many seconds (overrides timeout_s; default 30).")
    group.addoption("--llmops-results", metavar="PATH", default=None,
                    help="write the run (every case, turn and check, plus the summary) as JSON to PATH; "
                         "see docs/results.md.")
    group.addoption("--llmops-repeat", metavar="N", type=int, default=None,
                    help="replay every case N times (overrides each case's repeat; a case's min_pass keeps its "
                         "share of runs); see docs/cases.md.")
    group.addoption("--llmops-record", metavar="DIR", default=None,
                    help="record every exchange into cassettes under DIR (secrets removed, personal data masked).")
    group.addoption("--llmops-replay", metavar="DIR", default=None,
                    help="replay offline from the cassettes under DIR; latency is judged on recorded latencies.")
    group.addoption("--llmops-record-missing", action="store_true", default=False,
                    help="with --llmops-replay: send cases or turns with no recording live and add them to DIR.")
    group.addoption("--llmops-record-pii", action="store_true", default=False,
                    help="keep personal data in recorded cassettes as the bot said it (default: masked).")


def _overrides(config: pytest.Config) -> dict[str, Any]:
    return {
        "target": config.getoption("llmops_target"),
        "cases_dir": config.getoption("llmops_cases"),
        "concurrency": config.getoption("llmops_concurrency"),
        "max_latency_ms": config.getoption("llmops_max_latency_ms"),
        "timeout_s": config.getoption("llmops_timeout"),
    }


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "llmops: a conversation case collected by pytest-llmops")
    if not config.getoption("llmops"):
        if config.getoption("llmops_results"):
            raise pytest.UsageError("pytest-llmops: --llmops-results needs --llmops")
        return
    try:
        settings = load_settings(config.rootpath, _overrides(config))
        checker = Checker.from_settings(settings)
        run = LlmopsRun(settings, None, checker, set(), repeat=_repeat_option(config),  # type: ignore[arg-type]
                        cassettes=cassette.mode_from_options(
                            config.getoption("llmops_record"), config.getoption("llmops_replay"),
                            config.getoption("llmops_record_missing"), config.getoption("llmops_record_pii"),
                            config.invocation_params.dir))
        target = run.target = run.build(settings.target)
    except (ConfigError, ValueError) as exc:
        raise pytest.UsageError(f"pytest-llmops: {exc}") from None
    config.stash[RUN_KEY] = run
    concurrent_replay.install(config, settings.concurrency)
    collector.install(config, cases_dir=settings.cases_dir, concurrency=settings.concurrency,
                      target=target.describe(), detector=checker.detector)
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        # `pytest --llmops` with no paths means "the case suite", not the project's unit tests.
        config.args = [str(settings.cases_path)]


def _repeat_option(config: pytest.Config) -> int | None:
    value = config.getoption("llmops_repeat")
    if value is not None and not 1 <= value <= 1000:
        raise ConfigError(f"--llmops-repeat {value}: give a number of runs from 1 to 1000")
    return value


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN_KEY, None)
    if run is not None:
        run.target.close()
        for other in run.targets.values():
            other.close()


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    run = config.stash.get(RUN_KEY, None)
    if run is None:
        return None
    settings = run.settings
    return [f"llmops: target {settings.target} ({run.target.kind}), cases {settings.cases_dir}/, "
            f"concurrency {settings.concurrency}, max latency {settings.max_latency_ms:g} ms",
            f"llmops: reproduce with: pytest --llmops --llmops-target {settings.target}"] + (
            [f"llmops: cassettes: {run.cassettes.describe()}"] if run.cassettes else []) + (
            [f"llmops: every case replayed {run.repeat} time(s) (--llmops-repeat {run.repeat})"] if run.repeat else [])


def _is_case_file(run: LlmopsRun, file_path: Path, config: pytest.Config) -> bool:
    if file_path.suffix not in CASE_SUFFIXES:
        return False
    resolved = file_path.resolve()
    if resolved.is_relative_to(run.settings.cases_path):
        return True
    named = {Path(arg.split("::")[0]).resolve() for arg in config.args}
    return resolved in named


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> "CaseYamlFile | None":
    run = parent.config.stash.get(RUN_KEY, None)
    if run is None or not _is_case_file(run, file_path, parent.config):
        return None
    return CaseYamlFile.from_parent(parent, path=file_path)


class CaseYamlFile(pytest.File):
    """A YAML case file: one item per case, or one clear collection error for a bad file."""

    def collect(self) -> Iterator["CaseItem"]:
        try:
            cases = load_case_file(self.path)
        except CaseFileError as exc:
            raise self.CollectError(self._relative(str(exc))) from None
        run = self.config.stash[RUN_KEY]
        for case in cases:
            try:
                target = run.target_named(case.target)
            except ConfigError as exc:
                line = f"{self.nodeid}:{case.line}: case {case.id!r}"
                raise self.CollectError(f"{line}: {exc}") from None
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


class CaseFailed(Exception):
    """A case whose checks failed; carries the record for the failure text."""

    def __init__(self, record: dict[str, Any]):
        super().__init__(record["nodeid"])
        self.record = record


class CaseItem(pytest.Item):
    """One conversation case, replayed and checked when pytest runs it."""

    def __init__(self, *, case: LoadedCase, target: Target, **kwargs: Any):
        super().__init__(**kwargs)
        self.case = case
        self.target = target
        self.repeat_plan = repeat.plan_for(case, self.config.stash[RUN_KEY].repeat)
        self.cassette_key = cassette.case_key(case.path, case.id, self.config.stash[RUN_KEY].settings.cases_path,
                                              self.config.rootpath)

    def replay(self, run: int = 1) -> Transcript:
        """Send one run of this case's conversation to its target; may run on a replay pool thread."""
        return concurrent_replay.replay_item(self, run)

    def replay_jobs(self) -> list[tuple[Any, Any]]:
        """One replay pool job per run: the runs of a repeated case go concurrently."""
        return repeat.replay_jobs(self.nodeid, self.repeat_plan, self.replay)

    def runtest(self) -> None:
        run = self.config.stash[RUN_KEY]
        transcripts = concurrent_replay.results_for(self)
        cassette.finish(self.target, self.cassette_key)
        records = []
        for transcript in transcripts:
            turns = run.checker.check_transcript(transcript, self.case.turn_expects)
            records.append(case_record(self.case, self.nodeid, self.target.describe(), transcript, turns,
                                       run.checker.detector))
        record = repeat.combine(records, self.repeat_plan)
        self.stash[RECORD_KEY] = record
        self._record_properties(record)
        if not record["passed"]:
            raise CaseFailed(record)

    def _record_properties(self, record: dict[str, Any]) -> None:
        self.user_properties.append(("llmops_target", record["target"]["name"]))
        for turn in record["turns"]:
            prefix = f"llmops_turn_{turn['turn']}"
            self.user_properties.append((f"{prefix}_latency_ms", turn["latency_ms"]))
            if turn.get("ttft_ms") is not None:  # streaming targets: time to first token
                self.user_properties.append((f"{prefix}_ttft_ms", turn["ttft_ms"]))
            if turn.get("retries"):  # 429/503 retries the reply needed
                self.user_properties.append((f"{prefix}_retries", turn["retries"]))
            failed = [check["check"] for check in turn["checks"] if not check["passed"]]
            self.user_properties.append((f"{prefix}_failed_checks", ",".join(failed)))
        self.user_properties.extend(repeat.junit_properties(record))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            return format_failure(excinfo.value.record)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"llmops case {self.case.id}"


def format_failure(record: dict[str, Any]) -> str:
    """The terminal failure text: every failed check of every turn, PII already masked."""
    failed = [(turn, check) for turn in record["turns"] for check in turn["checks"] if not check["passed"]]
    lines = [f"{record['nodeid']}: {len(failed)} check(s) failed (target: {record['target']['name']})"]
    lines += repeat.distribution_lines(record)
    for turn in record["turns"]:
        if turn["passed"]:
            continue
        lines.append("")
        lines.append(f"turn {turn['turn']}: user: {excerpt(turn['user'], 200)!r}")
        if turn["reply"] is not None:
            lines.append(f"  reply ({turn['latency_ms']:.0f} ms): {excerpt(turn['reply'])!r}")
        for check in turn["checks"]:
            if not check["passed"]:
                lines.append(f"  FAILED {check['check']}: expected {check['expected']}; got {check['actual']}")
    if record["skipped_turns"]:
        lines.append("")
        lines.append(f"{record['skipped_turns']} later turn(s) not sent: the conversation broke off at a fault "
                     "or a failed save")
    return "\n".join(lines)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    if call.when == "call" and isinstance(item, CaseItem) and RECORD_KEY in item.stash:
        # Travels with the report (also across pytest-xdist workers) for reports and results JSON.
        report.llmops = item.stash[RECORD_KEY]
    elif isinstance(item, CaseItem) and (report.failed or report.skipped):
        # A case its checks never judged (skipped, setup error, crash) still shows in reports, once.
        detector = item.config.stash[RUN_KEY].checker.detector
        report.llmops = collector.unrun_record(item.case, item.nodeid, item.target.describe(), detector)
    return report

"""The pytest front: the only package that imports pytest.

* this module: the hooks (options, configuring a run, collecting case files, reports
  crossing to xdist's controller);
* :mod:`.run`: what one session shares (settings, checker, targets);
* :mod:`.items`: case files and case items;
* :mod:`.replay_ahead`: replaying selected cases ahead of pytest on a bounded pool;
* :mod:`.failure`: failure text and JUnit properties from a case's record;
* :mod:`.collector`: the run's results (terminal summary, ``--llmops-results``);
* :mod:`.html`: pytest-html integration, registered only when pytest-html is active;
* :mod:`.invocation`: mistakes in the command line pytest cannot see, and "reproduce with".

Run state lives in ``config.stash``, never in module globals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from ..cases import is_case_file_name, is_symlink_loop, is_within
from ..checks import Checker
from ..config import load_settings
from ..errors import ConfigError
from ..probes.library import PROBE_CATEGORIES, parse_selection
from ..record import unjudged_case
from ..results import CaseResult, case_from_dict, case_to_dict
from ..targets import cassette
from . import collector, gc_pacing, replay_ahead
from .invocation import cases_without_llmops_problem, missing_cases_problem, reproduce_command, rootdir_problem
from .items import RECORD_KEY, CaseItem, CaseYamlFile, ProbeLibrary
from .run import RUN_KEY, LlmopsRun, is_xdist_worker


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
    group.addoption("--llmops-probes", metavar="LIST", default=None,
                    help="also run the shipped safety probes: 'all' or categories, comma-separated "
                         f"({', '.join(PROBE_CATEGORIES)}); see docs/probes.md.")
    group.addoption("--llmops-no-cache", action="store_true", default=False,
                    help="ask the judge and the embedder again instead of reusing cached verdicts and vectors "
                         "(cache_dir, default .llmops-cache/).")


#: [tool.llmops] key -> (pytest option dest, the option as typed)
OVERRIDES = {
    "target": ("llmops_target", "--llmops-target"),
    "cases_dir": ("llmops_cases", "--llmops-cases"),
    "concurrency": ("llmops_concurrency", "--llmops-concurrency"),
    "max_latency_ms": ("llmops_max_latency_ms", "--llmops-max-latency-ms"),
    "timeout_s": ("llmops_timeout", "--llmops-timeout"),
}


def _overrides(config: pytest.Config) -> dict[str, Any]:
    return {key: config.getoption(dest) for key, (dest, _) in OVERRIDES.items()}


def _repeat_option(config: pytest.Config) -> int | None:
    value = config.getoption("llmops_repeat")
    if value is not None and not 1 <= value <= 1000:
        raise ConfigError(f"--llmops-repeat {value}: give a number of runs from 1 to 1000")
    return value


def _new_run(config: pytest.Config) -> LlmopsRun:
    """The session's shared state; ConfigError for bad settings or options, before anything runs."""
    settings = load_settings(config.rootpath, _overrides(config),
                             flags={key: flag for key, (_, flag) in OVERRIDES.items()})
    cassettes = cassette.mode_from_options(
        config.getoption("llmops_record"), config.getoption("llmops_replay"),
        config.getoption("llmops_record_missing"), config.getoption("llmops_record_pii"),
        config.invocation_params.dir)
    probes = config.getoption("llmops_probes")
    run = LlmopsRun(settings, Checker.from_settings(settings), config.rootpath, cassettes=cassettes,
                    repeat=_repeat_option(config), use_cache=not config.getoption("llmops_no_cache"),
                    probe_categories=parse_selection(probes) if probes is not None else ())
    run.target_named(None)  # the run's own target: a bad one is a usage error now, not at the first case
    run.set_up_evaluators()  # the judge and the embedder, likewise
    return run


def _check_without_llmops(config: pytest.Config) -> None:
    """A run without ``--llmops``: our options need it, and our case folder means nothing to pytest alone."""
    for option in ("results", "probes"):
        if config.getoption(f"llmops_{option}") is not None:
            raise pytest.UsageError(f"pytest-llmops: --llmops-{option} needs --llmops")
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return
    try:
        cases_path = load_settings(config.rootpath).cases_path
    except ConfigError:
        return  # settings only matter with --llmops, where their error is reported
    problem = cases_without_llmops_problem(config, cases_path)
    if problem:
        raise pytest.UsageError(f"pytest-llmops: {problem}")


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "llmops: a conversation case collected by pytest-llmops")
    problem = None if hasattr(config, "workerinput") else rootdir_problem(config)
    if problem:
        raise pytest.UsageError(f"pytest-llmops: {problem}")
    if not config.getoption("llmops"):
        _check_without_llmops(config)
        return
    try:
        run = _new_run(config)
    except (ConfigError, ValueError) as exc:
        raise pytest.UsageError(f"pytest-llmops: {exc}") from None
    settings = run.settings
    if (config.args_source != pytest.Config.ArgsSource.ARGS and not is_xdist_worker(config)
            and not run.probe_categories):  # with --llmops-probes, the probes can run alone
        problem = missing_cases_problem(settings, from_option=config.getoption("llmops_cases") is not None)
        if problem:
            run.close()
            raise pytest.UsageError(f"pytest-llmops: {problem}")
    config.stash[RUN_KEY] = run
    replay_ahead.install(config, settings.concurrency)
    gc_pacing.install(config)
    collector.install(config, cases_dir=settings.cases_dir, concurrency=settings.concurrency,
                      default_target=run.target_info(run.target_named(None)), detector=run.checker.detector)
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        # `pytest --llmops` with no paths means "the case suite", not the project's unit tests;
        # with --llmops-probes and no case folder yet, the probes alone.
        no_suite = run.probe_categories and not settings.cases_path.exists()
        config.args = [] if no_suite else [str(settings.cases_path)]


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN_KEY, None)
    if run is not None:
        run.close()


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    run = config.stash.get(RUN_KEY, None)
    if run is None:
        return None
    settings = run.settings
    kind = run.target_named(None).kind
    evaluators = run.describe_evaluators()
    return [f"llmops: target {settings.target} ({kind}), cases {settings.cases_dir}/, "
            f"concurrency {settings.concurrency}, max latency {settings.max_latency_ms:g} ms",
            f"llmops: reproduce with: {reproduce_command(config, settings, run.repeat)}"] + (
            [f"llmops: cassettes: {run.cassettes.describe()}"] if run.cassettes else []) + (
            [evaluators] if evaluators else []) + (
            [f"llmops: every case replayed {run.repeat} time(s) (--llmops-repeat={run.repeat})"] if run.repeat else []
            ) + ([f"llmops: probes: {', '.join(run.probe_categories)} (--llmops-probes)"] if run.probe_categories else [])


def _is_case_file(run: LlmopsRun, file_path: Path, config: pytest.Config) -> bool:
    """A YAML file under the cases folder (through symlinks inside it too, as ``llmops validate`` counts
    them: ``cases.case_files_in``), or one named on the command line."""
    if not is_case_file_name(file_path.name):
        return False
    if is_within(file_path, run.settings.cases_path):
        return True
    resolved = file_path.resolve()
    named = {Path(arg.split("::")[0]).resolve() for arg in config.args}
    return resolved in named


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Never walk a symlink that loops back above itself (pytest would follow it until the OS gives up)."""
    run = config.stash.get(RUN_KEY, None)
    if run is not None and is_symlink_loop(collection_path) and is_within(collection_path, run.settings.cases_path):
        return True
    return None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> CaseYamlFile | None:
    run = parent.config.stash.get(RUN_KEY, None)
    if run is None or not _is_case_file(run, file_path, parent.config):
        return None
    return CaseYamlFile.from_parent(parent, path=file_path)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--llmops-probes``: add the chosen probe categories after the collected cases.

    First among the hooks that change ``items``, so ``-k``, ``-m``, ``--lf`` and xdist
    treat probes like any case; collected through ``session.genitems``, so they are
    counted and reported as collected items.
    """
    run = config.stash.get(RUN_KEY, None)
    if run is None or not run.probe_categories:
        return
    library = ProbeLibrary.from_parent(session, name="probes", nodeid="probes")
    items.extend(session.genitems(library))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    if not isinstance(item, CaseItem):
        return report
    if call.when == "call" and RECORD_KEY in item.stash:
        report.llmops = item.stash[RECORD_KEY]  # the case's record travels with its report
    elif report.failed or report.skipped:
        # A case its checks never judged (skipped, setup error, crash) still shows in reports, once.
        run = item.config.stash[RUN_KEY]
        report.llmops = unjudged_case(item.case, item.nodeid, run.target_info(item.target),
                                      probe_category=item.probe_category)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_report_to_serializable(config: pytest.Config, report: Any) -> Iterator[Any]:
    """An xdist worker sends the record as plain data (the one way out: ``results.case_to_dict``)."""
    data = yield
    if isinstance(data, dict) and isinstance(data.get("llmops"), CaseResult):
        data["llmops"] = case_to_dict(data["llmops"])
    return data


@pytest.hookimpl(wrapper=True)
def pytest_report_from_serializable(config: pytest.Config, data: Any) -> Iterator[Any]:
    """The controller turns it back into the typed record (the one way in: ``results.case_from_dict``)."""
    report = yield
    record = getattr(report, "llmops", None)
    if isinstance(record, dict):
        report.llmops = case_from_dict(record)
    return report

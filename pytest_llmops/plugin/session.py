"""The hooks of a ``--llmops`` session: configuring the run, collecting case files, reports to xdist's controller.

The plugin package is the only one that imports pytest:

* :mod:`pytest_llmops.plugin` (the entry point): the options, and loading this module
  only when ``--llmops`` is given, so other pytest runs import nothing heavy;
* this module: set up the run (:func:`start`) and the hooks it registers;
* :mod:`.run`: what one session shares (settings, checker, targets);
* :mod:`.items`: case files and case items;
* :mod:`.replay_ahead`: replaying selected cases ahead of pytest on a bounded pool
  (:mod:`.xdist_share` under pytest-xdist), :mod:`.gc_pacing` the garbage collector meanwhile;
* :mod:`.failure`: failure text and JUnit properties from a case's record;
* :mod:`.collector`: the run's results (terminal summary, ``--llmops-results``);
* :mod:`.html`: pytest-html integration, registered only when a report is asked for;
* :mod:`.invocation`: mistakes in the command line pytest cannot see, and "reproduce with".

Run state lives in ``config.stash``, never in module globals.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from ..cases import is_case_file_name, is_symlink_loop, is_within
from ..checks import Checker
from ..config import load_settings
from ..errors import ConfigError
from ..probes.library import parse_selection
from ..record import unjudged_case
from ..results import CaseResult, case_from_dict, case_to_dict
from ..targets import cassette
from . import collector, gc_pacing, replay_ahead
from .invocation import missing_cases_problem, reproduce_command
from .items import RECORD_KEY, CaseItem, CaseYamlFile, ProbeLibrary
from .run import RUN_KEY, LlmopsRun, is_xdist_worker

#: this module, registered as a plugin: held here, because pytester's in-process runs take modules
#: imported during a run back out of sys.modules (this one is imported only once --llmops is seen)
THIS_MODULE = sys.modules[__name__]
PLUGIN_NAME = "llmops-session"


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


def start(config: pytest.Config) -> None:
    """Set up a ``--llmops`` session (called from the entry point's pytest_configure) and register these hooks."""
    config.pluginmanager.register(THIS_MODULE, PLUGIN_NAME)
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

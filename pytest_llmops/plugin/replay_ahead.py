"""pytest hooks that replay the selected cases ahead of time on a :class:`ReplayScheduler`.

After collection and deselection (``-k``, ``-m``, ``--lf``...), every case item that
will really run hands its :class:`~pytest_llmops.replay.ReplayJob` to the pool in
pytest's order, one task per run: replaying the run and checking it (the judge and the
embedder wait on the network too, so they are asked on the pool as well). Each item's
``runtest`` then waits only for its own runs, so pytest still reports one item at a
time, in order. Items carrying a
``skip``/``skipif`` marker are never sent ahead: they are replayed in ``runtest`` only
if pytest actually runs them.

When the session ends (normally, or on Ctrl-C, ``-x`` or ``--maxfail``) the pool stops:
replays not started are cancelled, the run's targets are closed, which ends any request
still waiting on a hung chatbot, and the workers are joined, so none outlives the run.

Under pytest-xdist a worker replays ahead every item xdist has queued for it: with
``--llmops`` the controller sends each worker its whole share at once
(:mod:`.xdist_share`), so every worker keeps its concurrency busy. Where xdist may take
queued items back (``--dist worksteal``) a worker replays only the item it runs and the
one xdist has already committed to run next. Each case is thus replayed exactly once
across workers.
"""

from __future__ import annotations

import sys
from typing import Any, Iterator

import pytest

from ..replay import ReplayJob
from ..results import RunRecord
from ..scheduler import JobCancelled, ReplayScheduler
from . import xdist_share
from .run import RUN_KEY, is_xdist_worker

#: this module, registered as a plugin: held here, because pytester's in-process runs take modules
#: imported during a run back out of sys.modules (this one is imported only once --llmops is seen)
THIS_MODULE = sys.modules[__name__]
SCHEDULER_KEY = pytest.StashKey[ReplayScheduler]()
#: under xdist, the items queued on this worker not yet sent ahead
WORKER_QUEUE_KEY = pytest.StashKey[xdist_share.WorkerQueue]()
#: the replay job of a case item (set when the item is created); other items have none
JOB_KEY = pytest.StashKey[ReplayJob]()
PLUGIN_NAME = "llmops-concurrent-replay"
#: how long the session's end waits for the workers once their requests were ended
WORKERS_JOIN_S = 5.0


def install(config: pytest.Config, workers: int) -> ReplayScheduler:
    """Create the run's scheduler and register these hooks (called from pytest_configure)."""
    scheduler = ReplayScheduler(workers)
    config.stash[SCHEDULER_KEY] = scheduler
    config.pluginmanager.register(THIS_MODULE, PLUGIN_NAME)
    if is_xdist_worker(config):
        config.stash[WORKER_QUEUE_KEY] = xdist_share.WorkerQueue(config)
    else:
        config.pluginmanager.register(xdist_share, f"{PLUGIN_NAME}-xdist-share")
    return scheduler


def _sends_nothing(config: pytest.Config) -> bool:
    option = config.option
    return bool(getattr(option, "collectonly", False) or getattr(option, "setuponly", False)
                or getattr(option, "setupplan", False))


def _job_ahead(item: pytest.Item | None) -> ReplayJob | None:
    """The job of ``item`` if it is a case that may be replayed before pytest runs it."""
    if item is None or JOB_KEY not in item.stash:
        return None
    if item.get_closest_marker("skip") is not None or item.get_closest_marker("skipif") is not None:
        return None
    return item.stash[JOB_KEY]


def _submit(config: pytest.Config, scheduler: ReplayScheduler, job: ReplayJob) -> None:
    """One pool task per run of ``job`` (replayed and checked): the runs of a repeated case go concurrently."""
    stop = scheduler.stopping.is_set
    checked_run = config.stash[RUN_KEY].checked_run
    for run in job.run_numbers:
        scheduler.submit((job.key, run), lambda run=run: checked_run(job, run, stop))


def run_records_of(config: pytest.Config, job: ReplayJob) -> list[RunRecord]:
    """Every run, replayed and checked, in run order; runs not sent ahead are queued now, so they go concurrently."""
    scheduler = config.stash.get(SCHEDULER_KEY, None)
    if scheduler is None:
        return [config.stash[RUN_KEY].checked_run(job, run) for run in job.run_numbers]
    _submit(config, scheduler, job)
    try:
        return [scheduler.result((job.key, run)) for run in job.run_numbers]
    except JobCancelled:
        pytest.skip("llmops: replay cancelled (the run is stopping)")


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if _sends_nothing(config) or is_xdist_worker(config):
        return
    scheduler = config.stash[SCHEDULER_KEY]
    for item in session.items:
        job = _job_ahead(item)
        if job is not None:
            _submit(config, scheduler, job)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[Any]:
    scheduler = item.config.stash[SCHEDULER_KEY]
    if is_xdist_worker(item.config):
        queued = item.config.stash[WORKER_QUEUE_KEY].new_items(item.session)
        for job in map(_job_ahead, (item, nextitem, *queued)):
            if job is not None:
                _submit(item.config, scheduler, job)
    try:
        return (yield)
    finally:
        session = item.session
        if session.shouldfail or session.shouldstop:
            scheduler.cancel_pending()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the pool: cancel what has not started, end requests in flight, wait for the workers."""
    config = session.config
    scheduler = config.stash.get(SCHEDULER_KEY, None)
    if scheduler is None:
        return
    scheduler.shutdown()
    run = config.stash.get(RUN_KEY, None)
    if run is not None:
        run.close()  # closing the targets ends a request still waiting on the chatbot
    if not scheduler.join(WORKERS_JOIN_S):
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"llmops: {scheduler.running_threads} replay worker(s) still busy after "
                                f"{WORKERS_JOIN_S:g} s (a target that does not return?)", yellow=True)

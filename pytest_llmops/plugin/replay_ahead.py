"""pytest hooks that replay the selected cases ahead of time on a :class:`ReplayScheduler`.

After collection and deselection (``-k``, ``-m``, ``--lf``...), every case item that
will really run is handed to the pool in pytest's order; each item's ``runtest`` then
waits only for its own transcript, so pytest still reports one item at a time, in
order. Items carrying a ``skip``/``skipif`` marker are never sent ahead: they are
replayed in ``runtest`` only if pytest actually runs them.

Under pytest-xdist a worker does not know which items the controller will give it
(and may have pending items stolen), so it never sends ahead blindly: it replays the
item it runs and the one xdist has already committed to run next. Each case is thus
replayed exactly once across workers.
"""

from __future__ import annotations

import sys
from typing import Any, Iterator

import pytest

from ..targets import cassette
from ..replay import replay_case
from ..scheduler import JobCancelled, ReplayScheduler
from ..transcript import Transcript

SCHEDULER_KEY = pytest.StashKey[ReplayScheduler]()
PLUGIN_NAME = "llmops-concurrent-replay"


def install(config: pytest.Config, workers: int) -> ReplayScheduler:
    """Create the run's scheduler and register these hooks (called from pytest_configure)."""
    scheduler = ReplayScheduler(workers)
    config.stash[SCHEDULER_KEY] = scheduler
    config.pluginmanager.register(sys.modules[__name__], PLUGIN_NAME)
    return scheduler


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _sends_nothing(config: pytest.Config) -> bool:
    option = config.option
    return bool(getattr(option, "collectonly", False) or getattr(option, "setuponly", False)
                or getattr(option, "setupplan", False))


def _replays_ahead(item: pytest.Item | None) -> bool:
    """Whether ``item`` is a case that may be replayed before pytest runs it."""
    if item is None or not hasattr(item, "replay"):
        return False
    return item.get_closest_marker("skip") is None and item.get_closest_marker("skipif") is None


def _submit(scheduler: ReplayScheduler, item: pytest.Item | None) -> None:
    if _replays_ahead(item):
        for key, job in item.replay_jobs():  # type: ignore[union-attr]  # one per run of a repeated case
            scheduler.submit(key, job)


def results_for(item: Any) -> list[Any]:
    """Every run's transcript, in run order; runs not sent ahead are queued now, so they go concurrently."""
    scheduler = item.config.stash.get(SCHEDULER_KEY, None)
    jobs = item.replay_jobs()
    if scheduler is None:
        return [job() for _, job in jobs]
    for key, job in jobs:
        scheduler.submit(key, job)
    try:
        return [scheduler.result(key) for key, _ in jobs]
    except JobCancelled:
        pytest.skip("llmops: replay cancelled (the run is stopping)")


def should_stop(config: pytest.Config) -> bool:
    """True once the run is stopping; long conversations check it between turns."""
    scheduler = config.stash.get(SCHEDULER_KEY, None)
    return scheduler is not None and scheduler.stopping.is_set()


def replay_item(item: Any, run: int = 1) -> Transcript:
    """Replay one run of a case item against its own target (runs on a pool thread)."""
    target = cassette.bind(item.target, item.cassette_key, run)
    return replay_case(item.case, target, should_stop=lambda: should_stop(item.config))


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if _sends_nothing(config) or _is_xdist_worker(config):
        return
    scheduler = config.stash[SCHEDULER_KEY]
    for item in session.items:
        _submit(scheduler, item)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[Any]:
    scheduler = item.config.stash[SCHEDULER_KEY]
    if _is_xdist_worker(item.config):
        _submit(scheduler, item)
        _submit(scheduler, nextitem)
    try:
        return (yield)
    finally:
        session = item.session
        if session.shouldfail or session.shouldstop:
            scheduler.cancel_pending()


def pytest_sessionfinish(session: pytest.Session) -> None:
    scheduler = session.config.stash.get(SCHEDULER_KEY, None)
    if scheduler is not None:
        scheduler.shutdown()

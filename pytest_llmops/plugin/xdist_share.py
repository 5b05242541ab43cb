"""Under pytest-xdist, each worker gets its whole share of the cases at once, and replays it ahead.

xdist's default (``--dist load``) hands a worker a few items at a time and waits for
long-running ones before sending more: right for CPU-bound tests, but a case that waits
on a chatbot then leaves the worker's replay pool nearly idle (at most two
conversations in flight per worker). With ``--llmops`` the controller instead sends
every worker a contiguous share of the items up front (:class:`ShareScheduling`), and a
worker replays ahead every item queued for it (:func:`queued_items`), so each keeps its
configured concurrency busy. Nothing is stolen back under this scheduling, so each case
is still replayed exactly once. Other ``--dist`` modes keep xdist's own scheduling; with
them a worker replays only the item it runs and the next.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

#: --dist modes where xdist never takes queued items back from a worker (``worksteal`` does)
NO_STEALING = frozenset({"load", "loadscope", "loadfile", "loadgroup", "each"})


def make_share_scheduling(config: pytest.Config, log: Any) -> Any:
    """A :class:`xdist.scheduler.LoadScheduling` that sends every worker its whole share at once."""
    from xdist.scheduler import LoadScheduling  # only where xdist runs the session

    class ShareScheduling(LoadScheduling):
        def schedule(self) -> None:
            if self.collection is not None or not self._check_nodes_have_same_collection():
                super().schedule()  # a node added later, or collections that differ: xdist's own handling
                return
            self.collection = next(iter(self.node2collection.values()))
            self.pending[:] = range(len(self.collection))
            share = math.ceil(len(self.collection) / len(self.nodes)) if self.collection else 0
            for node in self.nodes:
                self._send_tests(node, share)
            for node in self.nodes:
                node.shutdown()

    return ShareScheduling(config, log)


#: set by the controller in each worker's input: True when xdist never takes queued items back
QUEUE_IS_KEPT = "llmops_queue_is_kept"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Tell the worker whether it may replay everything queued on it (it cannot see ``--dist`` itself)."""
    node.workerinput[QUEUE_IS_KEPT] = node.config.getoption("dist", None) in NO_STEALING


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getoption("dist", None) != "load":
        return None  # the user chose a mode: keep it
    return make_share_scheduling(config, log)


class WorkerQueue:
    """The items xdist has queued on this worker and that were not yet sent ahead.

    xdist offers no API for the queue, so this reads its ``WorkerInteractor.torun``
    (a deque of item indices appended on the right, under its lock). Items are taken
    from the right up to the first one seen before, so each call costs only what is new.
    """

    def __init__(self, config: pytest.Config):
        self.interactor = next((plugin for plugin in config.pluginmanager.get_plugins()
                                if type(plugin).__name__ == "WorkerInteractor" and hasattr(plugin, "torun")), None)
        workerinput = getattr(config, "workerinput", {})
        self.enabled = self.interactor is not None and bool(workerinput.get(QUEUE_IS_KEPT))
        self.seen: set[int] = set()

    def new_items(self, session: pytest.Session) -> list[pytest.Item]:
        if not self.enabled:
            return []
        fresh: list[int] = []
        with self.interactor.torun.lock() as queue:
            for index in reversed(queue):
                if not isinstance(index, int):
                    continue  # xdist's shutdown marker
                if index in self.seen:
                    break
                fresh.append(index)
        self.seen.update(fresh)
        items = session.items
        return [items[index] for index in reversed(fresh)]

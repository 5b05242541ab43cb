"""Keep Python's full garbage collections from rescanning a large suite over and over.

Every collected case keeps objects alive until the session ends (its item, its case,
later its record), and CPython's automatic full collection walks every live container
each time it runs: at 10,000 cases the full collections during the run and its summary
took about 2.5 s, a sixth of the whole run. So from the end of collection the automatic
collector is paused, and every :data:`COLLECT_EVERY` finished items the young
generations are collected by hand (cheap: only objects made since), which frees the
short-lived cycles a run makes.

The collector is switched back on in ``pytest_unconfigure``, before pytest's own
end-of-run full collection, so any garbage left is still collected there and a finalizer
that raises is still reported (pytest's unraisable-exception check), as without pausing.
From the start of collection until that collection has run, the automatic *full*
collection is held off (its threshold raised; the young generations are collected as
usual, and the collector counts as on): while collection builds every case, each full
collection walked everything built so far (four of them, about 1 s, at 5,000 cases), and
the pause leaves one due at the end that would walk every live object once more just
before pytest's own (about 1 s more).
(``gc.freeze`` would do the same job, but hides frozen objects from
``gc.get_referrers``, which some libraries rely on: hypothesis then warns about trio.)

At the process's exit, after pytest's own last collection, everything still alive is
frozen: the interpreter's shutdown otherwise walks every live object again in several
full collections, which took 0.6-1.0 s of a 3 s run of 1,000 cases, for nothing the run
reports. Objects are still freed as their references go; only cycles left unreachable
during shutdown keep their memory, which the ending process gives back anyway.
"""

from __future__ import annotations

import atexit
import gc

import pytest

#: finished items between two collections of the young generations
COLLECT_EVERY = 100
PLUGIN_NAME = "llmops-gc-pacing"
#: a full-collection threshold no run reaches (the automatic full collection held off)
NEVER = 2**31 - 1


class GcPacing:
    """The pytest hooks; registered only with ``--llmops``. Does nothing where ``gc`` was off already."""

    def __init__(self) -> None:
        self.finished = 0
        self.paused = False
        self.full_threshold: int | None = None  # saved while full collections are held off

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self) -> None:
        if gc.isenabled() and self.full_threshold is None:
            young, middle, self.full_threshold = gc.get_threshold()
            gc.set_threshold(young, middle, NEVER)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if gc.isenabled() and not session.config.option.collectonly:
            gc.disable()
            self.paused = True

    def pytest_runtest_logfinish(self) -> None:
        self.finished += 1
        if self.paused and self.finished % COLLECT_EVERY == 0:
            gc.collect(1)

    @pytest.hookimpl(tryfirst=True)
    def pytest_unconfigure(self) -> None:
        if self.paused:
            gc.enable()
            self.paused = False
        _skip_shutdown_collections()

    @pytest.hookimpl(trylast=True, specname="pytest_unconfigure")
    def restore_full_collections(self) -> None:
        """After pytest's own full collection (its unraisable-exception check, in its pytest_unconfigure)."""
        if self.full_threshold is not None:
            young, middle, _ = gc.get_threshold()
            gc.set_threshold(young, middle, self.full_threshold)
            self.full_threshold = None


def _skip_shutdown_collections() -> None:
    """Freeze what is alive when the process exits (once, however many sessions ran in it)."""
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


def install(config: pytest.Config) -> None:
    """Register the hooks (from the plugin's pytest_configure, with ``--llmops``)."""
    config.pluginmanager.register(GcPacing(), PLUGIN_NAME)

"""Keep Python's full garbage collections from rescanning a large suite over and over.

Every collected case keeps objects alive until the session ends (its item, its case,
later its record), and CPython's automatic full collection walks every live container
each time it runs: at 10,000 cases the full collections during the run and its summary
took about 2.5 s, a sixth of the whole run. So from the end of collection the automatic
collector is paused, and every :data:`COLLECT_EVERY` finished items the young
generations are collected by hand (cheap: only objects made since), which frees the
short-lived cycles a run makes. (``gc.freeze`` for the whole run would do the same job,
but hides frozen objects from ``gc.get_referrers``, which some libraries use at the end of
a run: hypothesis then warns about trio.)

The collector is switched back on in ``pytest_unconfigure``, before pytest's own
end-of-run full collection, so any garbage left is still collected there and a finalizer
that raises is still reported (pytest's unraisable-exception check), as without pausing.
From the start of collection until that collection has run, the automatic *full*
collection is held off (its threshold raised; the young generations are collected as
usual, and the collector counts as on): while collection builds every case, each full
collection walked everything built so far (four of them, about 1 s, at 5,000 cases), and
the pause leaves one due at the end that would walk every live object once more just
before pytest's own (about 1 s more).

pytest (9.2) collects everything twice at the end: in its ``pytest_unconfigure`` and again
in its last cleanup. Between the two, what is alive (every case, item, record and report)
is frozen, so the second walks only what was made after the first; it is unfrozen right
after (the process may go on: pytester, an IDE), by a cleanup registered before pytest's
own (:func:`prepare`, from ``pytest_cmdline_main``). Not if something else had frozen
objects, and not where that cleanup could not be registered (an xdist worker).

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
#: set by :func:`prepare`: an unfreeze will run after pytest's last cleanup
UNFREEZE_AFTER_PYTEST = pytest.StashKey[bool]()
#: True while the objects frozen between pytest's two end-of-run collections are frozen
_frozen_by_us = False


class GcPacing:
    """The pytest hooks; registered only with ``--llmops``. Does nothing where ``gc`` was off already."""

    def __init__(self, may_freeze: bool) -> None:
        self.may_freeze = may_freeze
        self.finished = 0
        self.paused = False
        self.full_threshold: int | None = None  # saved while full collections are held off
        self.collected_at_end = False

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
        gc.callbacks.append(self._note_full_collection)
        _skip_shutdown_collections()

    def _note_full_collection(self, phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            self.collected_at_end = True

    @pytest.hookimpl(trylast=True, specname="pytest_unconfigure")
    def pytest_unconfigure_after_pytests_collection(self) -> None:
        """After pytest's own full collection (its unraisable-exception check, in its pytest_unconfigure)."""
        if self.full_threshold is not None:
            young, middle, _ = gc.get_threshold()
            gc.set_threshold(young, middle, self.full_threshold)
            self.full_threshold = None
        gc.callbacks.remove(self._note_full_collection)
        global _frozen_by_us
        # only once pytest has collected everything itself (9.2 does it here; older ones only in their cleanup)
        if self.may_freeze and self.collected_at_end and self.finished and gc.get_freeze_count() == 0:
            gc.freeze()
            _frozen_by_us = True


def _unfreeze() -> None:
    global _frozen_by_us
    if _frozen_by_us:
        gc.unfreeze()
        _frozen_by_us = False


def prepare(config: pytest.Config) -> None:
    """From ``pytest_cmdline_main``, before any plugin configures: the unfreeze then runs after pytest's last cleanup."""
    config.stash[UNFREEZE_AFTER_PYTEST] = True
    config.add_cleanup(_unfreeze)


def _skip_shutdown_collections() -> None:
    """Freeze what is alive when the process exits (once, however many sessions ran in it)."""
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


def install(config: pytest.Config) -> None:
    """Register the hooks (from the plugin's pytest_configure, with ``--llmops``)."""
    config.pluginmanager.register(GcPacing(config.stash.get(UNFREEZE_AFTER_PYTEST, False)), PLUGIN_NAME)

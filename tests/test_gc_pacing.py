"""The automatic garbage collector pauses while cases run, and the run still frees and reports what it must.

Speed is benchmarks/replay.py's job; these tests pin the behaviour: paused from the end of
collection, back on when the run ends (in the same process, for whatever runs next), and
a reference cycle whose finalizer raises during a case is still collected and reported
by pytest's unraisable-exception check, exactly as without the pause.
"""

from __future__ import annotations

import json

GC_STATE_CONFTEST = """
import gc, json, pathlib

STATES = {}

def pytest_collection_finish(session):
    STATES["collection"] = gc.isenabled()

def pytest_runtest_call(item):
    STATES.setdefault("cases", []).append(gc.isenabled())

def pytest_unconfigure(config):
    STATES["after"] = gc.isenabled()
    pathlib.Path("gc-states.json").write_text(json.dumps(STATES))
"""

RAISING_FINALIZER_CONFTEST = """
class Cycle:
    def __init__(self):
        self.me = self

    def __del__(self):
        raise RuntimeError("finalizer of a cycle made during a case")

def pytest_runtest_call(item):
    Cycle()  # unreachable at once, freed only by the cyclic collector
"""

CASES = "cases:\n" + "".join(f"  - id: c{n}\n    turns: [{{user: 'How long do I have to return item {n}?'}}]\n"
                              for n in range(3))


def test_the_collector_is_paused_while_cases_run_and_on_again_after(make_project):
    project = make_project({"gc.yaml": CASES})
    project.makeconftest(GC_STATE_CONFTEST)
    project.runpytest_subprocess("--llmops").assert_outcomes(passed=3)
    states = json.loads((project.path / "gc-states.json").read_text())
    # hooks run in registration order: the conftest sees collection end before the pause begins
    assert states == {"collection": True, "cases": [False, False, False], "after": True}


def test_collect_only_never_pauses_the_collector(make_project):
    project = make_project({"gc.yaml": CASES})
    project.makeconftest(GC_STATE_CONFTEST)
    project.runpytest_subprocess("--llmops", "--collect-only")
    assert json.loads((project.path / "gc-states.json").read_text())["after"] is True


def test_a_raising_finalizer_of_a_cycle_made_during_a_case_is_still_reported(make_project):
    project = make_project({"gc.yaml": CASES})
    project.makeconftest(RAISING_FINALIZER_CONFTEST)
    result = project.runpytest_subprocess("--llmops", "-p", "no:randomly")
    output = result.stdout.str() + result.stderr.str()
    assert "finalizer of a cycle made during a case" in output, output[-3000:]
    assert "PytestUnraisableExceptionWarning" in output or "Exception ignored" in output, output[-3000:]


FREEZE_AT_EXIT_CONFTEST = """
import atexit, gc, pathlib

# registered before the plugin's handler, so it runs after it, just before the process ends
atexit.register(lambda: pathlib.Path("frozen-at-exit.txt").write_text(str(gc.get_freeze_count())))
"""


def test_what_is_alive_at_exit_is_frozen_so_the_shutdown_skips_full_collections(make_project):
    project = make_project({"gc.yaml": CASES})
    project.makeconftest(FREEZE_AT_EXIT_CONFTEST)
    project.runpytest_subprocess("--llmops").assert_outcomes(passed=3)
    assert int((project.path / "frozen-at-exit.txt").read_text()) > 1000


def test_a_run_without_llmops_leaves_the_shutdown_as_it_is(make_project):
    project = make_project({"gc.yaml": CASES})
    project.makeconftest(FREEZE_AT_EXIT_CONFTEST)
    project.makepyfile(test_plain="def test_plain():\n    pass\n")
    project.runpytest_subprocess("test_plain.py").assert_outcomes(passed=1)
    assert (project.path / "frozen-at-exit.txt").read_text() == "0"


COUNT_FULL_COLLECTIONS_CONFTEST = """
import gc, json, pathlib, pytest

COUNTS = {"explicit": 0, "full": 0}
COUNTING = []
_collect = gc.collect

def counting_collect(generation=2):
    if COUNTING and generation == 2:
        COUNTS["explicit"] += 1
    return _collect(generation)

def note(phase, info):
    if phase == "stop" and COUNTING and info["generation"] == 2:
        COUNTS["full"] += 1

gc.collect = counting_collect
gc.callbacks.append(note)

@pytest.hookimpl(tryfirst=True)
def pytest_collection(session):
    COUNTING.append(True)

def pytest_configure(config):
    config.add_cleanup(lambda: pathlib.Path("full-collections.json").write_text(json.dumps(COUNTS)))
"""


def test_from_collection_to_the_end_only_pytest_itself_collects_everything(make_project):
    cases = "cases:\n" + "".join(f"  - id: c{n}\n    turns: [{{user: 'Return item {n}?'}}]\n" for n in range(1200))
    project = make_project({"gc.yaml": cases})
    project.makeconftest(COUNT_FULL_COLLECTIONS_CONFTEST)
    # hypothesis's plugin (a test extra, not the user's) collects once itself at the end: kept out, as in a user's run
    project.runpytest_subprocess("--llmops", "-p", "no:hypothesispytest").assert_outcomes(passed=1200)
    counts = json.loads((project.path / "full-collections.json").read_text())
    # no automatic full collection while collecting or at the end; pytest's own (once or twice, by version) only
    assert counts["explicit"] >= 1 and counts["full"] == counts["explicit"], counts


FROZEN_AT_EACH_FULL_COLLECTION_CONFTEST = """
import gc, json, pathlib, pytest

FROZEN = []

def note(phase, info):
    if phase == "start" and info["generation"] == 2 and FROZEN is not None:
        FROZEN.append(gc.get_freeze_count())

@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    FROZEN.clear()
    gc.callbacks.append(note)

def pytest_configure(config):
    config.add_cleanup(lambda: pathlib.Path("frozen.json").write_text(json.dumps(FROZEN)))
"""


def test_pytests_second_end_collection_skips_what_its_first_found_alive(make_project):
    project = make_project({"gc.yaml": CASES})
    project.makeconftest(FROZEN_AT_EACH_FULL_COLLECTION_CONFTEST)
    project.runpytest_subprocess("--llmops", "-p", "no:hypothesispytest").assert_outcomes(passed=3)
    frozen = json.loads((project.path / "frozen.json").read_text())
    assert len(frozen) >= 2 and frozen[0] == 0 and frozen[-1] > 1000, frozen


def test_an_in_process_run_leaves_nothing_frozen(make_project):
    import gc

    project = make_project({"gc.yaml": CASES})
    assert gc.get_freeze_count() == 0
    project.runpytest_inprocess("--llmops").assert_outcomes(passed=3)
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    assert gc.get_threshold()[2] < 1000  # full collections no longer held off

"""The monitor never dies on one line: every hostile value is a bad line reported by number, and the next line is read.

The issue's repros run through the real command (and ``--follow`` with the bad line
appended while it runs); a property test feeds arbitrary JSON into every field of a
record and asserts the per-line path always ends in an interaction or a bad line.
"""

from __future__ import annotations

import json
import logging
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_llmops.cli.monitor import _check_lines
from pytest_llmops.config import load_settings
from pytest_llmops.monitor.input import RawLine
from pytest_llmops.monitor.service import Monitor
from pytest_llmops.monitor.settings import RECORD_FIELDS, monitor_settings
from monitor_support import cli, interaction, make_project, read_log, spawn, stderr_so_far, write_jsonl
from test_monitor_follow import append, following, logged_ids, stop, wait_for

GOOD = json.dumps(interaction(2)).encode()


def line(fields: str) -> bytes:
    return b'{"user": "hi", "reply": "hello", "conversation_id": "c-1", ' + fields.encode() + b"}"


# Each was run against the monitor and crashed it (the rest of the file never read).
HOSTILE_LINES = {
    "latency 1e999": line('"latency_ms": 1e999'),
    "latency Infinity": line('"latency_ms": Infinity'),
    "latency 1e308": line('"latency_ms": 1e308'),
    "latency NaN": line('"latency_ms": NaN'),
    "timestamp 1e308": line('"latency_ms": 5, "timestamp": 1e308'),
    "timestamp NaN": line('"latency_ms": 5, "timestamp": NaN'),
    "timestamp -1e15": line('"latency_ms": 5, "timestamp": -1e15'),
    "nested 100,000 deep": line('"latency_ms": 5, "extra": ' + "[" * 100_000 + "]" * 100_000),
    "5000-digit number": line('"latency_ms": ' + "9" * 5000),
    "lone surrogate": line('"latency_ms": 5, "user_id": "u-\\ud800"'),
    "status 10**30": line('"latency_ms": 5, "status": ' + "1" + "0" * 30),
}
REASONS = {
    "latency 1e999": "field 'latency_ms' is out of range",
    "latency Infinity": "field 'latency_ms' is out of range",
    "latency 1e308": "field 'latency_ms' is out of range",
    "latency NaN": "field 'latency_ms' is out of range",
    "timestamp 1e308": "field 'timestamp' is not a time",
    "timestamp NaN": "field 'timestamp' is not a time",
    "timestamp -1e15": "field 'timestamp' is not a time",
    "nested 100,000 deep": "not usable JSON (nested too deeply)",
    "5000-digit number": "not usable JSON (a number too long to read)",
    "lone surrogate": "field 'user_id' is not valid Unicode text",
    "status 10**30": "field 'status' is out of range",
}


@pytest.mark.parametrize("name", list(HOSTILE_LINES))
def test_a_hostile_line_is_a_bad_line_and_the_next_one_is_read(tmp_path, name):
    project = make_project(tmp_path)
    write_jsonl(project / "in.jsonl", [HOSTILE_LINES[name] + b"\n", GOOD + b"\n"])
    done = cli(project, "monitor", "-q", "in.jsonl", "--fail-on", "bad_input")
    stderr = done.stderr.decode()
    assert "Traceback" not in stderr
    assert f"in.jsonl:1: {REASONS[name]}" in stderr
    assert "1 interaction(s), 0 flagged, 1 bad line(s)" in stderr
    assert done.returncode == 1  # --fail-on bad_input
    assert [entry["conversation_id"] for entry in read_log(project / "chatbot_monitoring.log")] == ["c-2"]


def test_follow_reports_a_hostile_line_appended_while_it_runs_and_goes_on(tmp_path):
    project = make_project(tmp_path)
    source = project / "app.jsonl"
    append(source, interaction(1))
    process = spawn(project, "monitor", "--follow", "app.jsonl", "-q")
    try:
        following(project)
        wait_for(lambda: logged_ids(project) == ["c-1"])
        for hostile in HOSTILE_LINES.values():
            append(source, raw=hostile + b"\n")
        append(source, interaction(3))
        wait_for(lambda: logged_ids(project) == ["c-1", "c-3"])
    finally:
        code, _, err = stop(process, project)
    assert code == 0, err
    assert "Traceback" not in err
    for number, name in enumerate(HOSTILE_LINES, start=2):
        assert f"app.jsonl:{number}: {REASONS[name]}" in err
    assert f"2 interaction(s), 0 flagged, {len(HOSTILE_LINES)} bad line(s)" in err


# -- every field, any JSON value -------------------------------------------------------------------

NUMBERS = (st.integers() | st.integers(min_value=-10**400, max_value=10**400)
           | st.floats(allow_nan=True, allow_infinity=True)  # inf, nan, 1e308, -1e15, -0.0, ...
           | st.sampled_from([1e308, -1e15, 1e999, 10**30, 86_400_001, -1]))
TEXTS = st.text() | st.sampled_from(["\ud800", "x\udfff", "\x1b[2J", "2026-11-25T10:00:00Z", "9999-12-31T23:59:59"])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | NUMBERS | TEXTS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
BASE = {"user": "How long do I have to return an item?", "reply": "30 days.", "latency_ms": 120}
#: a usable record with any of its fields replaced by any JSON value, or left out
RECORDS = st.builds(
    lambda changed, dropped: {**{k: v for k, v in BASE.items() if k not in dropped}, **changed},
    st.dictionaries(st.sampled_from(RECORD_FIELDS), JSON_VALUES, max_size=4),
    st.sets(st.sampled_from(list(BASE)), max_size=2),
)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.entries: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.entries.append(record.llmops)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def quiet_monitor(tmp_path_factory):
    """A real Monitor (the suite's checks and masking) that writes no file and prints nothing."""
    root = make_project(tmp_path_factory.mktemp("property"))
    settings = load_settings(root)
    options = monitor_settings(settings).model_copy(update={"log_file": None})
    monitor = Monitor(settings, options, console=False)
    collect = _Collect()
    monitor.logger.addHandler(collect)
    yield monitor, collect
    monitor.close()


def _raw_line(record: dict) -> bytes:
    try:
        text = json.dumps(record, allow_nan=True)
    except (ValueError, RecursionError):
        text = "{}"
    return text.encode("utf-8", "surrogatepass")


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=RECORDS)
def test_no_json_value_in_any_field_escapes_the_per_line_handler(quiet_monitor, values):
    monitor, collect = quiet_monitor
    before = (monitor.stats.interactions, monitor.stats.bad_lines, len(collect.entries))
    raw = _raw_line(values)
    _check_lines(monitor, iter([RawLine("prop", 1, raw, len(raw))]), 1 << 20, threading.Event())
    interactions, bad_lines, logged = monitor.stats.interactions, monitor.stats.bad_lines, len(collect.entries)
    # exactly one outcome: an interaction checked and logged, or a bad line counted
    assert (interactions - before[0], bad_lines - before[1]) in ((1, 0), (0, 1))
    assert logged - before[2] == interactions - before[0]
    if logged > before[2]:
        json.dumps(collect.entries[-1], ensure_ascii=False).encode("utf-8")  # what is logged can be written

"""orjson (the ``fast`` extra) reads and writes exactly what the standard library would.

Each test runs the same input through ``jsonl`` twice, with orjson and with it switched
off (as without the extra), and asserts the same record or the same reason for a bad
line, and a log line that reads back the same. The hostile values are those that differ
between the two libraries: NaN and infinities, integers past 64 bits, lone surrogates,
invalid UTF-8, deep nesting, types orjson writes where json refuses them.
"""

from __future__ import annotations

import enum
import json
import math
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_llmops import jsonl
from pytest_llmops.config import load_settings
from pytest_llmops.monitor.service import Monitor
from pytest_llmops.monitor.settings import monitor_settings
from monitor_support import interaction, make_project
from test_monitor_hostile import HOSTILE_LINES, JSON_VALUES

orjson = pytest.importorskip("orjson")


def _without_orjson(monkeypatch, function, *args):
    with monkeypatch.context() as patch:
        patch.setattr(jsonl, "orjson", None)
        return function(*args)


def _outcome(line: jsonl.Line) -> tuple[str, str | None]:
    """A parsed line as comparable text (repr: NaN equals itself there, and 1 differs from 1.0 and True)."""
    return repr(line.record), line.bad.reason if line.bad else None


def _raw(value) -> bytes:
    try:
        return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):
        return b"{}"


EDGE_LINES = [
    b'{"a": 100000000000000000000000000000}', b'{"a": [{"b": -9223372036854775809}]}', b'{"a": 18446744073709551616}',
    b'{"a": 18446744073709551615}', b'{"a": 1e19}', b'{"a": -0}', b'{"a": -0.0}', b'{"a": 1E400}', b'{"a": 1e-400}',
    b'{"a": "\xff"}', b'\xef\xbb\xbf{"a": 1}', b'{"a": "\\ud83d\\ude00"}', b'{"a": "\\udc00x"}', b'{"a": 1, "a": 2}',
    b'{"a": "tab\there"}', b'[1, 2]', b'"text"', b'{"a": 1} x', b'{"a": .5}', b'{"a": 01}', b'{"a": 1}\x0c',
]


@pytest.mark.parametrize("raw", [*HOSTILE_LINES.values(), *EDGE_LINES])
def test_a_line_parses_the_same_with_orjson_and_without(monkeypatch, raw):
    assert _outcome(jsonl.parse_line(3, raw)) == _outcome(_without_orjson(monkeypatch, jsonl.parse_line, 3, raw))


@settings(max_examples=400, deadline=None)
@given(value=st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=5) | JSON_VALUES)
def test_any_json_value_parses_the_same_with_orjson_and_without(value):
    raw = _raw(value)
    fast = _outcome(jsonl.parse_line(1, raw))
    jsonl.orjson = None  # not monkeypatch: a function-scoped fixture under @given
    try:
        plain = _outcome(jsonl.parse_line(1, raw))
    finally:
        jsonl.orjson = orjson
    assert fast == plain


@settings(max_examples=300, deadline=None)
@given(value=st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=6))
def test_a_log_line_reads_back_as_the_standard_library_writes_it(value):
    try:
        expected = (jsonl.dumps(value) + "\n").encode("utf-8")  # what the log held before
    except (TypeError, ValueError) as exc:  # json could not write it (a lone surrogate): neither may the log
        with pytest.raises(type(exc)):
            jsonl.fast_line(value)
        return
    line = jsonl.fast_line(value)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert repr(json.loads(line)) == repr(json.loads(expected))


class Colour(enum.Enum):
    RED = "red"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 10**30, -2**64, "\ud800", uuid.UUID(int=7),
                                   Colour.RED, [10**30], {"x": 2**64}, [{"x": math.nan}], ("a", 1)])
def test_what_orjson_would_write_differently_is_written_by_the_standard_library(value):
    record = {"latency_ms": value, "user": "hi"}
    try:
        expected = (jsonl.dumps(record) + "\n").encode("utf-8")
    except (TypeError, ValueError) as exc:  # UUID and Enum: json refuses them, and so must the log
        with pytest.raises(type(exc)):
            jsonl.fast_line(record)
        return
    assert jsonl.fast_line(record) == expected


def test_the_monitor_log_reads_back_the_same_with_orjson_and_without(tmp_path, monkeypatch):
    """The monitor's whole path (parse, checks, masking, log) on leaks, faults and odd values: the same log."""
    records = [interaction(n) for n in range(40)]
    records[3]["reply"] = "Reach Jane at jane.doe@example.com or (415) 555-0142, key sk-proj-9fX2kq8LmN4pR7sT1vW3yZ"
    records[5].update(reply=None, error="upstream timed out", status=504)
    records[7]["latency_ms"] = 9000.5
    records[9]["user"] = "ü ✓ \u2028 \x1b[2J 😀 \"quoted\" back\\slash"
    records[11]["timestamp"] = 1764064800.25
    records[13]["conversation_id"] = "conv-jane@example.com"
    lines = [json.dumps(record).encode() for record in records] + [b'{"user": "x", "reply": "y", "latency_ms": NaN}']

    def run(name: str) -> list[dict]:
        root = make_project(tmp_path / name)
        settings = load_settings(root)
        monitor = Monitor(settings, monitor_settings(settings, {"log_file": "monitor.log"}), console=False,
                          logger_name=f"pytest_llmops.monitor.fast-{name}")
        monitor.logger.propagate = False
        with monitor:
            for number, raw in enumerate(lines, start=1):
                parsed = jsonl.parse_line(number, raw)
                if parsed.record is None:
                    monitor.bad_input(str(number), parsed.bad.reason)
                else:
                    monitor.observe_record(parsed.record, str(number))
        assert monitor.unwritten() == (0, None)
        return [line.record for line in jsonl.iter_lines(root / "monitor.log")]

    fast = run("fast")
    monkeypatch.setattr(jsonl, "orjson", None)
    plain = run("plain")
    assert len(fast) == 40
    digest = "conversation_id"  # its keyed digest differs per monitor (a key of its own when none is set)
    assert [{k: v for k, v in e.items() if k != digest} for e in fast] == \
        [{k: v for k, v in e.items() if k != digest} for e in plain]
    assert [e[digest].split("~")[0] for e in fast] == [e[digest].split("~")[0] for e in plain]
    assert "jane.doe@example.com" not in json.dumps(fast) and "sk-proj-9fX2kq8LmN4pR7sT1vW3yZ" not in json.dumps(fast)

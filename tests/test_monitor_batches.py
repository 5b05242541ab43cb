"""The monitor takes its input in batches (decoded and screened together): what it logs and counts stays the same.

``llmops monitor`` decodes a batch of ready lines, screens their texts for personal
data and secrets at once, then checks them in order. Fed the same lines one by one
(each its own batch), it must write the same log, count the same and report the same
bad lines in the same order; and a reader never waits to fill a batch.
"""

from __future__ import annotations

import json
import logging
import threading

from pytest_llmops.cli.monitor import _check_lines
from pytest_llmops.config import load_settings
from pytest_llmops.jsonl import iter_lines
from pytest_llmops.monitor.input import LineSplitter
from pytest_llmops.monitor.service import Monitor
from pytest_llmops.monitor.settings import monitor_settings
from monitor_support import interaction, make_project


class _Reasons(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _lines() -> bytes:
    records = [interaction(n) for n in range(60)]
    records[4]["reply"] = "Reach Jane at jane.doe@example.com or (415) 555-0142."
    records[9]["user"] = "my email is annabelle.k@example.org, why no refund?"
    records[9]["reply"] = "We wrote to annabelle.k@exa"  # a fragment of the email the user gave
    records[15]["reply"] = "The API key is sk-proj-9fX2kq8LmN4pR7sT1vW3yZ0aB"
    records[20]["reply"] = "line one\x1eline two\nline three"  # the screen's separator inside a text
    records[21].update(reply=None, error="upstream timed out", status=504)
    lines = [json.dumps(record) for record in records]
    lines[30] = '{"user": "x", "reply": "y", "latency_ms": NaN}'  # bad: out of range
    lines[31] = "not json"
    lines[32] = ""
    lines[33] = '{"reply": "no user", "latency_ms": 5}'
    return ("\n".join(lines) + "\n").encode()


def _run(tmp_path, name: str, batched: bool) -> tuple[list[dict], dict, list[str]]:
    root = make_project(tmp_path / name)
    settings = load_settings(root)
    monitor = Monitor(settings, monitor_settings(settings, {"log_file": "monitor.log"}), console=False,
                      logger_name=f"pytest_llmops.monitor.batches-{name}")
    monitor.logger.propagate = False
    reasons = _Reasons()
    monitor.diagnostics.addHandler(reasons)
    try:
        with monitor:
            lines = list(LineSplitter("app.jsonl", 1 << 20).feed(_lines()))
            assert lines[-1].last_ready and not any(line.last_ready for line in lines[:-1])
            if batched:
                _check_lines(monitor, iter(lines), 1 << 20, threading.Event())
            else:
                for line in lines:  # each line its own batch
                    line.last_ready = True
                    _check_lines(monitor, iter([line]), 1 << 20, threading.Event())
    finally:
        monitor.diagnostics.removeHandler(reasons)
    summary = monitor.stats.summary()
    summary.pop("seconds")
    return [line.record for line in iter_lines(root / "monitor.log")], summary, reasons.messages


def test_batches_log_count_and_report_what_single_lines_do(tmp_path):
    batched_log, batched_stats, batched_reasons = _run(tmp_path, "batched", batched=True)
    single_log, single_stats, single_reasons = _run(tmp_path, "single", batched=False)
    assert batched_stats == single_stats
    assert batched_stats["interactions"] == 56 and batched_stats["bad_lines"] == 3
    assert batched_reasons == single_reasons and [reason.split(":")[1] for reason in batched_reasons] == ["31", "32", "34"]
    assert batched_log == single_log
    text = json.dumps(batched_log)
    assert "jane.doe@example.com" not in text and "annabelle.k@exa" not in text and "sk-proj-9fX2kq8LmN4pR7sT1vW3yZ0aB" not in text
    assert batched_log[9]["reply"] == "We wrote to [EMAIL]" and batched_log[4]["findings"][0]["pii_kinds"]


def test_a_chunk_marks_its_last_whole_line_so_a_batch_never_waits():
    splitter = LineSplitter("pipe", 100)
    first = list(splitter.feed(b'{"a": 1}\n{"b": 2}\n{"c"'))  # a line still being written stays behind
    assert [line.raw for line in first] == [b'{"a": 1}', b'{"b": 2}'] and [l.last_ready for l in first] == [False, True]
    second = list(splitter.feed(b': 3}\n'))
    assert [line.raw for line in second] == [b'{"c": 3}'] and second[0].last_ready
    assert list(splitter.feed(b'{"d": 4}')) == []
    last = list(splitter.finish())
    assert [line.raw for line in last] == [b'{"d": 4}'] and last[0].last_ready

"""The monitor's Python API: the suite's checks on live exchanges, the JSON log, logging, pseudonyms."""

from __future__ import annotations

import json
import logging
import time

import pytest

from monitor_support import LEAKED_EMAIL, LEAKED_PHONE, make_project, read_log
from pytest_llmops.checks.checker import Checker
from pytest_llmops.config import load_settings
from pytest_llmops.errors import ConfigError
from pytest_llmops.jsonl import rewrite
from pytest_llmops.errors import RecordError
from pytest_llmops.monitor.records import FieldMap, Interaction
from pytest_llmops.monitor.service import Monitor
from pytest_llmops.monitor.settings import monitor_settings
from pytest_llmops.monitor.stats import LatencyHistogram
from pytest_llmops.transcript import Exchange

PROJECT = """max_latency_ms = 200
[tool.llmops.pii]
allowlist = ["1-800-555-0199"]
"""


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "project", PROJECT)


def open_monitor(root, **kwargs) -> Monitor:
    return Monitor(load_settings(root), console=False, **kwargs)


EXCHANGES = [
    ("Where is my parcel?", "It ships tomorrow.", 20.0, None),
    ("Call me?", "Call our hotline 1-800-555-0199.", 20.0, None),  # allowlisted
    ("Who is it?", f"It belongs to {LEAKED_EMAIL}, phone {LEAKED_PHONE}.", 20.0, None),
    ("Refund?", "Sorry, an error occurred while processing your request.", 20.0, None),
    ("Hello", "Hi there", 250.0, None),  # over the project's 200 ms
    ("Hello", None, 30.0, "HTTP 503 from upstream"),
]


def test_findings_are_exactly_what_the_suite_checker_says(project):
    checker = Checker.from_settings(load_settings(project))
    with open_monitor(project) as monitor:
        for user, reply, latency, error in EXCHANGES:
            observed = monitor.record(user, reply, latency, error=error)
            exchange = Exchange(1, user, reply, latency, error=error, error_kind="error" if error else None)
            expected = [r.check for r in checker.check_exchange(exchange) if not r.passed]
            assert [f["check"] for f in observed.entry["findings"]] == expected
    categories = monitor.stats.categories
    assert categories == {"pii": 1, "error": 2, "latency": 1, "content": 0, "secret": 0, "prompt_leak": 0}
    assert monitor.stats.interactions == 6 and monitor.stats.flagged == 4


def test_log_file_has_one_masked_json_line_per_interaction(project):
    with open_monitor(project) as monitor:
        for n, (user, reply, latency, error) in enumerate(EXCHANGES):
            monitor.record(f"{user} my mail is {LEAKED_EMAIL}", reply, latency, error=error,
                           conversation_id=f"c{n}", user_id="u-7", timestamp="2026-11-25T10:00:00Z")
    text = (project / "chatbot_monitoring.log").read_text()
    assert LEAKED_EMAIL not in text and LEAKED_PHONE not in text
    lines = read_log(project / "chatbot_monitoring.log")
    assert len(lines) == len(EXCHANGES)
    for line in lines:
        assert {"timestamp", "level", "conversation_id", "user_id", "user", "reply", "latency_ms",
                "findings"} <= set(line)
        assert line["user"].endswith("my mail is [EMAIL]")
        assert line["timestamp"] == "2026-11-25T10:00:00Z" and line["user_id"] == "u-7"
    assert [line["level"] for line in lines] == ["INFO", "INFO", "ERROR", "ERROR", "WARNING", "ERROR"]
    leak = lines[2]
    assert leak["reply"] == "It belongs to [EMAIL], phone [PHONE]."
    assert leak["findings"][0]["pii_kinds"] == ["email", "phone"]
    assert lines[1]["reply"] == "Call our hotline 1-800-555-0199."  # allowlisted: kept as is
    assert lines[5]["reply"] is None and lines[5]["error"] == "HTTP 503 from upstream"


def test_records_reach_an_applications_own_logging_handlers(project):
    seen: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record):
            seen.append(record)

    handler = Collect()
    parent = logging.getLogger("pytest_llmops.monitor")
    parent.addHandler(handler)
    try:
        with open_monitor(project) as monitor:
            monitor.record("hi", f"write to {LEAKED_EMAIL}", 10.0)
    finally:
        parent.removeHandler(handler)
    assert len(seen) == 1
    assert seen[0].levelno == logging.ERROR
    assert seen[0].llmops["findings"][0]["check"] == "no_pii"
    assert json.loads(seen[0].getMessage())["reply"] == "write to [EMAIL]"


def test_a_monitor_that_only_logs_to_its_file_writes_the_same_lines_and_still_honours_logging(project):
    # as `llmops monitor -q` runs it: no propagation, its file and a NullHandler; entries skip LogRecord then
    seen: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record):
            seen.append(record)

    with open_monitor(project, logger_name="pytest_llmops.monitor.test-direct") as monitor:
        monitor.logger.propagate = False
        monitor.add_handler(logging.NullHandler())
        assert monitor._direct_files() == [h for h in monitor.handlers if type(h).__name__ == "JsonLinesFileHandler"]
        monitor.record("hi", f"write to {LEAKED_EMAIL}", 10.0, timestamp="2026-11-25T10:00:00Z")
        collect = Collect()
        monitor.logger.addHandler(collect)  # an application's handler added later hears from then on
        assert monitor._direct_files() is None
        monitor.record("hi", "fine", 10.0, timestamp="2026-11-25T10:00:01Z")
        monitor.logger.removeHandler(collect)
        monitor.logger.setLevel(logging.WARNING)  # a level above INFO drops clean exchanges from the file too
        monitor.record("hi", "fine again", 10.0)
        monitor.record("hi", f"mail {LEAKED_EMAIL}", 10.0, timestamp="2026-11-25T10:00:02Z")
    lines = read_log(project / "chatbot_monitoring.log")
    assert [line["reply"] for line in lines] == ["write to [EMAIL]", "fine", "mail [EMAIL]"]
    assert [line["level"] for line in lines] == ["ERROR", "INFO", "ERROR"]
    assert [json.loads(record.getMessage())["reply"] for record in seen] == ["fine"]


def test_exchange_context_manager_times_the_reply_and_records_failures(project):
    with open_monitor(project) as monitor:
        with monitor.exchange("Where is my order?", conversation_id="c1", user_id="u1") as live:
            time.sleep(0.03)
            live.reply = "It ships tomorrow."
        with pytest.raises(TimeoutError):
            with monitor.exchange("Hello?", conversation_id="c2") as live:
                raise TimeoutError("upstream took too long")
    first, second = read_log(project / "chatbot_monitoring.log")
    assert 30 <= first["latency_ms"] < 1000 and first["findings"] == []
    assert second["error"] == "TimeoutError: upstream took too long"
    assert second["findings"][0]["category"] == "error" and second["level"] == "ERROR"


def test_user_ids_are_pseudonymised_when_the_privacy_section_says_so(tmp_path, monkeypatch):
    root = make_project(tmp_path / "p", '[tool.llmops.privacy]\npseudonymize = true\n'
                                        'pseudonym_key_env = "TEST_MONITOR_KEY"\n')
    monkeypatch.setenv("TEST_MONITOR_KEY", "k" * 32)
    with open_monitor(root) as monitor:
        monitor.record("hi", "hello", 5.0, user_id="customer-42")
        monitor.record("hi", "hello", 5.0, user_id="customer-42")
    ids = [line["user_id"] for line in read_log(root / "chatbot_monitoring.log")]
    assert ids[0] == ids[1] and ids[0].startswith("u_") and "customer-42" not in ids[0]
    monkeypatch.delenv("TEST_MONITOR_KEY")
    with pytest.raises(ConfigError, match="TEST_MONITOR_KEY"):
        open_monitor(root)


def test_a_user_id_that_is_personal_data_is_masked(project):
    with open_monitor(project) as monitor:
        monitor.record("hi", "hello", 5.0, user_id=LEAKED_EMAIL)
    assert read_log(project / "chatbot_monitoring.log")[0]["user_id"] == "[EMAIL]"


def test_extra_rules_from_the_monitor_section_apply_to_every_reply(tmp_path):
    root = make_project(tmp_path / "p", '[tool.llmops.monitor]\nexpect = {not_contains = ["I don\'t know"]}\n')
    with open_monitor(root) as monitor:
        observed = monitor.record("What is 2+2?", "I don't know", 5.0)
    assert observed.categories == {"content"}
    assert observed.entry["findings"][0]["check"] == "not_contains"


def test_log_survives_an_atomic_rewrite_while_the_monitor_runs(project):
    """The privacy tools rewrite the log by rename; later batches must land in the new file."""
    with open_monitor(project) as monitor:
        monitor.record("first", "one", 5.0, user_id="erase-me")
        monitor.flush()
        kept, dropped = rewrite(project / "chatbot_monitoring.log",
                                lambda line: None if line.record and line.record["user_id"] == "erase-me"
                                else line.raw)
        assert dropped == 1
        monitor.record("second", "two", 5.0, user_id="keep-me")
    assert [line["user"] for line in read_log(project / "chatbot_monitoring.log")] == ["second"]


@pytest.mark.parametrize("toml, message", [
    ('[tool.llmops.monitor]\nlog_flie = "x.log"\n', "unknown key 'log_flie'"),
    ('[tool.llmops.monitor]\nfail_on = ["pii", "typo"]\n', "unknown condition 'typo'"),
    ('[tool.llmops.monitor]\nfields = {answer = "response.text"}\n', "unknown record field 'answer'"),
])
def test_bad_monitor_settings_are_clear_config_errors(tmp_path, toml, message):
    root = make_project(tmp_path / "p", toml)
    with pytest.raises(ConfigError, match=message) as info:
        monitor_settings(load_settings(root))
    assert "[tool.llmops.monitor]" in str(info.value)


def test_field_map_reads_nested_records_and_names_what_is_missing():
    fields = FieldMap({"user": "request.text", "reply": "response.text", "latency_ms": "response.ms"})
    got = fields.interaction({"request": {"text": "hi"}, "response": {"text": "hello", "ms": 12}})
    assert got == Interaction(user="hi", reply="hello", latency_ms=12)
    with pytest.raises(RecordError, match="missing field 'response.text'"):
        fields.interaction({"request": {"text": "hi"}, "response": {"ms": 12}})
    with pytest.raises(RecordError, match="'response.ms' must be a number"):
        fields.interaction({"request": {"text": "hi"}, "response": {"text": "x", "ms": "fast"}})
    with pytest.raises(RecordError, match="not an ISO 8601 timestamp"):
        FieldMap().interaction({"user": "a", "reply": "b", "latency_ms": 1, "timestamp": "yesterday"})


def test_latency_percentiles_stay_within_two_percent_in_fixed_memory():
    histogram = LatencyHistogram()
    values = [float(v) for v in range(1, 10001)]
    for value in values:
        histogram.add(value)
    for fraction, exact in ((0.5, 5000), (0.95, 9500), (0.99, 9900)):
        assert abs(histogram.percentile(fraction) - exact) / exact < 0.02
    assert len(histogram.counts) == LatencyHistogram.BUCKETS
    assert histogram.summary()["max"] == 10000


def test_many_threads_record_at_once_and_no_line_is_lost_or_torn(project):
    import threading

    with open_monitor(project) as monitor:
        def worker(n: int) -> None:
            for i in range(150):
                monitor.record(f"thread {n} message {i}", "fine", 5.0, conversation_id=f"t{n}")

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    lines = read_log(project / "chatbot_monitoring.log")
    assert len(lines) == 1200 and monitor.stats.interactions == 1200
    assert len({line["user"] for line in lines}) == 1200


def test_log_lines_reach_the_file_soon_without_an_explicit_flush(project):
    monitor = open_monitor(project)
    try:
        monitor.record("hi", "hello", 5.0)
        deadline = time.monotonic() + 5
        while not (project / "chatbot_monitoring.log").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(read_log(project / "chatbot_monitoring.log")) == 1
    finally:
        monitor.close()


def test_an_unwritable_log_is_reported_and_the_monitor_keeps_going(tmp_path, caplog):
    root = make_project(tmp_path / "p", '[tool.llmops.monitor]\nlog_file = "logs"\n')
    (root / "logs").mkdir()  # a folder where the log file should be
    with caplog.at_level(logging.ERROR, logger="pytest_llmops.monitor_diagnostics"):
        with open_monitor(root) as monitor:
            observed = monitor.record("hi", f"mail {LEAKED_EMAIL}", 5.0)
            assert observed.categories == {"pii"}
            monitor.flush()
            monitor.record("again", "fine", 5.0)
    assert monitor.stats.interactions == 2
    assert any("could not write 1 record(s)" in message for message in caplog.messages)


def test_the_log_rotates_at_its_size_limit_and_keeps_every_line(tmp_path):
    root = make_project(tmp_path / "p", "[tool.llmops.monitor]\nlog_max_bytes = 2048\nlog_backups = 3\n")
    with open_monitor(root) as monitor:
        for n in range(60):
            monitor.record(f"message {n}", "fine", 5.0, conversation_id=f"c{n}")
            monitor.flush()  # one batch each: the size is checked before every batch
    log = root / "chatbot_monitoring.log"
    files = [log.with_name(f"{log.name}.{n}") for n in (3, 2, 1)] + [log]
    assert all(path.exists() for path in files)
    assert not log.with_name(f"{log.name}.4").exists()
    for path in files[:-1]:
        assert path.stat().st_size >= 2048
    kept = [line["conversation_id"] for path in files for line in read_log(path)]
    assert kept == [f"c{n}" for n in range(60 - len(kept), 60)]  # the newest, in order, none torn


def _batch_logger(handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(f"pytest_llmops.monitor.test-batches-{id(handler):x}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(handler)
    return logger


def test_a_full_batch_wakes_the_log_writer_thread(tmp_path):
    from pytest_llmops.monitor.log import JsonLinesFileHandler

    path = tmp_path / "log.jsonl"
    handler = JsonLinesFileHandler(path, batch_size=5, flush_interval_s=60, max_pending=20)
    logger = _batch_logger(handler)
    try:
        for n in range(5):  # the writer's timer is 60 s: only the full batch can wake it
            logger.info("x", extra={"llmops": {"n": n}})
        deadline = time.monotonic() + 5
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [line["n"] for line in read_log(path)] == [0, 1, 2, 3, 4]
    finally:
        logger.removeHandler(handler)
        handler.close()


def test_callers_write_themselves_when_records_pile_up(tmp_path):
    from pytest_llmops.monitor.log import JsonLinesFileHandler

    path = tmp_path / "log.jsonl"
    handler = JsonLinesFileHandler(path, batch_size=5, flush_interval_s=60, max_pending=5)
    logger = _batch_logger(handler)
    try:
        for n in range(7):
            logger.info("x", extra={"llmops": {"n": n}})
        assert [line["n"] for line in read_log(path)][:5] == [0, 1, 2, 3, 4]  # written by the caller, at once
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert [line["n"] for line in read_log(path)] == list(range(7))

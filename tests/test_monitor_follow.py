"""``llmops monitor --follow``: a growing file, rotated and truncated under it, stopped by a signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from monitor_support import interaction, make_project, read_log, read_offset, spawn, stderr_so_far
from tooling import missing_procfs, require


def append(path, *records, raw: bytes = b"") -> None:
    with open(path, "ab") as handle:
        handle.write(b"".join(json.dumps(r).encode() + b"\n" for r in records) + raw)


def logged_ids(root) -> list[str]:
    path = root / "chatbot_monitoring.log"
    return [line["conversation_id"] for line in read_log(path)] if path.exists() else []


def wait_for(predicate, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def stop(process: subprocess.Popen, project) -> tuple[int, str, str]:
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=15)
    return process.returncode, out.decode(), stderr_so_far(project)


def following(project) -> None:
    """Wait until the monitor has started following (imports take a moment)."""
    wait_for(lambda: "following" in stderr_so_far(project))


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "project")


def test_follow_survives_rotation_and_truncation_and_loses_nothing(project):
    require(missing_procfs())  # read_offset
    source = project / "app.jsonl"
    append(source, interaction(1), interaction(2))
    process = spawn(project, "monitor", "--follow", "app.jsonl", "--quiet", "--summary-every", "0.3")
    try:
        following(project)
        wait_for(lambda: logged_ids(project) == ["c-1", "c-2"])
        append(source, interaction(3), raw=b'{"user": "half a line')  # a writer caught mid-line
        # the race happened: the monitor has read up to the end of the half line before the rest is written
        wait_for(lambda: read_offset(process.pid, source) == source.stat().st_size)
        append(source, raw=b'", "reply": "done", "latency_ms": 1, "conversation_id": "c-4"}\n')
        wait_for(lambda: logged_ids(project)[-1:] == ["c-4"])
        # rotation: the old file moves aside (with lines written just before), a new one appears
        append(source, interaction(5), interaction(6))
        os.rename(source, project / "app.jsonl.1")
        append(source, interaction(7))
        wait_for(lambda: "c-7" in logged_ids(project))
        # truncation in place (logrotate copytruncate)
        with open(source, "r+b") as handle:
            handle.truncate(0)
        wait_for(lambda: "truncated" in stderr_so_far(project))  # noticed before the next line comes
        append(source, interaction(8))
        wait_for(lambda: "c-8" in logged_ids(project))
    finally:
        code, out, err = stop(process, project)
    assert code == 0, err
    assert sorted(logged_ids(project), key=lambda c: int(c[2:])) == [f"c-{n}" for n in range(1, 9)]
    assert "rotated" in err and "truncated" in err
    assert "llmops monitor last 0.3 s:" in err  # the periodic summary
    assert "llmops monitor summary: 8 interaction(s)" in err
    assert out == ""  # --quiet


def test_follow_waits_for_a_file_that_does_not_exist_yet(project):
    process = spawn(project, "monitor", "--follow", "later.jsonl", "-q")
    try:
        wait_for(lambda: "does not exist (yet)" in stderr_so_far(project))
        append(project / "later.jsonl", interaction(1))
        wait_for(lambda: logged_ids(project) == ["c-1"])
    finally:
        code, _, err = stop(process, project)
    assert code == 0


def test_follow_from_end_skips_what_is_already_there(project):
    require(missing_procfs())  # read_offset
    source = project / "app.jsonl"
    append(source, interaction(1))
    process = spawn(project, "monitor", "--follow", "app.jsonl", "--from-end", "-q", "--fail-on", "pii")
    try:
        following(project)
        # it has opened the file and gone to its end before the new line comes (not merely started)
        wait_for(lambda: read_offset(process.pid, source) == source.stat().st_size)
        append(source, interaction(2, reply="mail me at jane.doe@example.com"))
        wait_for(lambda: logged_ids(project) == ["c-2"])
    finally:
        code, _, err = stop(process, project)
    assert code == 1 and "failing: seen pii" in err


def test_follow_reports_bad_lines_with_numbers_and_goes_on(project):
    source = project / "app.jsonl"
    process = spawn(project, "monitor", "--follow", "app.jsonl", "-q", "--max-line-bytes", "1000")
    try:
        following(project)
        append(source, interaction(1), raw=b"not json\n" + b"y" * 5000 + b"\n")
        append(source, interaction(4))
        wait_for(lambda: logged_ids(project) == ["c-1", "c-4"])
    finally:
        code, _, err = stop(process, project)
    assert code == 0
    assert "app.jsonl:2: not valid JSON" in err and "app.jsonl:3: line too long (5000 bytes > 1000)" in err
    assert "2 interaction(s), 0 flagged, 2 bad line(s)" in err

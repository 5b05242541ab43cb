"""Crash safety of erase: SIGKILL at random moments, appends racing an erase, corrupt lines kept.

The erase runs in real separate processes. A small fork server (one Python process that
has already imported the package) forks one child per erase, so each kill costs
milliseconds, not an interpreter start-up, and the kills land inside the erase itself.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lock_waits import llmops_logging_locks, refused
from pipe_lines import PipeLines
from pytest_llmops import jsonl
from tooling import missing_fork, require

VICTIM = "cust-victim"
KILLS = 40
MEASURE_RUNS = 3

FORK_SERVER = textwrap.dedent("""\
    import os, sys, time
    from pytest_llmops.privacy.operations import PrivacyProject, erase_user
    project = PrivacyProject.load()
    print("ready", flush=True)
    for command in iter(sys.stdin.readline, ""):
        user_id = command.strip()
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            erase_user(PrivacyProject.load(), user_id)
            os._exit(0)
        print(pid, flush=True)
        sys.stdin.readline()  # reap only when told: until then the pid cannot be reused by anyone else
        _, status = os.waitpid(pid, 0)
        print(status, time.perf_counter() - started, flush=True)
""")


@pytest.fixture(autouse=True)
def _posix_processes() -> None:
    require(missing_fork())


def _feedback_line(n: int, user_id: str) -> dict:
    return {"schema_version": 1, "id": f"fb-{n:06d}", "timestamp": "2026-11-20T10:00:00Z", "user_id": user_id,
            "type": "wrong_answer", "message": f"reply number {n} was wrong " + "x" * 60}


def _make_store(root: Path, lines: int) -> tuple[bytes, bytes]:
    """A feedback file where every 7th record is the victim's, plus two corrupt lines; (old, expected new)."""
    (root / "pyproject.toml").write_text("[tool.llmops]\n")
    records = [_feedback_line(n, VICTIM if n % 7 == 0 else f"cust-{n % 50}") for n in range(lines)]
    old_lines = [jsonl.dumps(r).encode() for r in records]
    old_lines.insert(10, b'{"torn": "line without an end')
    old_lines.insert(500, b"\xff\xfe not utf-8")
    old = b"".join(line + b"\n" for line in old_lines)
    new = b"".join(line + b"\n" for line in old_lines if b'"user_id":"' + VICTIM.encode() + b'"' not in line)
    (root / "feedback.jsonl").write_bytes(old)
    return old, new


class ForkServer:
    def __init__(self, root: Path):
        self.proc = subprocess.Popen([sys.executable, "-c", FORK_SERVER], cwd=root, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdout.readline().strip() == "ready"

    def start_erase(self) -> int:
        self.proc.stdin.write(VICTIM + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def wait(self) -> tuple[int, float]:
        self.proc.stdin.write("reap\n")
        self.proc.stdin.flush()
        status, seconds = self.proc.stdout.readline().split()
        return int(status), float(seconds)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def test_sigkill_at_random_points_leaves_old_or_new_file_never_a_mix(tmp_path: Path):
    old, new = _make_store(tmp_path, lines=20_000)
    store = tmp_path / "feedback.jsonl"
    server = ForkServer(tmp_path)
    try:
        durations = []
        for _ in range(MEASURE_RUNS):  # undisturbed runs: how long an erase takes here, now
            server.start_erase()
            status, seconds = server.wait()
            assert status == 0 and store.read_bytes() == new
            durations.append(seconds)
            store.write_bytes(old)
        erase_s = sorted(durations)[len(durations) // 2]

        rng = random.Random(8)
        outcomes = {"old": 0, "new": 0}
        killed_mid_erase = 0
        temp_files_seen = 0
        for attempt in range(KILLS):
            inode = os.stat(store).st_ino
            pid = server.start_erase()
            if attempt % 4 == 3:  # right after the rename: the new file is in place, the process not done
                deadline = time.monotonic() + 5
                while os.stat(store).st_ino == inode and time.monotonic() < deadline:
                    time.sleep(0.0005)
            else:  # anywhere from start-up to the end, whatever the machine's load does to the timing
                time.sleep(rng.uniform(0, erase_s * 1.3))
            os.kill(pid, signal.SIGKILL)
            status, _ = server.wait()
            killed_mid_erase += os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            content = store.read_bytes()
            assert content in (old, new), f"after a kill the file is neither old nor new ({len(content)} bytes)"
            outcomes["old" if content == old else "new"] += 1
            temp_files_seen += bool(list(tmp_path.glob(".feedback.jsonl.*.tmp")))  # beside the store
            if content == new:
                store.write_bytes(old)

        assert killed_mid_erase >= KILLS // 4, (killed_mid_erase, erase_s)
        assert outcomes["old"] >= 1 and outcomes["new"] >= KILLS // 4, outcomes
        assert temp_files_seen >= 1  # some kills landed while the new file was being written
        audit = tmp_path / "privacy_audit.jsonl"
        assert set(tmp_path.iterdir()) <= {store, audit, tmp_path / "pyproject.toml", tmp_path / "feedback.jsonl.lock",
                                           *tmp_path.glob(".feedback.jsonl.*.tmp"), tmp_path / "privacy_audit.jsonl.lock"}
        # The audit log tells the truth: every erase says "started"; only those that finished say "done".
        lines, bad = jsonl.read_records(audit)
        assert not bad  # a kill never tears an audit line
        started = {line["request"] for line in lines if line["status"] == "started"}
        done = {line["request"] for line in lines if line["status"] == "done"}
        runs = MEASURE_RUNS + KILLS
        assert done <= started and len(started) <= runs  # a kill during start-up writes nothing at all
        assert len(done) >= runs - killed_mid_erase and len(started) > len(done)

        # A later erase finishes the job, removes temp files the killed ones left, and needs no cleanup by hand.
        server.start_erase()
        status, _ = server.wait()
        assert status == 0 and store.read_bytes() == new
        assert not list(tmp_path.glob(".feedback.jsonl.*.tmp"))
    finally:
        server.close()


APPENDER = textwrap.dedent("""\
    import sys, time
    from pytest_llmops.feedback.store import FeedbackStore
    store = FeedbackStore.from_settings()
    print("ready", flush=True)
    for n in range(int(sys.argv[1])):
        store.record("other", f"appended {n} at {time.time()!r}", user_id=f"appender-{n}")
        time.sleep(0.002)
""")


def test_appends_made_while_an_erase_runs_are_never_lost(tmp_path: Path):
    old, _ = _make_store(tmp_path, lines=30_000)
    appends = 300
    appender = subprocess.Popen([sys.executable, "-c", APPENDER, str(appends)], cwd=tmp_path, text=True,
                                stdout=subprocess.PIPE)
    assert appender.stdout.readline().strip() == "ready"
    windows = []
    for _ in range(3):  # erase (the CLI, a real process) while the appender keeps writing
        started = time.time()
        proc = subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "privacy", "erase", "--user-id", VICTIM],
                              cwd=tmp_path, capture_output=True, text=True, timeout=60)
        windows.append((started, time.time()))
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert appender.wait(timeout=60) == 0

    records, bad = jsonl.read_records(tmp_path / "feedback.jsonl")
    appended = [r for r in records if r["user_id"].startswith("appender-")]
    assert sorted(int(r["user_id"].split("-")[1]) for r in appended) == list(range(appends))
    assert not any(r["user_id"] == VICTIM for r in records)
    originals = [json.loads(line) for line in old.splitlines() if line.startswith(b'{"schema')]
    assert [r for r in records if not r["user_id"].startswith("appender-")] == \
        [r for r in originals if r["user_id"] != VICTIM]
    assert len(bad) == 2  # the two corrupt lines survive three rewrites, byte for byte
    content = (tmp_path / "feedback.jsonl").read_bytes()
    assert b'\n{"torn": "line without an end\n' in content and b"\n\xff\xfe not utf-8\n" in content
    during = [r for r in appended
              if any(start <= float(r["message"].split(" at ")[1]) <= end for start, end in windows)]
    assert during, "no append overlapped an erase: the test proved nothing"


def test_erase_waits_for_the_appenders_lock(tmp_path: Path):
    old, new = _make_store(tmp_path, lines=200)
    store = tmp_path / "feedback.jsonl"
    lock_file = Path(str(store) + jsonl.LOCK_SUFFIX)
    late_line = jsonl.dumps(_feedback_line(999_999, "late-appender")).encode() + b"\n"
    with jsonl.lock_for(store):  # as an appender in the middle of its write would hold it
        proc = subprocess.Popen(llmops_logging_locks("privacy", "erase", "--user-id", VICTIM),
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        stdout, stderr = PipeLines(proc.stdout), PipeLines(proc.stderr)
        try:
            # filelock logs each refused attempt: the erase reached this very lock and is waiting for it
            waiting = stderr.wait_for(lambda line: refused(line, lock_file), timeout=30)
            assert waiting is not None, "the erase never tried the store's lock:\n" + stderr.text(timeout=0)
            assert proc.poll() is None, "erase ran without the store's lock"
            assert store.read_bytes() == old
            with store.open("ab") as handle:  # the appender's line, written under the lock
                handle.write(late_line)
        except BaseException:
            proc.kill()
            raise
    proc.wait(timeout=60)
    assert proc.returncode == 0, stdout.text() + stderr.text()
    assert any(line.startswith("filelock: Lock ") and line.rstrip().endswith(f"acquired on {lock_file}")
               for line in stderr.text().splitlines())  # ... and took it once the appender let go
    assert store.read_bytes() == new + late_line

"""``llmops monitor`` as a real subprocess: files, stdin, field mapping, bad input, exit codes, simulate."""

from __future__ import annotations

import json

import pytest

from monitor_support import LEAKED_EMAIL, LEAKED_PHONE, cli, interaction, make_project, read_log, write_jsonl


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "project", "max_latency_ms = 1000\n")


def mixed_records() -> list[dict]:
    return [
        interaction(1),
        interaction(2, reply=f"Sure, write to {LEAKED_EMAIL}."),
        interaction(3, reply="Sorry, an error occurred while processing your request."),
        interaction(4, latency_ms=4000),
        interaction(5, reply=None, error="connection reset by upstream", status=502),
        interaction(6, user=f"I am {LEAKED_EMAIL}, call me on {LEAKED_PHONE}"),
    ]


def test_a_file_is_checked_logged_masked_and_summarised(project):
    write_jsonl(project / "traffic.jsonl", mixed_records())
    result = cli(project, "monitor", "traffic.jsonl")
    assert result.returncode == 0, result.stderr.decode()
    stdout, stderr = result.stdout.decode(), result.stderr.decode()
    printed = [json.loads(line) for line in stdout.splitlines()]
    logged = read_log(project / "chatbot_monitoring.log")
    assert printed == logged and len(logged) == 6
    assert [sorted(f["category"] for f in line["findings"]) for line in logged] == [
        [], ["pii"], ["error"], ["latency"], ["error"], []]
    for text in (stdout, stderr, (project / "chatbot_monitoring.log").read_text()):
        assert LEAKED_EMAIL not in text and "555-0142" not in text
    assert logged[5]["user"] == "I am [EMAIL], call me on [PHONE]"
    assert "6 interaction(s), 4 flagged, 0 bad line(s)" in stderr
    assert "pii 1 (16.7%), error 2 (33.3%), latency 1 (16.7%)" in stderr
    assert "p50" in stderr and "p95" in stderr and "p99" in stderr


@pytest.mark.parametrize("fail_on, code", [("pii", 1), ("latency,error", 1), ("content", 0), ("bad_input", 0),
                                           ("any", 1)])
def test_fail_on_sets_the_exit_code(project, fail_on, code):
    write_jsonl(project / "traffic.jsonl", mixed_records())
    result = cli(project, "monitor", "traffic.jsonl", "--quiet", "--fail-on", fail_on)
    assert result.returncode == code, result.stderr.decode()
    assert ("failing: seen" in result.stderr.decode()) == bool(code)


def test_fail_on_from_the_config_file(tmp_path):
    root = make_project(tmp_path / "p", '[tool.llmops.monitor]\nfail_on = ["pii"]\n')
    write_jsonl(root / "t.jsonl", [interaction(1, reply=f"mail {LEAKED_EMAIL}")])
    assert cli(root, "monitor", "-q", "t.jsonl").returncode == 1


def test_stdin_is_read_with_dash_or_no_path(project):
    data = b"".join(json.dumps(r).encode() + b"\n" for r in mixed_records())
    for args in (["monitor", "-"], ["monitor"]):
        result = cli(project, *args, "--no-log-file", input=data)
        assert result.returncode == 0
        assert len(result.stdout.decode().splitlines()) == 6
        assert "<stdin>" not in result.stderr.decode()  # no bad lines to report
    assert not (project / "chatbot_monitoring.log").exists()


def test_a_field_mapping_reads_an_existing_log_format(project):
    records = [{"ts": 1764064800.5, "session": "s1", "who": "u1",
                "request": {"text": "hello"}, "response": {"text": f"mail {LEAKED_EMAIL}", "took": 12}}]
    write_jsonl(project / "app.log", records)
    result = cli(project, "monitor", "app.log", "-q", "--map", "user=request.text", "--map", "reply=response.text",
                 "--map", "latency_ms=response.took", "--map", "conversation_id=session", "--map", "user_id=who",
                 "--map", "timestamp=ts")
    assert result.returncode == 0, result.stderr.decode()
    [line] = read_log(project / "chatbot_monitoring.log")
    assert line["timestamp"] == "2025-11-25T10:00:00.500Z"
    assert (line["conversation_id"], line["user_id"], line["user"], line["reply"], line["latency_ms"]) == (
        "s1", "u1", "hello", "mail [EMAIL]", 12)


def test_a_field_mapping_from_the_config_file(tmp_path):
    root = make_project(tmp_path / "p", '[tool.llmops.monitor]\nfields = {reply = "answer", latency_ms = "ms"}\n')
    write_jsonl(root / "t.jsonl", [{"user": "hi", "answer": "hello", "ms": 3}])
    result = cli(root, "monitor", "-q", "t.jsonl")
    assert result.returncode == 0 and read_log(root / "chatbot_monitoring.log")[0]["reply"] == "hello"


def test_bad_input_is_counted_and_reported_by_line_and_good_lines_survive(project):
    huge = b'{"user": "hi", "reply": "' + b"x" * (10 * 1024 * 1024) + b'", "latency_ms": 1}\n'
    lines = [
        interaction(1),                       # 1
        b'{"user": "hi", "reply": \n',        # 2 malformed JSON
        interaction(3),                       # 3
        json.dumps({"user": "hi", "latency_ms": 5}).encode() + b"\n",  # 4 no reply, no error
        huge,                                 # 5 10 MB
        interaction(6),                       # 6
        bytes(b for b in range(256) if b != 10) + b"\n",  # 7 binary junk
        b'{"user": "caf\xe9", "reply": "x", "latency_ms": 1}\n',  # 8 invalid UTF-8
        b"\n",                                # 9 blank: skipped
        b"[1, 2, 3]\n",                       # 10 not an object
        json.dumps({"user": "hi", "reply": "x", "latency_ms": "slow"}).encode() + b"\n",  # 11 wrong type
        json.dumps(interaction(12)).encode(),  # 12 last line without newline
    ]
    write_jsonl(project / "traffic.jsonl", lines)
    result = cli(project, "monitor", "traffic.jsonl", "-q", "--fail-on", "bad_input")
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert [line["conversation_id"] for line in read_log(project / "chatbot_monitoring.log")] == [
        "c-1", "c-3", "c-6", "c-12"]
    assert "traffic.jsonl:2: not valid JSON" in stderr
    assert "traffic.jsonl:4: missing field 'reply'" in stderr
    assert "traffic.jsonl:5: line too long (10485804 bytes > 1048576)" in stderr
    assert "traffic.jsonl:7: not valid UTF-8" in stderr
    assert "traffic.jsonl:8: not valid UTF-8" in stderr
    assert "traffic.jsonl:10: a JSON list, not an object" in stderr
    assert "traffic.jsonl:11: field 'latency_ms' must be a number" in stderr
    assert "4 interaction(s), 0 flagged, 7 bad line(s)" in stderr
    assert "xxxxxxxx" not in stderr and "caf" not in stderr  # reasons, never content


def test_a_file_without_any_newline_is_one_too_long_line(project):
    (project / "junk.bin").write_bytes(b"\x00\xff" * 2_000_000)
    result = cli(project, "monitor", "junk.bin", "-q", "--max-line-bytes", "4096")
    assert result.returncode == 0
    assert "junk.bin:1: line too long (4000000 bytes > 4096)" in result.stderr.decode()


@pytest.mark.parametrize("args, message", [
    (["missing.jsonl"], "missing.jsonl: no such file"),
    (["--map", "reply"], "expected FIELD=PATH"),
    (["--map", "answer=x"], "unknown record field 'answer'"),
    (["--fail-on", "pii,oops"], "unknown condition 'oops'"),
    (["--follow", "a", "b"], "--follow needs exactly one file"),
    (["--follow", "."], ".: not a file"),
    (["--simulate", "3", "x.jsonl"], "--simulate generates its own traffic"),
    (["--simulate", "3", "--target", "nope"], "unknown target 'nope'"),
])
def test_usage_errors_are_clear_and_exit_2(project, args, message):
    (project / "x.jsonl").write_text("")
    result = cli(project, "monitor", *args)
    assert result.returncode == 2
    assert message in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()


def test_simulate_generates_traffic_with_leaks_errors_and_slow_replies(tmp_path):
    root = make_project(tmp_path / "p", "max_latency_ms = 150\n")
    result = cli(root, "monitor", "--simulate", "60", "--seed", "7", "--fail-on", "pii", "--log-file=sim.log")
    stdout = result.stdout.decode()
    assert result.returncode == 1, result.stderr.decode()
    logged = read_log(root / "sim.log")
    assert len(logged) == 60 and len(stdout.splitlines()) == 60
    categories = {f["category"] for line in logged for f in line["findings"]}
    assert {"pii", "error", "latency"} <= categories
    assert "jane.doe@example.com" not in stdout and "(415) 555-0142" not in stdout
    assert all(line["user_id"].startswith("customer-") for line in logged)
    slow = [line for line in logged if any(f["check"] == "max_latency_ms" for f in line["findings"])]
    assert all(line["latency_ms"] >= 150 for line in slow)  # really slow, not labelled slow


def test_reading_its_own_log_is_refused(project):
    write_jsonl(project / "chatbot_monitoring.log", [interaction(1)])
    result = cli(project, "monitor", "chatbot_monitoring.log")
    assert result.returncode == 2
    assert "is the monitor's own log file" in result.stderr.decode()
    assert cli(project, "monitor", "chatbot_monitoring.log", "--log-file", "checked.log", "-q").returncode == 0
    assert len(read_log(project / "checked.log")) == 1


def test_ctrl_c_while_reading_stdin_still_prints_the_summary(project):
    import signal
    import subprocess
    import sys
    import time

    # SIGINT as at a terminal, even when this suite runs as a background job (which ignores it)
    process = subprocess.Popen([sys.executable, "-m", "pytest_llmops.cli", "monitor", "-q"], cwd=project,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        process.stdin.write(json.dumps(interaction(1)).encode() + b"\n")
        process.stdin.flush()
        deadline = time.monotonic() + 15
        while not (project / "chatbot_monitoring.log").exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert "1 interaction(s)" in err.decode() and "Traceback" not in err.decode()


def test_simulate_against_a_real_http_target_on_loopback(tmp_path):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Bot(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            message = json.loads(self.rfile.read(int(self.headers["content-length"])))["message"]
            reply = f"Write to {LEAKED_EMAIL}" if "order" in message else "Happy to help with that."
            body = json.dumps({"reply": reply}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Bot)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        root = make_project(tmp_path / "p", f'[tool.llmops.targets.api]\ntype = "http"\n'
                                            f'url = "http://127.0.0.1:{server.server_port}/chat"\n')
        result = cli(root, "monitor", "--simulate", "40", "--target", "api", "--seed", "5", "-q",
                     "--log-file=chatbot_monitoring.log")
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stderr.decode()
    logged = read_log(root / "chatbot_monitoring.log")
    assert len(logged) == 40
    leaks = [line for line in logged if "order" in line["user"]]
    assert leaks and all(line["reply"] == "Write to [EMAIL]" for line in leaks)
    assert all(line["findings"] == [] for line in logged if "order" not in line["user"])
    assert LEAKED_EMAIL not in (root / "chatbot_monitoring.log").read_text()


# --- quiet where quiet was asked --------------------------------------------------------------------

def _quiet(stderr: str) -> None:
    for noise in ("Traceback", "BrokenPipe", "Logging error", "Exception ignored"):
        assert noise not in stderr, stderr[-2000:]


def test_a_reader_that_goes_away_ends_the_monitor_quietly(tmp_path):
    """``llmops monitor ... | head -3``: three lines, then the command ends, with no traceback at all."""
    import subprocess
    import sys

    root = make_project(tmp_path / "p", "max_latency_ms = 20\n")
    process = subprocess.Popen([sys.executable, "-m", "pytest_llmops.cli", "monitor", "--simulate", "400", "--seed",
                                "3", "--log-file=sim.log"], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        process.stdout.close()  # what `head -3` does after its third line
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert all(json.loads(line)["conversation_id"].startswith("sim-") for line in lines)
    assert process.returncode == 141, stderr.decode()
    _quiet(stderr.decode())
    assert stderr.decode() == ""
    assert 3 <= len(read_log(root / "sim.log")) < 400  # it stopped early, and kept what it had checked


def test_a_shell_pipe_into_head_is_quiet(tmp_path):
    import subprocess
    import sys

    root = make_project(tmp_path / "p", "max_latency_ms = 20\n")
    llmops = f"{sys.executable} -m pytest_llmops.cli"
    done = subprocess.run(["bash", "-c", f"{llmops} monitor --simulate 300 --seed 3 --no-log-file | head -3; "
                                         f"{llmops} feedback --schema | head -2; {llmops} schema cases | head -1"],
                          cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 6, done.stdout
    _quiet(done.stderr)
    assert done.stderr == ""


@pytest.mark.parametrize("args", [["feedback", "--schema"], ["schema", "cases"], ["summary", "--help"]])
def test_a_closed_stdout_ends_any_command_quietly(tmp_path, args):
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first write
    try:
        done = subprocess.run([sys.executable, "-m", "pytest_llmops.cli", *args], cwd=tmp_path, stdout=write,
                              stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(write)
    assert done.returncode == 141 or (args[-1] == "--help" and done.returncode in (0, 141)), done.stderr
    _quiet(done.stderr.decode())


def test_quiet_means_the_summary_only(tmp_path):
    root = make_project(tmp_path / "p", "max_latency_ms = 20\n")
    result = cli(root, "monitor", "-q", "--no-log-file", "--simulate", "40", "--seed", "1", "--fail-on", "pii")
    assert result.returncode == 1  # flagged interactions were seen ...
    assert result.stdout == b""
    stderr = result.stderr.decode()
    assert not [line for line in stderr.splitlines() if line.lstrip().startswith("{")], stderr  # ... not printed
    assert "llmops monitor summary: 40 interaction(s)" in stderr
    _quiet(stderr)


def test_a_simulation_never_writes_the_production_log_unless_told(tmp_path):
    root = make_project(tmp_path / "p", "max_latency_ms = 20\n")
    write_jsonl(root / "chatbot_monitoring.log", [interaction(1)])  # production traffic logged earlier
    before = (root / "chatbot_monitoring.log").read_bytes()
    result = cli(root, "monitor", "--simulate", "30", "--seed", "2", "-q")
    assert result.returncode == 0, result.stderr.decode()
    assert (root / "chatbot_monitoring.log").read_bytes() == before
    assert "simulated traffic is not logged (--log-file=PATH writes it)" in result.stderr.decode()
    cases = cli(root, "cases", "from-monitor-log", "--dry-run")
    assert cases.returncode == 0 and "sim-" not in cases.stdout.decode() + cases.stderr.decode()

    told = cli(root, "monitor", "--simulate", "30", "--seed", "2", "-q", "--log-file=demo.log")
    assert told.returncode == 0 and len(read_log(root / "demo.log")) == 30
    assert (root / "chatbot_monitoring.log").read_bytes() == before


CONCURRENCY_BOT = """
import threading, time
from pathlib import Path

_lock = threading.Lock()
_active = [0]


def reply(messages):
    with _lock:
        _active[0] += 1
        peak = Path("peak.txt")
        seen = int(peak.read_text()) if peak.exists() else 0
        peak.write_text(str(max(seen, _active[0])))
    time.sleep(0.05)
    with _lock:
        _active[0] -= 1
    return "Happy to help."
"""


@pytest.mark.parametrize("concurrency, peak", [("1", 1), ("4", 4)])
def test_simulate_takes_concurrency(tmp_path, concurrency, peak):
    root = make_project(tmp_path / "p", '[tool.llmops.targets.bot]\ntype = "python"\ncallable = "bot:reply"\n')
    (root / "bot.py").write_text(CONCURRENCY_BOT)
    result = cli(root, "monitor", "--simulate", "24", "--seed", "4", "--target", "bot", "-q",
                 "--concurrency", concurrency)
    assert result.returncode == 0, result.stderr.decode()
    assert int((root / "peak.txt").read_text()) == peak


@pytest.mark.parametrize("args, message", [
    (["--simulate", "3", "--concurrency", "0"], "--concurrency N: N must be from 1 to 1024"),
    (["--concurrency", "2"], "--target, --seed and --concurrency only apply to --simulate"),
])
def test_simulate_concurrency_usage_errors(project, args, message):
    result = cli(project, "monitor", *args)
    assert result.returncode == 2 and message in result.stderr.decode()


def test_a_bare_monitor_on_a_terminal_says_it_reads_standard_input(project):
    import sys

    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(sys.executable, ["-m", "pytest_llmops.cli", "monitor", "--no-log-file"], cwd=str(project),
                          timeout=30, encoding="utf-8")
    try:
        child.expect("reading interaction records \\(JSON Lines\\) from standard input; end with Ctrl-D")
        child.sendline(json.dumps(interaction(1)))
        child.sendeof()
        child.expect("1 interaction\\(s\\)")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_piped_stdin_gets_no_terminal_hint(project):
    result = cli(project, "monitor", "--no-log-file", input=json.dumps(interaction(1)).encode() + b"\n")
    assert result.returncode == 0 and "standard input" not in result.stderr.decode()

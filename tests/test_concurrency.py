"""Concurrent replay through pytest: bounded, in order, only selected cases, prompt stop, xdist exactly once.

The bot is the stub server on 127.0.0.1, which counts what it received and how many
requests it handled at once; no test here asserts on wall-clock speed (that is
benchmarks/replay.py's job).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from pytest_llmops.targets.stub_server import ServerFaults, StubServer
from pytest_llmops.targets.stub import StubBehaviour
from pipe_lines import PipeLines
from target_servers import RECORDER_CONFTEST, read_records


def cases_yaml(count: int, prefix: str = "case", tags: dict[int, str] | None = None) -> str:
    lines = ["cases:"]
    for n in range(count):
        lines.append(f"  - id: {prefix}-{n:02d}")
        if tags and n in tags:
            lines.append(f"    tags: [{tags[n]}]")
        lines.append(f"    turns: [{{user: 'message {prefix} {n:02d}'}}]")
    return "\n".join(lines) + "\n"


def http_toml(server: StubServer) -> str:
    return f'target = "api"\n[tool.llmops.targets.api]\ntype = "http"\nurl = "{server.url}/chat"\n'


@pytest.fixture
def server_factory():
    servers = []

    def start(latency_ms: float = 0, **faults) -> StubServer:
        server = StubServer(StubBehaviour(latency_ms=latency_ms), ServerFaults(**faults)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_replays_run_concurrently_up_to_the_limit_and_report_in_order(make_project, server_factory):
    server = server_factory(latency_ms=150)
    project = make_project({"many.yaml": cases_yaml(12)}, http_toml(server))
    result = project.runpytest("--llmops", "--llmops-concurrency", "4", "-v")
    result.assert_outcomes(passed=12)
    assert server.peak_in_flight == 4
    passed_lines = [line for line in result.stdout.lines if " PASSED" in line]
    assert [line.split("::")[1].split()[0] for line in passed_lines] == [f"case-{n:02d}" for n in range(12)]


def test_concurrency_comes_from_the_config_too(make_project, server_factory):
    server = server_factory(latency_ms=100)
    project = make_project({"many.yaml": cases_yaml(6)}, "concurrency = 2\n" + http_toml(server))
    project.runpytest("--llmops").assert_outcomes(passed=6)
    assert server.peak_in_flight == 2


@pytest.mark.parametrize("value", ["0", "-3"])
def test_a_concurrency_below_one_is_a_usage_error(make_project, value):
    result = make_project({"one.yaml": cases_yaml(1)}).runpytest("--llmops", "--llmops-concurrency", value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*concurrency: Input should be greater than or equal to 1*"])


def test_latency_never_includes_waiting_for_a_slot(make_project, server_factory):
    server = server_factory(latency_ms=150)
    project = make_project({"queue.yaml": cases_yaml(6)}, http_toml(server))
    project.makeconftest(RECORDER_CONFTEST)
    project.runpytest("--llmops", "--llmops-concurrency", "1").assert_outcomes(passed=6)
    latencies = [record["turns"][0]["latency_ms"] for record in read_records(project.path).values()]
    # one at a time: the last case waited ~750 ms for its slot, but its reply took ~150 ms
    assert len(latencies) == 6 and all(140 <= latency < 600 for latency in latencies), latencies
    assert server.peak_in_flight == 1


def test_only_selected_cases_are_sent(make_project, server_factory):
    server = server_factory()
    project = make_project({"sel.yaml": cases_yaml(8, tags={1: "smoke", 5: "smoke"})}, http_toml(server))
    project.runpytest("--llmops", "-m", "smoke").assert_outcomes(passed=2)
    assert sorted(server.received) == ["message case 01", "message case 05"]
    server.received.clear()
    project.runpytest("--llmops", "-k", "case-03 or case-07").assert_outcomes(passed=2)
    assert sorted(server.received) == ["message case 03", "message case 07"]
    server.received.clear()
    project.runpytest("--llmops", "--collect-only")
    assert server.received == []


def test_skipped_cases_are_never_sent_and_skipif_false_ones_are(make_project, server_factory):
    server = server_factory()
    project = make_project({"skip.yaml": cases_yaml(4)}, http_toml(server))
    project.makeconftest("""
        import pytest

        def pytest_collection_modifyitems(items):
            for item in items:
                if item.name == "case-01":
                    item.add_marker(pytest.mark.skip(reason="not today"))
                if item.name == "case-02":
                    item.add_marker(pytest.mark.skipif(True, reason="condition holds"))
                if item.name == "case-03":
                    item.add_marker(pytest.mark.skipif(False, reason="condition fails"))
    """)
    project.runpytest("--llmops").assert_outcomes(passed=2, skipped=2)
    assert sorted(server.received) == ["message case 00", "message case 03"]


def test_exitfirst_cancels_outstanding_replays(make_project, server_factory):
    server = server_factory(latency_ms=100, http_error_on="case 00")
    project = make_project({"stop.yaml": cases_yaml(30)}, http_toml(server))
    result = project.runpytest("--llmops", "--llmops-concurrency", "2", "-x")
    result.assert_outcomes(failed=1)
    # case 00 fails at once; at most the two or three replays already started may still reach the bot
    assert len(server.received) <= 4, server.received


def test_maxfail_stops_after_that_many_failures(make_project, server_factory):
    server = server_factory(latency_ms=50, http_error_on="case 0[0-2]")
    project = make_project({"stop.yaml": cases_yaml(30)}, http_toml(server))
    result = project.runpytest("--llmops", "--llmops-concurrency", "2", "--maxfail", "2")
    result.assert_outcomes(failed=2)
    assert len(server.received) <= 5, server.received


def test_xdist_replays_each_selected_case_exactly_once(make_project, server_factory):
    server = server_factory(latency_ms=20)
    project = make_project({"a.yaml": cases_yaml(10, "a"), "b.yaml": cases_yaml(10, "b")}, http_toml(server))
    project.makeconftest(RECORDER_CONFTEST)
    result = project.runpytest("--llmops", "-n", "4", "-k", "not a-03")
    expected = sorted(f"message {p} {n:02d}" for p in "ab" for n in range(10) if (p, n) != ("a", 3))
    result.assert_outcomes(passed=19)
    assert sorted(server.received) == expected
    assert len(read_records(project.path)) == 19  # every record reached the controller


@pytest.mark.parametrize("dist", ["load", "worksteal"])
def test_under_xdist_each_worker_keeps_its_concurrency_busy(make_project, server_factory, dist):
    # 24 cases of 300 ms, concurrency 4, two workers: with the whole share queued on each worker
    # (--dist load, xdist's default under -n) 8 conversations are in flight at once; a worker that
    # only replays the item it runs and the next (worksteal may take queued items back) has at most 4
    server = server_factory(latency_ms=300)
    project = make_project({"many.yaml": cases_yaml(24)}, http_toml(server))
    project.makeconftest(RECORDER_CONFTEST)
    result = project.runpytest("--llmops", "--llmops-concurrency", "4", "-n", "2", "--dist", dist)
    result.assert_outcomes(passed=24)
    assert sorted(server.received) == sorted(f"message case {n:02d}" for n in range(24))  # each exactly once
    assert len(read_records(project.path)) == 24
    if dist == "load":
        assert server.peak_in_flight == 8
    else:
        assert server.peak_in_flight <= 4


# Loaded by the interrupted run: once pytest has returned, Python runs exit handlers before it
# kills daemon threads, so this sees every replay thread still alive then. It then holds the
# process (and any connection a hung thread still has open) until the test has looked at the server.
AT_EXIT_CONFTEST = """
import atexit, sys, threading

def _report_replay_threads():
    alive = sorted(t.name for t in threading.enumerate() if t.name.startswith("llmops-replay"))
    print("AT EXIT replay threads alive:", ",".join(alive) or "none", flush=True)
    sys.stdin.readline()

atexit.register(_report_replay_threads)
"""


def test_ctrl_c_stops_promptly_with_no_hung_threads(make_project, server_factory):
    server = server_factory(hang_on="message")  # every request hangs until the client goes away or the server stops
    project = make_project({"hang.yaml": cases_yaml(6)}, http_toml(server))
    project.makeconftest(AT_EXIT_CONFTEST)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # SIGINT as at a terminal, even when this suite runs as a background job (which ignores it, and a
    # Python started with it ignored never raises KeyboardInterrupt)
    process = subprocess.Popen([sys.executable, "-m", "pytest", "--llmops", "-p", "no:cacheprovider",
                                "--llmops-timeout", "60", "--llmops-concurrency", "3"],
                               cwd=project.path, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=env,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    output = PipeLines(process.stdout)
    try:
        deadline = time.monotonic() + 20
        while len(server.received) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(server.received) == 3 and server.in_flight == 3  # three conversations hang on the bot
        process.send_signal(signal.SIGINT)
        # a hung request would hold its worker for the 60 s timeout
        at_exit = output.wait_for(lambda line: line.startswith("AT EXIT"), timeout=10)
        assert at_exit is not None, output.text(timeout=0)
        assert at_exit.strip() == "AT EXIT replay threads alive: none", output.text(timeout=0)
        # The process is still alive, so its sockets are not closed by its exit: shutdown ended the requests.
        deadline = time.monotonic() + 5
        while server.in_flight and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.in_flight == 0 and process.poll() is None
        process.stdin.close()
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    output = output.text()
    assert process.returncode == pytest.ExitCode.INTERRUPTED, output
    assert "KeyboardInterrupt" in output
    assert len(server.received) == 3  # nothing new was sent after Ctrl-C


def test_cases_and_ordinary_tests_run_together_in_order(make_project, server_factory):
    server = server_factory(latency_ms=30)
    project = make_project({"mix.yaml": cases_yaml(4)}, http_toml(server))
    project.makepyfile(test_plain="def test_one():\n    assert True\n\ndef test_two():\n    assert True\n")
    result = project.runpytest("--llmops", "eval_cases", "test_plain.py", "-v", "-x")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*mix.yaml::case-00 PASSED*", "*mix.yaml::case-03 PASSED*",
                                 "*test_plain.py::test_one PASSED*", "*test_plain.py::test_two PASSED*"])
    assert len(server.received) == 4

"""Faults are findings: every way a chatbot can break ends that case as a clear failure, and the run goes on.

All against real servers on 127.0.0.1: the stub server's fault switches, and raw socket
servers for what no well-behaved server does (never answering, trickling forever).
"""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from pytest_llmops.errors import TargetConnectionError, TargetError
from pytest_llmops.targets.stub_server import ServerFaults, StubServer
from pytest_llmops.targets.http_client import transport_error
from target_servers import RECORDER_CONFTEST, RawServer, read_records, respond

HEALTHY = """
  - id: healthy-after
    turns:
      - user: "How long do I have to return an item?"
        expect: {contains: ["30 days"]}
"""


# The same question to the built-in bot: proves the run went on past the broken target.
STILL_RUNS = """
  - id: still-runs
    target: stub
    turns:
      - user: "How long do I have to return an item?"
        expect: {contains: ["30 days"]}
"""


def http_toml(url: str, **extra: str) -> str:
    lines = ["[tool.llmops.targets.api]", 'type = "http"', f'url = "{url}"', 'reply_path = "reply"']
    lines += [f"{key} = {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def openai_toml(url: str, **extra: str) -> str:
    lines = ["[tool.llmops.targets.api]", 'type = "openai"', f'base_url = "{url}/v1"', 'model = "m"']
    lines += [f"{key} = {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def faulty_server():
    server = StubServer(faults=ServerFaults(
        http_error_on="explode", http_error_status=500, malformed_on="garble", empty_on="silence",
        close_on="hangup", hang_on="forever", flaky_on="flaky", flaky_times=2)).start()
    yield server
    server.stop()


FAULT_CASES = """
cases:
  - id: http-500
    turns:
      - user: "hello"
      - user: "please explode"
      - user: "never sent"
  - id: not-json
    turns: [{user: "garble this"}]
  - id: empty-reply
    turns: [{user: "silence please"}]
  - id: connection-closed
    turns: [{user: "hangup now"}]
  - id: never-finishes
    turns: [{user: "talk forever"}]
  - id: flaky-without-retries
    turns: [{user: "flaky one"}]
""" + HEALTHY


@pytest.mark.parametrize("kind", ["http", "openai"])
def test_each_server_fault_fails_its_case_clearly_and_the_run_goes_on(make_project, faulty_server, kind):
    toml = http_toml(f"{faulty_server.url}/chat") if kind == "http" else openai_toml(faulty_server.url)
    project = make_project({"faults.yaml": FAULT_CASES}, toml)
    project.makeconftest(RECORDER_CONFTEST)
    started = time.perf_counter()
    result = project.runpytest("--llmops", "--llmops-target", "api", "--llmops-timeout", "1")
    elapsed = time.perf_counter() - started
    result.assert_outcomes(failed=6, passed=1)
    assert elapsed < 15, f"a fault held the run up ({elapsed:.1f} s)"
    result.stdout.fnmatch_lines([
        "*faults.yaml::http-500: 1 check(s) failed (target: api)*",
        "turn 2: user: 'please explode'",
        "*FAILED reply: expected a reply from the chatbot; got http_status: HTTP 500 Internal Server Error*",
        "1 later turn(s) not sent: the conversation broke off at a fault*",
    ])
    result.stdout.fnmatch_lines(["*FAILED reply: *got bad_response: response is not JSON (text/html)*"])
    result.stdout.fnmatch_lines(["*FAILED reply: *got bad_response: empty reply at*"])
    result.stdout.fnmatch_lines(["*FAILED reply: *got connection: 127.0.0.1:* closed the connection without "
                                 "a complete response*"])
    result.stdout.fnmatch_lines(["*FAILED reply: *got timeout: no complete reply within 1 s*"])
    result.stdout.fnmatch_lines(["*FAILED reply: *got http_status: HTTP 503 Service Unavailable*"])
    records = read_records(project.path)
    assert records["http-500"]["turns"][1]["error_kind"] == "http_status"
    assert records["http-500"]["turns"][1]["status"] == 500
    assert records["http-500"]["skipped_turns"] == 1
    assert records["never-finishes"]["turns"][0]["latency_ms"] < 3000
    assert "never sent" not in faulty_server.received


def test_retries_on_503_are_configurable_and_reported(make_project):
    cases = """
    cases:
      - id: flaky-retried
        turns: [{user: "flaky but fine", expect: {contains: ["not sure I understood"]}}]
      - id: flaky-gives-up
        target: stubborn
        turns: [{user: "flaky forever"}]
    """
    server = StubServer(faults=ServerFaults(flaky_on="flaky but", flaky_times=2)).start()
    stubborn = StubServer(faults=ServerFaults(flaky_on="forever", flaky_times=99)).start()
    try:
        toml = (http_toml(f"{server.url}/chat", retries="2", retry_backoff_s="0.01")
                + http_toml(f"{stubborn.url}/chat", retries="1", retry_backoff_s="0.01").replace("targets.api",
                                                                                                  "targets.stubborn"))
        project = make_project({"flaky.yaml": cases}, toml)
        project.makeconftest(RECORDER_CONFTEST)
        result = project.runpytest("--llmops", "--llmops-target", "api", "--junitxml=junit.xml")
        result.assert_outcomes(passed=1, failed=1)
        result.stdout.fnmatch_lines(["*got http_status: HTTP 503 Service Unavailable after 1 retry*"])
        assert '<property name="llmops_turn_1_retries" value="2"' in (project.path / "junit.xml").read_text()
        records = read_records(project.path)
        assert records["flaky-retried"]["turns"][0]["retries"] == 2
        assert records["flaky-gives-up"]["turns"][0]["retries"] == 1
        assert server.received == ["flaky but fine"] * 3
        assert stubborn.received == ["flaky forever"] * 2
    finally:
        server.stop()
        stubborn.stop()


def test_a_503_with_retry_after_is_waited_out_then_retried(make_project):
    arrivals: list[float] = []

    def busy_then_fine(conn: socket.socket, srv: RawServer) -> None:
        arrivals.append(time.monotonic())
        if len(arrivals) == 1:
            respond(conn, 503, b'{"error": "busy"}', headers={"Retry-After": "1"})
        else:
            respond(conn, 200, b'{"reply": "You can return any item within 30 days."}')

    server = RawServer(busy_then_fine)
    try:
        cases = "cases:\n  - id: busy\n    turns: [{user: hi, expect: {contains: ['30 days']}}]\n"
        # our own backoff would wait 0.01 s: only the server's Retry-After can make it a second
        project = make_project({"t.yaml": cases}, http_toml(f"{server.url}/chat", retries="1", retry_backoff_s="0.01"))
        project.makeconftest(RECORDER_CONFTEST)
        result = project.runpytest("--llmops", "--llmops-target", "api", "--junitxml=junit.xml")
        result.assert_outcomes(passed=1)
    finally:
        server.close()
    assert len(arrivals) == 2
    assert 1.0 <= arrivals[1] - arrivals[0] < 10  # the wait the server asked for, not the 30 s cap
    turn = read_records(project.path)["busy"]["turns"][0]
    assert turn["retries"] == 1 and turn["status"] == 200
    assert turn["latency_ms"] >= 1000  # the wait counts: it is what the user would have waited
    assert '<property name="llmops_turn_1_retries" value="1"' in (project.path / "junit.xml").read_text()


def test_connection_refused_is_a_finding(make_project):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    project = make_project({"c.yaml": "cases:\n  - id: refused\n    turns: [{user: hi}]\n" + STILL_RUNS},
                           http_toml(f"http://127.0.0.1:{port}/chat"))
    result = project.runpytest("--llmops", "--llmops-target", "api", "--llmops-timeout", "2")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines([f"*got connection: connection refused by 127.0.0.1:{port}*"])


def test_a_server_that_never_answers_is_a_read_timeout_within_the_timeout(make_project):
    server = RawServer(lambda conn, srv: srv.stop.wait(30))
    try:
        project = make_project({"t.yaml": "cases:\n  - id: silent\n    turns: [{user: hi}]\n" + STILL_RUNS},
                               http_toml(f"{server.url}/chat", timeout_s="0.5"))
        started = time.perf_counter()
        result = project.runpytest("--llmops", "--llmops-target", "api")
        assert time.perf_counter() - started < 10
        result.assert_outcomes(failed=1, passed=1)
        result.stdout.fnmatch_lines(["*got timeout: read timeout: no reply within 0.5 s*"])
    finally:
        server.close()


def test_a_trickling_response_is_cut_off_at_the_deadline(make_project):
    def trickle(conn: socket.socket, srv: RawServer) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
        while not srv.stop.wait(0.1):
            conn.sendall(b" ")  # each read succeeds, so only a whole-reply deadline stops this

    server = RawServer(trickle)
    try:
        project = make_project({"t.yaml": "cases:\n  - id: trickle\n    turns: [{user: hi}]\n" + STILL_RUNS},
                               http_toml(f"{server.url}/chat", timeout_s="0.6"))
        project.makeconftest(RECORDER_CONFTEST)
        result = project.runpytest("--llmops", "--llmops-target", "api")
        result.assert_outcomes(failed=1, passed=1)
        result.stdout.fnmatch_lines(["*got timeout: no complete reply within 0.6 s (the response never finished)*"])
        assert read_records(project.path)["trickle"]["turns"][0]["latency_ms"] < 1500
    finally:
        server.close()


def test_a_full_backlog_is_a_connect_timeout(make_project):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):  # fill the accept queue; later SYNs are dropped
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        time.sleep(0.1)
        project = make_project({"t.yaml": "cases:\n  - id: no-connect\n    turns: [{user: hi}]\n" + STILL_RUNS},
                               http_toml(f"http://127.0.0.1:{port}/chat", timeout_s="5", connect_timeout_s="0.5"))
        started = time.perf_counter()
        result = project.runpytest("--llmops", "--llmops-target", "api")
        assert time.perf_counter() - started < 10
        result.assert_outcomes(failed=1, passed=1)
        result.stdout.fnmatch_lines(["*got timeout: connect timeout: no connection within 0.* s*"])
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_json_without_the_reply_path_names_what_is_missing(make_project, faulty_server):
    project = make_project({"p.yaml": "cases:\n  - id: wrong-path\n    turns: [{user: hi}]\n" + HEALTHY},
                           http_toml(f"{faulty_server.url}/chat").replace('reply_path = "reply"',
                                                                          'reply_path = "data.0.text"'))
    result = project.runpytest("--llmops", "--llmops-target", "api")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*got bad_response: no 'data' in the response JSON (reply path 'data.0.text')*"])


def test_an_error_body_with_pii_is_masked_in_the_failure(make_project):
    def leaky_error(conn: socket.socket, srv: RawServer) -> None:
        respond(conn, 500, b'{"error": "lookup failed for jane.doe@example.com"}')

    server = RawServer(leaky_error)
    try:
        project = make_project({"e.yaml": "cases:\n  - id: leaky-error\n    turns: [{user: hi}]\n" + STILL_RUNS},
                               http_toml(f"{server.url}/chat"))
        result = project.runpytest("--llmops", "--llmops-target", "api")
        result.assert_outcomes(failed=1, passed=1)
        assert "jane.doe@example.com" not in result.stdout.str()
        result.stdout.fnmatch_lines(["*HTTP 500 Internal Server Error*lookup failed for*"])
    finally:
        server.close()


def test_dns_failure_is_named_as_such():
    # A real lookup would leave 127.0.0.1, so the mapping is checked on the error httpx raises for it.
    error = httpx.ConnectError("[Errno -2] Name or service not known")
    mapped = transport_error(error, "http://bot.internal.example:8080/chat")
    assert isinstance(mapped, TargetConnectionError)
    assert str(mapped).startswith("DNS failure: cannot resolve host 'bot.internal.example'")
    other = transport_error(httpx.ReadError("reset"), "https://bot.example/chat")
    assert isinstance(other, TargetError) and "bot.example:443" in str(other)


@pytest.mark.parametrize("retry_after, wait", [(None, 1.0), ("2", 2.0), ("100", 30.0), ("-3", 1.0), ("nan", 1.0),
                                               ("Wed, 21 Oct 2015 07:28:00 GMT", 1.0)])
def test_backoff_honours_a_sane_retry_after_and_doubles_otherwise(retry_after, wait):
    from pytest_llmops.targets.http_client import HttpClient

    client = HttpClient(timeout_s=1, retry_backoff_s=0.5)
    headers = httpx.Headers({"retry-after": retry_after} if retry_after else {})
    assert client._backoff(1, headers) == wait  # attempt 1: 0.5 s doubled
    client.close()


def test_closing_the_client_ends_a_request_blocked_on_a_hung_server_at_once():
    from pytest_llmops.targets.http_client import STOPPING, HttpClient

    server = StubServer(faults=ServerFaults(hang_on="forever")).start()
    client = HttpClient(timeout_s=60)
    errors: list[BaseException] = []

    def send() -> None:
        try:
            client.request("POST", f"{server.url}/chat", json={"message": "talk forever"})
        except TargetError as exc:
            errors.append(exc)

    worker = threading.Thread(target=send)
    try:
        worker.start()
        deadline = time.monotonic() + 10
        while server.in_flight == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.in_flight == 1
        started = time.monotonic()
        client.close()
        worker.join(5)
        assert not worker.is_alive() and time.monotonic() - started < 5  # not the 60 s timeout
        assert [str(error) for error in errors] == [STOPPING]
        deadline = time.monotonic() + 5
        while server.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.in_flight == 0  # the server saw the client let go
    finally:
        client.close()
        server.stop()


def _port_echoing_server():
    """A keep-alive HTTP/1.1 server answering every POST with the client port it came from (one port, one connection)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = str(self.client_address[1]).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_each_sending_thread_keeps_its_own_connection_and_a_closed_client_sends_no_more():
    from pytest_llmops.targets.http_client import STOPPING, HttpClient

    server = _port_echoing_server()
    url = f"http://127.0.0.1:{server.server_address[1]}/chat"
    client = HttpClient(timeout_s=10)
    seen: list[tuple[str, str]] = []

    def send(name: str) -> None:
        try:
            seen.append((name, client.request("POST", url, json={}).text()))
        except TargetError as exc:
            seen.append((name, str(exc)))

    try:
        # one after the other: a pool shared by the threads would hand the second thread the first one's
        # idle connection; each thread's own client keeps its own
        threads = {name: ThreadPoolExecutor(1) for name in "abc"}  # each name is one thread throughout
        for name in "ababc":
            threads[name].submit(send, name).result(10)
        for thread in threads.values():
            thread.shutdown()
        ports = {name: {port for who, port in seen if who == name} for name in "abc"}
        assert all(len(found) == 1 for found in ports.values()), seen
        assert len(set.union(*ports.values())) == 3, seen
        client.close()
        send("after close")
        assert seen[-1] == ("after close", STOPPING)
    finally:
        client.close()
        server.shutdown()
        server.server_close()

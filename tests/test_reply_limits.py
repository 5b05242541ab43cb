"""Replies without limits: a huge body, a compression bomb or a redirect fails one turn clearly, in bounded memory.

Against real servers on 127.0.0.1 that stream the hostile replies without ever holding
them whole; the runs that must stay small are real pytest processes whose peak memory
is measured (its own ``VmHWM``).
"""

from __future__ import annotations

import json
import socket
import zlib
from pathlib import Path

import pytest

from pytest_llmops.errors import TargetResponseError
from pytest_llmops.targets.reply_body import PIECE_BYTES, BodyReader
from target_servers import (GIB, MIB, RECORDER_CONFTEST, RawServer, gzip, gzip_bomb, huge_reply_server,
                            read_records, run_measured, stream_response)
from test_target_faults import STILL_RUNS, http_toml, openai_toml

#: what a run with a huge reply may use at most: a few hundred MB (the run itself takes about 100 MB)
RSS_CEILING_MB = 300
TWO_TURNS = """cases:
  - id: huge
    turns:
      - user: "Tell me everything."
      - user: "And again, with the huge reply sent back as history?"
"""


def write_project(folder: Path, toml: str, cases: str = TWO_TURNS) -> Path:
    (folder / "eval_cases").mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text("[tool.llmops]\n" + toml)
    (folder / "eval_cases" / "huge.yaml").write_text(cases)
    (folder / "conftest.py").write_text(RECORDER_CONFTEST)
    return folder


@pytest.mark.parametrize("mode", ["chunked", "length", "gzip", "gzip-gzip"])
def test_a_1_gib_reply_fails_its_turn_in_bounded_memory(tmp_path, mode):
    """The issue's repro: 1 GiB of JSON (streamed, or announced), a gzip bomb, a bomb gzipped twice."""
    server = huge_reply_server(mode, GIB)
    try:
        project = write_project(tmp_path, http_toml(f"{server.url}/chat"))
        run = run_measured("pytest", ["--llmops", "--llmops-target", "api", "-p", "no:cacheprovider",
                                      "-p", "no:randomly"], project)
    finally:
        server.close()
    assert run.returncode == 1, run.stdout
    assert "got bad_response: reply larger than 5000000 bytes (max_reply_bytes)" in run.stdout
    assert run.peak_rss_mb < RSS_CEILING_MB, f"{mode}: peak RSS {run.peak_rss_mb:.0f} MB"
    turns = read_records(project)["huge"]["turns"]
    assert [turn["error_kind"] for turn in turns] == ["bad_response"]  # not a timeout: cut off at the limit
    assert len(server.requests) == 1  # the second turn, with the reply as history, was never sent
    print(f"{mode}: {run.wall_s:.2f} s, peak RSS {run.peak_rss_mb:.0f} MB")


def test_the_limit_is_set_per_project_and_per_target(make_project):
    small = huge_reply_server("chunked", 3000)
    try:
        toml = ("max_reply_bytes = 2000\n" + http_toml(f"{small.url}/chat")
                + http_toml(f"{small.url}/chat", max_reply_bytes="4000").replace("targets.api", "targets.roomy"))
        cases = "cases:\n  - id: over\n    turns: [{user: hi}]\n  - id: fits\n    target: roomy\n    turns: [{user: hi}]\n"
        project = make_project({"limits.yaml": cases}, toml)
        result = project.runpytest("--llmops", "--llmops-target", "api")
    finally:
        small.close()
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*limits.yaml::over*", "*got bad_response: reply larger than 2000 bytes*"])


def test_a_streamed_event_reply_over_the_limit_fails(make_project):
    def events(conn: socket.socket, server: RawServer) -> None:
        chunk = b'data: {"choices": [{"delta": {"content": "' + b"x" * 1000 + b'"}}]}\n\n'
        stream_response(conn, (chunk for _ in range(100_000)), {"Content-Type": "text/event-stream"})

    server = RawServer(events)
    try:
        project = make_project({"s.yaml": "cases:\n  - id: endless-stream\n    turns: [{user: hi}]\n" + STILL_RUNS},
                               openai_toml(server.url, stream="true", max_reply_bytes="50000"))
        result = project.runpytest("--llmops", "--llmops-target", "api")
    finally:
        server.close()
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*got bad_response: reply larger than 50000 bytes*"])


BIG_BOT = """
def huge(messages):
    return "a" * 6_000_000

def roomy(messages):
    return "é" * 1500  # 3000 bytes of UTF-8
"""


def test_a_python_target_returning_a_huge_text_fails_the_turn(make_project):
    toml = ('[tool.llmops.targets.big]\ntype = "python"\ncallable = "bigbot:huge"\n'
            '[tool.llmops.targets.tight]\ntype = "python"\ncallable = "bigbot:roomy"\nmax_reply_bytes = 2999\n')
    cases = ("cases:\n  - id: six-mb\n    turns: [{user: hi}]\n"
             "  - id: bytes-not-chars\n    target: tight\n    turns: [{user: hi}]\n" + STILL_RUNS)
    project = make_project({"py.yaml": cases}, toml)
    (project.path / "bigbot.py").write_text(BIG_BOT)
    result = project.runpytest("--llmops", "--llmops-target", "big")
    result.assert_outcomes(failed=2, passed=1)
    result.stdout.fnmatch_lines(["*py.yaml::six-mb*", "*got bad_response: reply larger than 5000000 bytes*"])
    result.stdout.fnmatch_lines(["*py.yaml::bytes-not-chars*", "*got bad_response: reply larger than 2999 bytes*"])


def test_a_redirect_is_reported_as_a_redirect_not_as_an_empty_body(make_project):
    def redirect(conn: socket.socket, server: RawServer) -> None:
        conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: https://user:pw@login.example/sso?token=abc123&next=%2F\r\n"
                     b"Content-Length: 0\r\nConnection: close\r\n\r\n")

    def relative(conn: socket.socket, server: RawServer) -> None:
        conn.sendall(b"HTTP/1.1 301 Moved Permanently\r\nLocation: /v2/chat\r\nContent-Length: 0\r\n"
                     b"Connection: close\r\n\r\n")

    away, moved = RawServer(redirect), RawServer(relative)
    try:
        toml = http_toml(f"{away.url}/chat") + http_toml(f"{moved.url}/chat").replace("targets.api", "targets.moved")
        cases = ("cases:\n  - id: to-login\n    turns: [{user: hi}]\n"
                 "  - id: moved\n    target: moved\n    turns: [{user: hi}]\n")
        project = make_project({"r.yaml": cases}, toml)
        project.makeconftest(RECORDER_CONFTEST)
        result = project.runpytest("--llmops", "--llmops-target", "api")
    finally:
        away.close()
        moved.close()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*got http_status: HTTP 302 to https://login.example/sso?token=***&next=***, "
                                 "not followed*"])
    result.stdout.fnmatch_lines([f"*got http_status: HTTP 301 to {moved.url}/v2/chat, not followed*"])
    assert "abc123" not in result.stdout.str() and "pw@" not in result.stdout.str()
    assert "empty response body" not in result.stdout.str()
    assert read_records(project.path)["to-login"]["turns"][0]["status"] == 302
    assert len(away.requests) == 1  # not followed, not retried


def test_an_encoding_that_was_not_asked_for_is_a_bad_response(make_project):
    def brotli(conn: socket.socket, server: RawServer) -> None:
        stream_response(conn, [b"\x8b\x03\x80{}\x03"], {"Content-Encoding": "br"}, length=6)

    server = RawServer(brotli)
    try:
        project = make_project({"b.yaml": "cases:\n  - id: br\n    turns: [{user: hi}]\n"},
                               http_toml(f"{server.url}/chat"))
        result = project.runpytest("--llmops", "--llmops-target", "api")
    finally:
        server.close()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*got bad_response: reply uses content-encoding 'br', which was not asked for "
                                 "(Accept-Encoding: gzip, deflate)*"])
    assert b"accept-encoding: gzip, deflate\r\n" in server.requests[0].lower()


@pytest.mark.parametrize("toml", ["max_reply_bytes = 0\n",
                                  http_toml("http://127.0.0.1:9/chat", max_reply_bytes="-3")])
def test_a_bad_limit_is_a_config_error(make_project, toml):
    project = make_project({"c.yaml": "cases:\n  - id: c\n    turns: [{user: hi}]\n"}, toml)
    result = project.runpytest("--llmops", "--llmops-target", "api" if "targets" in toml else "stub")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*max_reply_bytes: Input should be greater than or equal to 1*"])


# -- the reader itself -------------------------------------------------------------------------------


def read_all(reader: BodyReader, raw: bytes, chunk: int = 65536) -> bytes:
    out = []
    for start in range(0, len(raw), chunk):
        out.extend(reader.feed(raw[start:start + chunk]))
    out.extend(reader.finish())
    return b"".join(out)


@pytest.mark.parametrize("encoding, pack", [
    ("", lambda data: data),
    ("identity", lambda data: data),
    ("gzip", gzip),
    ("deflate", zlib.compress),  # zlib-wrapped, as the standard says
    ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),  # raw, as servers send it
    ("gzip, gzip", lambda data: gzip(gzip(data))),
    ("deflate, gzip", lambda data: gzip(zlib.compress(data))),
])
def test_the_reader_unpacks_what_it_asks_for(encoding, pack):
    data = json.dumps({"reply": "Thirty days. " * 20_000}).encode()
    assert read_all(BodyReader(encoding, 10 * MIB), pack(data), chunk=1000) == data


def test_the_reader_never_unpacks_more_than_a_piece_at_once():
    reader = BodyReader("gzip, gzip", 64 * MIB)
    pieces = reader.feed(gzip(gzip_bomb(16 * MIB)))
    sizes = [len(next(pieces)) for _ in range(100)]
    assert max(sizes) <= PIECE_BYTES


def test_the_reader_counts_unpacked_and_wire_bytes():
    with pytest.raises(TargetResponseError, match="reply larger than 1048576 bytes"):
        read_all(BodyReader("gzip", MIB), gzip_bomb(2 * MIB))
    with pytest.raises(TargetResponseError, match="reply larger than 100 bytes"):
        list(BodyReader("", 100).feed(b"x" * 101))
    with pytest.raises(TargetResponseError, match="reply larger than 100 bytes"):
        BodyReader("", 100).check_length("101")
    BodyReader("", 100).check_length("100")


def test_a_corrupt_compressed_body_is_a_bad_response():
    with pytest.raises(TargetResponseError, match="reply body is not valid gzip data"):
        read_all(BodyReader("gzip", MIB), b"\x1f\x8b this is not gzip at all")


# -- stored outputs keep a bounded excerpt ----------------------------------------------------------

LONG_BOT = """
def long(messages):
    # an email address straddles the cut: masked first, so no half of it survives the cut
    return "a" * 199_990 + " jane.doe@example.com " + "b" * 300_000 + "THE-END"
"""


def test_stored_outputs_keep_a_bounded_excerpt_of_a_very_long_reply(make_project):
    project = make_project({"long.yaml": "cases:\n  - id: long\n    turns: [{user: hi, expect: {contains: [nope]}}]\n"},
                           '[tool.llmops.targets.long]\ntype = "python"\ncallable = "longbot:long"\n')
    (project.path / "longbot.py").write_text(LONG_BOT)
    result = project.runpytest("--llmops", "--llmops-target", "long", "--llmops-results=results.json",
                               "--html=report.html", "--llmops-record=tapes")
    result.assert_outcomes(failed=1)
    reply = json.loads((project.path / "results.json").read_text())["cases"][0]["turns"][0]["reply"]
    note = "... [300006 more characters]"  # counted after masking
    assert reply.endswith(note) and len(reply) == 200_000 + len(note)
    assert "[EMAIL]" in reply and "jane" not in reply and "THE-END" not in reply
    html = (project.path / "report.html").read_text()
    assert note in html and "THE-END" not in html and "jane.doe" not in html
    assert (project.path / "report.html").stat().st_size < 1_000_000
    tape = next((project.path / "tapes").rglob("*.yaml")).read_text()
    assert note in tape and "THE-END" not in tape and "jane.doe" not in tape
    assert len(tape) < 250_000


def test_the_monitor_log_keeps_a_bounded_excerpt(tmp_path):
    from monitor_support import cli, interaction, make_project as monitor_project, read_log, write_jsonl

    project = monitor_project(tmp_path)
    write_jsonl(project / "in.jsonl", [interaction(1, reply="Thirty days. " + "x" * 300_000)])
    done = cli(project, "monitor", "-q", "in.jsonl")
    assert done.returncode == 0, done.stderr
    [entry] = read_log(project / "chatbot_monitoring.log")
    assert entry["reply"].endswith("... [100013 more characters]") and len(entry["reply"]) < 200_100

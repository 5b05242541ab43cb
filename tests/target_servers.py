"""Real servers on 127.0.0.1 for the target tests: the stub server, and a raw socket server for odd cases."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

# The targets import httpx and httpcore on first use. pytester's in-process runs forget
# modules first imported inside them, and httpx caches httpcore's exception classes, so
# both are imported here, once, for the whole test process.
import httpcore  # noqa: F401
import httpx  # noqa: F401

# A conftest for pytester projects: every case record (report.llmops) goes to records.jsonl,
# so tests can read timings and turns exactly as reports will.
RECORDER_CONFTEST = """
import json, pathlib
from pytest_llmops.results import case_to_dict

def pytest_runtest_logreport(report):
    record = getattr(report, "llmops", None)
    if record is not None and report.when == "call":
        with pathlib.Path(__file__).with_name("records.jsonl").open("a") as out:
            out.write(json.dumps(case_to_dict(record)) + "\\n")
"""


def read_records(folder: Path) -> dict[str, dict[str, Any]]:
    """The records written by RECORDER_CONFTEST, by case id."""
    path = folder / "records.jsonl"
    if not path.exists():
        return {}
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {record["case_id"]: record for record in records}


class RawServer:
    """A TCP server on 127.0.0.1 whose handler gets the raw socket: for responses no real server sends."""

    def __init__(self, handler: Callable[[socket.socket, "RawServer"], None], accept: bool = True):
        self.handler = handler
        self.stop = threading.Event()
        self.connections = 0
        self.requests: list[bytes] = []
        self._handling = threading.local()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.accept = accept
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            if not self.accept:  # connections pile up in the backlog, never answered
                self.stop.wait(0.1)
                continue
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    @property
    def request(self) -> bytes:
        """The request the calling handler is answering (each connection is handled on its own thread)."""
        return self._handling.request

    def _handle(self, conn: socket.socket) -> None:
        try:
            self._handling.request = read_request(conn)
            self.requests.append(self._handling.request)
            self.handler(conn, self)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


def read_request(conn: socket.socket) -> bytes:
    """Read one HTTP request (headers and a Content-Length body) from ``conn``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def json_body(request: bytes) -> Any:
    """The JSON body of a raw request read by :func:`read_request`."""
    return json.loads(request.partition(b"\r\n\r\n")[2] or b"null")


def respond(conn: socket.socket, status: int, body: bytes, content_type: str = "application/json",
            headers: dict[str, str] | None = None) -> None:
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    conn.sendall(f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                 f"{extra}Connection: close\r\n\r\n".encode() + body)


# -- hostile replies: huge bodies and compression bombs, streamed without ever being held whole ----------

MIB = 1 << 20
GIB = 1 << 30


def json_reply_pieces(size: int, piece: int = MIB) -> Iterator[bytes]:
    """``{"reply": "aaa...a"}`` with ``size`` letters, in pieces of ``piece`` bytes: a valid, huge JSON reply."""
    yield b'{"reply": "'
    letters = b"a" * piece
    for start in range(0, size, piece):
        yield letters[: min(piece, size - start)]
    yield b'"}'


def gzip_bomb(size: int) -> bytes:
    """A JSON reply of ``size`` letters (a multiple of 1 MiB), gzipped: about 1 KB on the wire per MiB unpacked.

    Built in a fraction of a second: after a full flush, deflate starts afresh, so each
    MiB of letters compresses to the same bytes and is simply repeated.
    """
    if size % MIB:
        raise ValueError("size must be a multiple of 1 MiB")
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head, letters, tail = b'{"reply": "', b"a" * MIB, b'"}'
    first = deflate.compress(head) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(letters) + deflate.flush(zlib.Z_FULL_FLUSH)
    last = deflate.compress(tail) + deflate.flush(zlib.Z_FINISH)
    crc = zlib.crc32(head)
    for _ in range(size // MIB):
        crc = zlib.crc32(letters, crc)
    crc = zlib.crc32(tail, crc)
    total = len(head) + size + len(tail)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # gzip magic, deflate, no flags, no mtime
    trailer = struct.pack("<II", crc & 0xFFFFFFFF, total & 0xFFFFFFFF)
    return header + first + block * (size // MIB) + last + trailer


def gzip(data: bytes) -> bytes:
    """``data`` gzipped once more (a bomb inside a bomb: ``Content-Encoding: gzip, gzip``)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return packer.compress(data) + packer.flush()


def stream_response(conn: socket.socket, pieces: Iterable[bytes], headers: dict[str, str] | None = None,
                    length: int | None = None, status: str = "200 OK") -> None:
    """Send a response whose body is ``pieces``: with Content-Length ``length``, else chunked.

    Stops quietly when the client hangs up (as a client refusing a huge reply should).
    """
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/json", "Connection: close",
             *(f"{name}: {value}" for name, value in (headers or {}).items())]
    lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    try:
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        for piece in pieces:
            if not piece:
                continue
            conn.sendall(piece if length is not None else b"%x\r\n%s\r\n" % (len(piece), piece))
        if length is None:
            conn.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the client closed the connection: it refused the rest


def huge_reply_server(mode: str, size: int = GIB) -> RawServer:
    """A loopback server answering every request with a hostile reply of ``size`` unpacked bytes.

    ``mode``: ``chunked`` (a JSON reply streamed with no length), ``length`` (the same with
    its Content-Length), ``gzip`` (a gzip bomb), ``gzip-gzip`` (a bomb gzipped twice).
    """
    if mode in ("gzip", "gzip-gzip"):
        body = gzip_bomb(size)
        encoding = "gzip"
        if mode == "gzip-gzip":
            body, encoding = gzip(body), "gzip, gzip"

        def handler(conn: socket.socket, server: RawServer) -> None:
            pieces = (body[start:start + 65536] for start in range(0, len(body), 65536))
            stream_response(conn, pieces, {"Content-Encoding": encoding}, length=len(body))
    elif mode in ("chunked", "length"):
        total = size + len(b'{"reply": ""}')

        def handler(conn: socket.socket, server: RawServer) -> None:
            stream_response(conn, json_reply_pieces(size), length=total if mode == "length" else None)
    else:
        raise ValueError(f"unknown mode {mode!r}")
    return RawServer(handler)


@dataclass
class Measured:
    """A finished child process: its exit code, output, wall time and peak resident memory."""

    returncode: int
    stdout: str
    wall_s: float
    peak_rss_mb: float


# Runs a module as ``python -m`` would and writes the process's own peak RSS (VmHWM) on the way out.
# Not rusage: on Linux a child's ru_maxrss starts at its parent's RSS when it was forked, so a big
# test process would be counted in every child it starts.
_PEAK_LAUNCHER = """
import os, runpy, sys
def peak_kib():
    with open("/proc/self/status") as status:
        return next(line.split()[1] for line in status if line.startswith("VmHWM:"))
try:
    sys.argv = sys.argv[1:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
finally:
    with open(os.environ["LLMOPS_PEAK_RSS_FILE"], "w") as out:
        out.write(peak_kib())
"""


def run_measured(module: str, args: list[str], cwd: Path, timeout: float = 600) -> Measured:
    """``python -m MODULE ARGS`` in ``cwd``: exit code, output, wall time and that process's own peak RSS."""
    with tempfile.TemporaryDirectory() as scratch:
        peak_file = Path(scratch) / "peak"
        output_file = Path(scratch) / "output"
        started = time.perf_counter()
        with open(output_file, "wb") as output:
            process = subprocess.Popen([sys.executable, "-c", _PEAK_LAUNCHER, module, *args], cwd=cwd,
                                       stdout=output, stderr=subprocess.STDOUT,
                                       env={**os.environ, "LLMOPS_PEAK_RSS_FILE": str(peak_file)})
            try:
                process.wait(timeout)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        wall = time.perf_counter() - started
        peak = int(peak_file.read_text()) / 1024 if peak_file.exists() else float("nan")
        text = output_file.read_text(encoding="utf-8", errors="replace")
    return Measured(process.returncode, text, wall, peak)

"""Real servers on 127.0.0.1 for the target tests: the stub server, and a raw socket server for odd cases."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any, Callable

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

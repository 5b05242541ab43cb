"""Helpers for the monitor tests: a project folder, the CLI as a subprocess, a loopback webhook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

LEAKED_EMAIL = "jane.doe@example.com"
LEAKED_PHONE = "(415) 555-0142"


def make_project(root: Path, toml: str = "") -> Path:
    """A project folder with a pyproject.toml holding ``[tool.llmops]`` plus ``toml``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("[tool.llmops]\n" + toml)
    return root


def interaction(n: int = 1, **fields: Any) -> dict[str, Any]:
    """A clean interaction record; ``fields`` override or add."""
    record = {
        "timestamp": f"2026-11-25T10:00:{n % 60:02d}Z",
        "conversation_id": f"c-{n}",
        "user_id": f"u-{n % 7}",
        "user": "How long do I have to return an item?",
        "reply": "You can return any item within 30 days of delivery.",
        "latency_ms": 120.0 + n,
    }
    record.update(fields)
    return record


def write_jsonl(path: Path, records: list[dict[str, Any] | bytes]) -> Path:
    with open(path, "wb") as handle:
        for record in records:
            handle.write(record if isinstance(record, bytes) else json.dumps(record).encode() + b"\n")
    return path


def read_log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def cli(cwd: Path, *args: str, input: bytes | None = None, timeout: float = 60,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``llmops ARGS`` run for real in ``cwd``."""
    return subprocess.run([sys.executable, "-m", "pytest_llmops.cli", *args], cwd=cwd, input=input,
                          capture_output=True, timeout=timeout, env={**os.environ, **(env or {})})


def spawn(cwd: Path, *args: str) -> subprocess.Popen:
    """``llmops ARGS`` started in the background (for --follow); stderr goes to ``cwd/stderr.txt``."""
    with open(cwd / "stderr.txt", "wb") as stderr:
        return subprocess.Popen([sys.executable, "-m", "pytest_llmops.cli", *args], cwd=cwd,
                                stdout=subprocess.PIPE, stderr=stderr)


def stderr_so_far(cwd: Path) -> str:
    return (cwd / "stderr.txt").read_text(errors="replace")


def read_offset(pid: int, path: Path) -> int | None:
    """Where process ``pid`` is reading ``path`` (its open file's offset, from Linux's /proc); None if not open.

    Lets a test wait until a follower has really read up to a point, instead of sleeping and hoping.
    """
    target = os.path.realpath(path)
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return None
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != target:
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as info:
                return int(next(line for line in info if line.startswith("pos:")).split()[1])
        except (FileNotFoundError, StopIteration):
            continue
    return None


class Webhook:
    """A real HTTP server on 127.0.0.1 that records JSON POSTs; fails the first ``fail_first`` with 500."""

    def __init__(self, fail_first: int = 0, status: int = 500):
        self.bodies: list[dict[str, Any]] = []
        self.attempts = 0
        self.fail_first = fail_first
        self.status = status
        self.received = threading.Event()
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                webhook.attempts += 1
                if webhook.attempts <= webhook.fail_first:
                    self.send_response(webhook.status)
                    self.end_headers()
                    return
                webhook.bodies.append(json.loads(body))
                webhook.received.set()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks/secret-token-123"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

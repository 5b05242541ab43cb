"""The stub bot over real HTTP on 127.0.0.1: an OpenAI-compatible API and a plain JSON one.

``llmops serve-stub`` runs it; the tests use it to drive
the ``openai`` and ``http`` targets over real sockets. Besides the stub's own
misbehaviour (:class:`~pytest_llmops.targets.stub.StubBehaviour`: latency, error
replies, PII leaks) it can fail the way real servers do (:class:`ServerFaults`):
HTTP error statuses, flaky 503s that succeed on retry, non-JSON bodies, empty
replies, connections closed without an answer, and responses that never finish.

Endpoints:

* ``POST /v1/chat/completions`` (also ``/chat/completions``): OpenAI chat completions,
  with ``"stream": true`` as server-sent events, ``tools`` (the stub calls them), and
  ``usage`` in every answer. Asked a judge question, it answers a verdict.
* ``POST /v1/embeddings`` (also ``/embeddings``): the stub's hashed-trigram vectors.
* ``POST /chat``: ``{"message": ..., "history": [...], "session_id": ...}`` ->
  ``{"reply": ..., "session_id": ...}`` (also in the ``X-Session-Id`` header). Without
  ``history`` the server remembers the conversation under its session id.
* ``GET /v1/models`` (the one model it serves) and ``GET /health``.
"""

from __future__ import annotations

import json
import os
import re
import select
import socket
import threading
import time
import uuid
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..errors import TargetError
from ..transcript import Conversation, Reply
from .base import Message
from .stub import StubBehaviour, StubTarget, usage_of

#: raw request bodies kept for tests to inspect (what exactly was sent), newest last
BODIES_KEPT = 1000

HOST = "127.0.0.1"
HANG_LIMIT_S = 600.0
HANG_POLL_S = 0.05  # how often a hanging response looks whether its client went away
SESSION_HEADER = "X-Session-Id"


class ServerFaults(BaseModel):
    """HTTP-level misbehaviour. Regexes are matched against the last user message, case-insensitively."""

    model_config = ConfigDict(extra="forbid")

    http_error_on: str | None = Field(default=None, description="answer these with http_error_status")
    http_error_status: int = Field(default=500, ge=400, le=599)
    flaky_on: str | None = Field(default=None, description="fail these flaky_times times, then answer")
    flaky_times: int = Field(default=1, ge=1)
    flaky_status: int = Field(default=503, ge=400, le=599)
    malformed_on: str | None = Field(default=None, description="answer these with a body that is not JSON")
    empty_on: str | None = Field(default=None, description="answer these with an empty reply text")
    close_on: str | None = Field(default=None, description="close the connection without answering")
    hang_on: str | None = Field(default=None, description="start the response, then never finish it (until the "
                                "client goes away or the server stops)")
    token_ms: float = Field(default=0, ge=0, description="pause between streamed chunks")
    api_key_env: str | None = Field(default=None, description="require 'Bearer <key>' with the key in this env var")

    def hits(self, pattern: str | None, message: str) -> bool:
        return pattern is not None and re.search(pattern, message, re.I) is not None


class StubServer:
    """The stub bot behind a threaded HTTP server on 127.0.0.1 (port 0 picks a free port)."""

    def __init__(self, behaviour: StubBehaviour | None = None, faults: ServerFaults | None = None,
                 port: int = 0, model: str = "llmops-stub"):
        self.bot = StubTarget("serve-stub", behaviour or StubBehaviour())
        self.faults = faults or ServerFaults()
        self.model = model
        self.api_key = self.api_key_from_env(self.faults.api_key_env) if self.faults.api_key_env else None
        self.stopping = threading.Event()
        self.sessions: dict[str, list[Message]] = {}
        self.flaky_seen: Counter[str] = Counter()
        self.requests = 0
        self.received: list[str] = []
        self.bodies: deque[bytes] = deque(maxlen=BODIES_KEPT)
        self.embedded: list[str] = []  # every text asked to embed
        self.in_flight = 0
        self.peak_in_flight = 0  # most requests handled at once: shows how concurrent a client was
        self.lock = threading.Lock()
        self.httpd = _Server((HOST, port), _Handler)
        self.httpd.stub = self
        self._thread: threading.Thread | None = None

    @staticmethod
    def api_key_from_env(name: str) -> str:
        return os.environ.get(name, "")

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> "StubServer":
        """Serve on a daemon thread; returns self."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="llmops-serve-stub", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "StubServer":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def count(self, message: str) -> None:
        """Note one request and its last user message (tests check what was sent, and how often)."""
        with self.lock:
            self.requests += 1
            self.received.append(message)

    def should_flake(self, message: str) -> bool:
        if not self.faults.hits(self.faults.flaky_on, message):
            return False
        with self.lock:
            self.flaky_seen[message] += 1
            return self.flaky_seen[message] <= self.faults.flaky_times


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    stub: StubServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Quiet: a benchmark sends thousands of requests."""

    # -- plumbing ---------------------------------------------------------------------
    @property
    def stub(self) -> StubServer:
        return self.server.stub

    def _send(self, status: int, body: bytes, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        head = [f"{self.protocol_version} {status} {self.responses.get(status, ('',))[0]}",
                f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
        head += [f"{key}: {value}" for key, value in (headers or {}).items()]
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        self.wfile.flush()

    def _json(self, status: int, document: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(document).encode(), headers=headers)

    def _error(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        self._json(status, {"error": {"message": message, "type": kind, "code": status}})

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        self.stub.bodies.append(raw)
        return json.loads(raw or b"null")

    def _hang(self, started_body: bytes) -> None:
        """Send headers and the start of a body that promises more, then wait for the client to leave.

        Like a real server, it notices a client that closed its connection: the request then
        stops counting as in flight (tests check that an interrupted client really let go).
        """
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                         + started_body)
        self.wfile.flush()
        deadline = time.monotonic() + HANG_LIMIT_S
        while not self.stub.stopping.wait(HANG_POLL_S) and time.monotonic() < deadline:
            if self._client_gone():
                break
        self.close_connection = True  # the response stays unfinished

    def _client_gone(self) -> bool:
        """True once the client closed its end (the socket reads as ended, or fails)."""
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _authorised(self) -> bool:
        if self.stub.api_key is None:
            return True
        if self.headers.get("Authorization", "") == f"Bearer {self.stub.api_key}":
            return True
        self._error(401, "Incorrect API key provided.", "authentication_error")
        return False

    def _faulted(self, message: str) -> bool:
        """Apply the HTTP-level faults for ``message``; True if the response was already sent."""
        faults = self.stub.faults
        if faults.hits(faults.close_on, message):
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        if faults.hits(faults.hang_on, message):
            self._hang(b'{"partial": "')
            return True
        if faults.hits(faults.http_error_on, message):
            self._error(faults.http_error_status, "The stub server failed on purpose (http_error_on).", "server_error")
            return True
        if self.stub.should_flake(message):
            self._send(faults.flaky_status, b'{"error": {"message": "try again"}}', headers={"Retry-After": "0"})
            return True
        if faults.hits(faults.malformed_on, message):
            self._send(200, b"<html><body>502 Bad Gateway (not JSON)</body></html>", content_type="text/html")
            return True
        return False

    def _reply(self, messages: list[Message], tools: list[dict[str, Any]] | None = None) -> tuple[int, Reply]:
        """(HTTP status, reply) from the stub bot; a raised TargetError is an HTTP 500 (its text the reply)."""
        message = _last_user(messages)
        try:
            reply = self.stub.bot.send(messages, Conversation(tools=tools or []))
        except TargetError as exc:
            return 500, Reply(str(exc))
        if self.stub.faults.hits(self.stub.faults.empty_on, message):
            reply.text = ""
        return 200, reply

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # -- endpoints --------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self.path.split("?")[0]
        if path == "/health":
            self._json(200, {"status": "ok", "requests": self.stub.requests})
        elif path in ("/v1/models", "/models"):  # what OpenAI clients list before choosing a model
            self._json(200, {"object": "list", "data": [{"id": self.stub.model, "object": "model",
                                                         "created": 0, "owned_by": "pytest-llmops"}]})
        else:
            self._error(404, f"no such endpoint: GET {self.path}")

    def do_POST(self) -> None:  # noqa: N802
        with self.stub.lock:
            self.stub.in_flight += 1
            self.stub.peak_in_flight = max(self.stub.peak_in_flight, self.stub.in_flight)
        try:
            self._post()
        finally:
            with self.stub.lock:
                self.stub.in_flight -= 1

    def _post(self) -> None:
        path = self.path.split("?")[0]
        try:
            body = self._read_json()
        except ValueError:
            self._error(400, "request body is not JSON")
            return
        if path in ("/v1/chat/completions", "/chat/completions"):
            self._chat_completions(body)
        elif path in ("/v1/embeddings", "/embeddings"):
            self._embeddings(body)
        elif path == "/chat":
            self._plain_chat(body)
        else:
            self._error(404, f"no such endpoint: POST {self.path}")

    def _chat_completions(self, body: Any) -> None:
        if not self._authorised():
            return
        problem = _completion_request_problem(body)
        if problem:
            self._error(400, problem)
            return
        messages = body["messages"]
        self.stub.count(_last_user(messages))
        if self._faulted(_last_user(messages)):
            return
        status, reply = self._reply(messages, body.get("tools"))
        if status != 200:
            self._error(status, reply.text, "server_error")
            return
        if body.get("stream"):
            options = body.get("stream_options")
            wants_usage = isinstance(options, dict) and options.get("include_usage") is True
            self._stream(reply.text, reply, self._usage(messages, reply.text) if wants_usage else None)
            return
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        message: dict[str, Any] = {"role": "assistant", "content": (reply.text or None) if reply.tool_calls else reply.text}
        if reply.tool_calls:
            message["tool_calls"] = [call.to_message() for call in reply.tool_calls]
        self._json(200, {
            "id": completion_id, "object": "chat.completion", "created": int(time.time()), "model": self.stub.model,
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": "tool_calls" if reply.tool_calls else "stop"}],
            "usage": self._usage(messages, reply.text),
        })

    def _usage(self, messages: list[Message], text: str) -> dict[str, int]:
        usage = usage_of(messages, text, self.stub.model)
        return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens}

    def _embeddings(self, body: Any) -> None:
        if not self._authorised():
            return
        texts = body.get("input") if isinstance(body, dict) else None
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(body.get("model") if isinstance(body, dict) else None, str) or not isinstance(texts, list) \
                or not texts or not all(isinstance(text, str) for text in texts):
            self._error(400, "expected {\"model\": ..., \"input\": a string or a non-empty list of strings}")
            return
        with self.stub.lock:
            self.stub.requests += 1
            self.stub.embedded.extend(texts)
        answer = self.stub.bot.embed(texts, Conversation())
        self._json(200, {"object": "list", "model": self.stub.model,
                         "data": [{"object": "embedding", "index": index, "embedding": vector}
                                  for index, vector in enumerate(answer.vectors)],
                         "usage": {"prompt_tokens": answer.usage.prompt_tokens if answer.usage else 0,
                                   "total_tokens": answer.usage.prompt_tokens if answer.usage else 0}})

    def _stream(self, text: str, reply: Reply | None = None, usage: dict[str, int] | None = None) -> None:
        """The reply as chat.completion.chunk events, one word a chunk, ending with [DONE]."""
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())

        def event(delta: dict[str, Any], finish: str | None = None) -> bytes:
            chunk = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                     "model": self.stub.model,
                     "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            return f"data: {json.dumps(chunk)}\n\n".encode()

        words = re.findall(r"\S+\s*", text) or ([text] if text else [])
        self._chunk(event({"role": "assistant", "content": ""}))
        for index, word in enumerate(words):
            if index and self.stub.faults.token_ms:
                time.sleep(self.stub.faults.token_ms / 1000)
            self._chunk(event({"content": word}))
        calls = reply.tool_calls if reply is not None else None
        for index, call in enumerate(calls or []):  # a call's name first, then its arguments in a second piece
            self._chunk(event({"tool_calls": [{"index": index, "id": call.id, "type": "function",
                                               "function": {"name": call.name, "arguments": ""}}]}))
            self._chunk(event({"tool_calls": [{"index": index, "function": {"arguments": call.arguments}}]}))
        self._chunk(event({}, "tool_calls" if calls else "stop"))
        if usage is not None:  # what OpenAI sends for stream_options.include_usage: a last chunk without choices
            chunk = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                     "model": self.stub.model, "choices": [], "usage": usage}
            self._chunk(f"data: {json.dumps(chunk)}\n\n".encode())
        self._chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _plain_chat(self, body: Any) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("message"), str) or not body["message"]:
            self._error(400, "expected a JSON object with a non-empty 'message'")
            return
        self.stub.count(body["message"])
        session_id = str(body.get("session_id") or self.headers.get(SESSION_HEADER) or uuid.uuid4().hex)
        history = body.get("history")
        if history is None:
            with self.stub.lock:
                history = list(self.stub.sessions.get(session_id, []))
        messages: list[Message] = [*history, {"role": "user", "content": body["message"]}]
        if isinstance(body.get("system"), str):
            messages.insert(0, {"role": "system", "content": body["system"]})
        if self._faulted(body["message"]):
            return
        status, reply = self._reply(messages)
        text = reply.text
        if status != 200:
            self._json(status, {"error": text}, headers={SESSION_HEADER: session_id})
            return
        with self.stub.lock:
            self.stub.sessions[session_id] = [m for m in messages if m["role"] != "system"] + [
                {"role": "assistant", "content": text}]
        self._json(200, {"reply": text, "session_id": session_id}, headers={SESSION_HEADER: session_id})


def _last_user(messages: list[Message]) -> str:
    return next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")


def _completion_request_problem(body: Any) -> str | None:
    """What is wrong with a chat completions request, as a real server would say; None if fine."""
    if not isinstance(body, dict):
        return "the request body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array"
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("system", "developer", "user", "assistant",
                                                                         "tool"):
            return f"messages[{index}]: invalid role"
        calls_tools = message.get("role") == "assistant" and isinstance(message.get("tool_calls"), list)
        if not isinstance(message.get("content"), str) and not (calls_tools and message.get("content") is None):
            return f"messages[{index}].content must be a string"
        if message.get("role") == "tool" and not isinstance(message.get("tool_call_id"), str):
            return f"messages[{index}]: a tool message needs its tool_call_id"
    tools = body.get("tools")
    if tools is not None and (not isinstance(tools, list) or not all(
            isinstance(tool, dict) and tool.get("type") == "function" and isinstance(tool.get("function"), dict)
            and isinstance(tool["function"].get("name"), str) for tool in tools)):
        return "'tools' must be a list of {type: function, function: {name, ...}}"
    if "stream" in body and not isinstance(body["stream"], bool):
        return "'stream' must be a boolean"
    return None

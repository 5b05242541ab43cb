"""What the HTTP targets (openai, http) share: httpx clients, deadlines, retries, fault mapping.

Every way a request can go wrong ends as a :class:`~pytest_llmops.errors.TargetError`
subclass with a one-line reason, never as a traceback, and always within the
configured timeout: the timeout is a deadline for the whole reply (a server that
trickles bytes forever is cut off too), not only for each read. A reply is also
limited in size (``max_reply_bytes``), counted on the wire and unpacked while it
streams (:mod:`.reply_body`), so a huge body or a compression bomb fails the turn
without filling memory. Redirects are not followed: a 3xx is reported as one. Secrets
(the API key, configured header values, URL credentials, anything shaped like a key) are
scrubbed from every message this module produces, before it is cut short.

Closing the client ends the requests still in flight at once: closing a socket does not
wake a thread blocked reading it, so :meth:`HttpClient.close` shuts down every socket
the client opened (an interrupted run must not keep a worker waiting on a hung server).

Each thread that sends gets its own httpx client (one kept-alive connection, one TLS
context shared by all): with one client shared by every thread, each request scanned the
whole connection pool under its lock, so 64 conversations in flight took twice the CPU
of 32 and finished later (benchmarks/replay.py).
"""

from __future__ import annotations

import json
import math
import os
import socket
import ssl
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import httpcore  # noqa: F401 - imported with httpx, not lazily: see below
import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..config import DEFAULT_MAX_REPLY_BYTES, Settings
from ..errors import (ConfigError, TargetConnectionError, TargetError, TargetHTTPError, TargetResponseError,
                      TargetTimeout)
from ..redaction import SHAPES, Scrubber, configured_secrets, public_url
from .base import Target
from .reply_body import ACCEPT_ENCODING, BodyReader

# httpx imports httpcore lazily and caches httpcore's exception classes on first use. A
# process that forgets and re-imports modules (pytester's in-process runs do) would then
# get httpcore exceptions that httpx no longer maps; importing httpcore up front avoids it.

BODY_EXCERPT_CHARS = 200
STOPPING = "request cancelled: the run is stopping (its HTTP client was closed)"
#: httpcore trace events whose return value is a connection's network stream
CONNECTION_OPENED = ("connection.connect_tcp.complete", "connection.start_tls.complete")
RETRY_AFTER_CAP_S = 30.0


def check_http_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL with a host; ValueError (a config error) otherwise.

    The message quotes the URL without its credentials (``user:password@``).
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ValueError(SHAPES.text(f"not a valid URL: {url!r} ({exc})")) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(SHAPES.text(f"not an http(s) URL with a host: {url!r}"))
    return url


class HttpOptions(BaseModel):
    """Connection settings every HTTP target accepts in ``[tool.llmops.targets.NAME]``."""

    model_config = ConfigDict(extra="forbid")

    timeout_s: float | None = Field(default=None, gt=0, description="deadline for a whole reply (default: timeout_s)")
    connect_timeout_s: float | None = Field(default=None, gt=0, description="deadline for connecting (default 10 s)")
    retries: int = Field(default=0, ge=0, le=10, description="extra attempts after a retryable status")
    retry_backoff_s: float = Field(default=0.5, ge=0, le=60, description="first wait; doubles each retry")
    retry_statuses: list[int] = Field(default_factory=lambda: [429, 503])
    headers: dict[str, str] = Field(default_factory=dict)
    api_key_env: str | None = Field(default=None, description="environment variable holding the API key")
    max_reply_bytes: int | None = Field(default=None, ge=1,
                                        description="largest reply accepted, on the wire and unpacked "
                                                    "(default: max_reply_bytes)")

    @field_validator("retry_statuses")
    @classmethod
    def _statuses(cls, statuses: list[int]) -> list[int]:
        for status in statuses:
            if not 400 <= status <= 599:
                raise ValueError(f"retry status {status} is not an HTTP error status (400-599)")
        return statuses


@dataclass
class HttpResult:
    """A complete HTTP response, read to the end within the deadline."""

    status: int
    headers: httpx.Headers
    body: bytes
    retries: int = 0

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class HttpClient:
    """Thread-safe HTTP (an httpx client per sending thread) plus the deadline, retry and fault-mapping rules."""

    timeout_s: float
    connect_timeout_s: float = 10.0
    retries: int = 0
    retry_backoff_s: float = 0.5
    retry_statuses: tuple[int, ...] = (429, 503)
    secrets: tuple[str, ...] = ()
    max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES
    scrubber: Scrubber = field(init=False)
    closed: threading.Event = field(init=False, default_factory=threading.Event)
    _sockets: "weakref.WeakSet[socket.socket]" = field(init=False, default_factory=weakref.WeakSet)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _clients: list[httpx.Client] = field(init=False, default_factory=list)
    _this_thread: threading.local = field(init=False, default_factory=threading.local)
    _tls: ssl.SSLContext | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.scrubber = Scrubber(self.secrets)

    @classmethod
    def from_options(cls, options: HttpOptions, default_timeout_s: float, secrets: tuple[str, ...] = (),
                     default_max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES) -> "HttpClient":
        return cls(timeout_s=options.timeout_s or default_timeout_s,
                   connect_timeout_s=options.connect_timeout_s or 10.0,
                   retries=options.retries, retry_backoff_s=options.retry_backoff_s,
                   retry_statuses=tuple(options.retry_statuses), secrets=tuple(s for s in secrets if s),
                   max_reply_bytes=options.max_reply_bytes or default_max_reply_bytes)

    def scrub(self, text: str) -> str:
        """``text`` with every secret replaced, so a key echoed by a server never leaks."""
        return self.scrubber.text(text)

    def close(self) -> None:
        """Close the client, ending any request still in flight (it fails as a connection error)."""
        with self._lock:
            self.closed.set()  # under the lock: no thread makes a client after this
            sockets, clients = list(self._sockets), list(self._clients)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked reading it; close() alone would not
            except OSError:  # already closed by its connection
                pass
        for client in clients:
            client.close()

    def _client(self) -> httpx.Client:
        """The calling thread's httpx client, made on its first request."""
        client: httpx.Client | None = getattr(self._this_thread, "client", None)
        if client is not None:
            return client
        with self._lock:
            if self.closed.is_set():
                raise TargetConnectionError(STOPPING)
            if self._tls is None:  # loading the CA certificates once, not once a thread
                self._tls = httpx.create_ssl_context(trust_env=False)
            # trust_env=False: proxies from the environment must never re-route a test run.
            # Accept-Encoding: only what reply_body can unpack with a bound (httpx would add br or zstd
            # when their packages happen to be installed).
            client = httpx.Client(
                timeout=httpx.Timeout(self.timeout_s, connect=min(self.connect_timeout_s, self.timeout_s)),
                limits=httpx.Limits(max_keepalive_connections=1), verify=self._tls,
                trust_env=False, headers={"Accept-Encoding": ACCEPT_ENCODING},
            )
            self._clients.append(client)
        self._this_thread.client = client
        return client

    def _note_connection(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's ``trace`` hook: remember the socket of every connection opened, for :meth:`close`.

        A TLS connection gets a new socket object when its handshake starts, so both are noted.
        """
        if event in CONNECTION_OPENED and info.get("return_value") is not None:
            sock = info["return_value"].get_extra_info("socket")
            if sock is not None:
                with self._lock:
                    self._sockets.add(sock)

    # -- one request, with retries ----------------------------------------------------
    def request(self, method: str, url: str, *, json: Any = None, params: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None,
                on_line: Callable[[str, float], None] | None = None) -> HttpResult:
        """Send a request and read the whole response within the deadline.

        Retries statuses in ``retry_statuses`` up to ``retries`` times with doubling
        backoff (or the server's Retry-After). Raises TargetHTTPError for a redirect
        (never followed) and for any status >= 400 that is left, TargetResponseError for
        a reply over ``max_reply_bytes``, and the other TargetError kinds for transport faults.
        ``on_line`` gets each line of the body as it arrives (for server-sent events)
        with the milliseconds since the request was sent.
        """
        attempt = 0
        while True:
            if self.closed.is_set():
                raise TargetConnectionError(STOPPING)
            result = self._attempt(method, url, json=json, params=params, headers=headers, on_line=on_line)
            result.retries = attempt
            if result.status in self.retry_statuses and attempt < self.retries:
                self.closed.wait(self._backoff(attempt, result.headers))  # a closing client stops waiting
                attempt += 1
                continue
            if 300 <= result.status < 400:
                raise self._redirect_error(result, url)
            if result.status >= 400:
                raise self._status_error(result)
            return result

    def _backoff(self, attempt: int, headers: httpx.Headers) -> float:
        try:
            retry_after = float(headers.get("retry-after", ""))
        except ValueError:  # absent, or an HTTP date: our own doubling backoff
            retry_after = math.nan
        if 0 <= retry_after < math.inf:
            return min(retry_after, RETRY_AFTER_CAP_S)
        return self.retry_backoff_s * (2 ** attempt)

    def _status_error(self, result: HttpResult) -> TargetHTTPError:
        phrase = httpx.codes.get_reason_phrase(result.status)
        body = body_excerpt(result.text(), self.scrub)
        retried = f" after {result.retries} retr{'y' if result.retries == 1 else 'ies'}" if result.retries else ""
        message = f"HTTP {result.status} {phrase}{retried}" + (f": {body}" if body else "")
        return TargetHTTPError(message, result.status, retries=result.retries)

    def _redirect_error(self, result: HttpResult, url: str) -> TargetHTTPError:
        """A 3xx as what it is: where it pointed (no credentials, query values hidden), not followed."""
        location = result.headers.get("location")
        if location:
            try:
                where = public_url(str(httpx.URL(url).join(location)))
            except (httpx.InvalidURL, ValueError):
                where = "[unparseable url]"
            message = f"HTTP {result.status} to {where}, not followed"
        else:
            phrase = httpx.codes.get_reason_phrase(result.status)
            message = f"HTTP {result.status} {phrase} without a Location, not followed"
        return TargetHTTPError(self.scrub(message), result.status, retries=result.retries)

    def _attempt(self, method: str, url: str, *, json: Any, params: dict[str, Any] | None,
                 headers: dict[str, str] | None, on_line: Callable[[str, float], None] | None) -> HttpResult:
        started = time.perf_counter()
        deadline = started + self.timeout_s
        try:
            with self._client().stream(method, url, json=json, params=params, headers=headers,
                                    extensions={"trace": self._note_connection}) as response:
                body = b"".join(self._read_until(response, deadline, started, on_line))
                return HttpResult(response.status_code, response.headers, body)
        except TargetError:
            raise
        except (httpx.HTTPError, RuntimeError) as exc:
            if self.closed.is_set():  # close() ended it (RuntimeError: httpx refuses a closed client)
                raise TargetConnectionError(STOPPING) from None
            if isinstance(exc, httpx.TimeoutException):
                raise TargetTimeout(self.scrub(self._timeout_message(exc, started))) from None
            if isinstance(exc, httpx.HTTPError):
                raise self._transport_error(exc, url) from None
            raise

    def _read_until(self, response: httpx.Response, deadline: float, started: float,
                    on_line: Callable[[str, float], None] | None) -> Iterator[bytes]:
        """The body's unpacked chunks; stops with TargetTimeout once the deadline passes and
        with TargetResponseError once the reply passes ``max_reply_bytes``."""
        timeouts = response.request.extensions.get("timeout")
        pending = b""
        chunks = self._bounded_chunks(response)
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TargetTimeout(f"no complete reply within {self.timeout_s:g} s (the response never finished)")
            if isinstance(timeouts, dict):
                timeouts["read"] = remaining  # httpcore reads this before every socket read
            try:
                chunk = next(chunks)
            except StopIteration:
                break
            except httpx.ReadTimeout:
                raise TargetTimeout(f"no complete reply within {self.timeout_s:g} s "
                                    "(the response never finished)") from None
            if on_line is not None:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    on_line(line.decode("utf-8", errors="replace").rstrip("\r"),
                            (time.perf_counter() - started) * 1000)
            yield chunk
        if on_line is not None and pending:
            on_line(pending.decode("utf-8", errors="replace").rstrip("\r"), (time.perf_counter() - started) * 1000)

    def _bounded_chunks(self, response: httpx.Response) -> Iterator[bytes]:
        """The body unpacked in bounded pieces, counted on the wire and unpacked (see :mod:`.reply_body`)."""
        reader = BodyReader(response.headers.get("content-encoding", ""), self.max_reply_bytes)
        reader.check_length(response.headers.get("content-length"))
        for raw in response.iter_raw():
            yield from reader.feed(raw)
        yield from reader.finish()

    def _timeout_message(self, exc: httpx.TimeoutException, started: float) -> str:
        waited = time.perf_counter() - started
        if isinstance(exc, httpx.ConnectTimeout):
            return f"connect timeout: no connection within {waited:.1f} s"
        if isinstance(exc, httpx.PoolTimeout):
            return f"timeout waiting for a free connection ({waited:.1f} s)"
        return f"read timeout: no reply within {self.timeout_s:g} s"

    def _transport_error(self, exc: httpx.HTTPError, url: str) -> TargetError:
        return transport_error(exc, url, self.scrub)


def transport_error(exc: httpx.HTTPError, url: str, scrub: Callable[[str], str] = lambda text: text) -> TargetError:
    """Map an httpx transport failure onto the TargetError hierarchy, with a one-line reason."""
    where = httpx.URL(url)
    address = f"{where.host}:{where.port or (443 if where.scheme == 'https' else 80)}"
    cause = " ".join(str(exc).split()) or exc.__class__.__name__
    if isinstance(exc, httpx.ConnectError):
        lowered = cause.lower()
        if "name or service not known" in lowered or "nodename nor servname" in lowered \
                or "temporary failure in name resolution" in lowered or "no address associated" in lowered:
            return TargetConnectionError(scrub(f"DNS failure: cannot resolve host {where.host!r} ({cause})"))
        if "refused" in lowered:
            return TargetConnectionError(scrub(f"connection refused by {address}"))
        return TargetConnectionError(scrub(f"cannot connect to {address}: {cause}"))
    if isinstance(exc, httpx.RemoteProtocolError):
        return TargetConnectionError(scrub(f"{address} closed the connection without a complete response ({cause})"))
    if isinstance(exc, (httpx.ReadError, httpx.WriteError, httpx.NetworkError)):
        return TargetConnectionError(scrub(f"connection to {address} failed: {cause}"))
    return TargetError(scrub(f"request to {address} failed: {exc.__class__.__name__}: {cause}"))


def body_excerpt(text: str, scrub: Callable[[str], str], limit: int = BODY_EXCERPT_CHARS) -> str:
    """The start of a response body on one line: scrubbed first, then cut, so a secret across the cut
    never shows in part."""
    return scrub(" ".join(text.split()))[:limit]


def parse_json_body(result: HttpResult, scrub: Callable[[str], str]) -> Any:
    """The response body as JSON, or TargetResponseError quoting the start of what came back."""
    text = result.text()
    if not text.strip():
        raise TargetResponseError("empty response body (expected JSON)")
    try:
        return json.loads(text)
    except ValueError:
        shown = body_excerpt(text, scrub)
        content_type = result.headers.get("content-type", "no content-type")
        raise TargetResponseError(scrub(f"response is not JSON ({content_type}): {shown!r}")) from None


MISSING = object()


def dig(document: Any, path: str) -> Any:
    """The value at a dotted ``path`` (``choices.0.message.content``); TargetResponseError naming what is missing."""
    value = document
    walked: list[str] = []
    for part in path.split("."):
        walked.append(part)
        if isinstance(value, list) and part.lstrip("-").isdigit():
            index = int(part)
            value = value[index] if -len(value) <= index < len(value) else MISSING
        elif isinstance(value, dict):
            value = value.get(part, MISSING)
        else:
            value = MISSING
        if value is MISSING:
            raise TargetResponseError(f"no {'.'.join(walked)!r} in the response JSON (reply path {path!r})")
    return value


def reply_text(value: Any, path: str) -> str:
    """The reply found at ``path`` as text; empty or non-text replies are faults."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise TargetResponseError(f"empty reply at {path!r}")
    if isinstance(value, (dict, list, bool)):
        raise TargetResponseError(f"reply at {path!r} is a {type(value).__name__}, not text")
    return str(value)


def read_api_key(target: str, env_name: str | None) -> str | None:
    """The key held in ``env_name``; ConfigError (naming the variable, never a value) when it is unset."""
    if env_name is None:
        return None
    key = os.environ.get(env_name, "")
    if not key:
        raise ConfigError(f"target {target!r}: environment variable {env_name} (api_key_env) is not set or empty")
    return key


class HttpTargetBase(Target):
    """A target speaking HTTP through one :class:`HttpClient`, with the API key (if any) in a header."""

    def __init__(self, name: str, options: HttpOptions, settings: Settings, key_header: str = "Authorization",
                 key_prefix: str = "Bearer "):
        super().__init__(name)
        api_key = read_api_key(name, options.api_key_env)
        secrets = (*((api_key,) if api_key else ()), *configured_secrets(settings.targets))
        self.client = HttpClient.from_options(options, settings.timeout_s, secrets=secrets,
                                              default_max_reply_bytes=settings.max_reply_bytes)
        self.headers = dict(options.headers)
        if api_key:
            self.headers[key_header] = f"{key_prefix}{api_key}"

    def request_headers(self) -> dict[str, str]:
        return self.headers

    def close(self) -> None:
        self.client.close()

"""The monitor's structured log: Python ``logging`` records that carry one JSON object each.

Every interaction becomes one ``logging.LogRecord`` on the ``pytest_llmops.monitor``
logger, so any handler an application already has receives it. The record's message
renders as the JSON line (lazily: only handlers that print it pay for it) and the dict
itself rides along as ``record.llmops`` for handlers that want fields, not text.

The log file is a JSON Lines store like every other: :class:`JsonLinesFileHandler`
appends batches through :mod:`pytest_llmops.jsonl` (under the store's lock, reopened
for each batch), so the privacy tools can rewrite the file at any time without a
monitor that is running losing lines or writing into a replaced file.
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from typing import IO, Any, Callable

from ..jsonl import append_records, dumps, fast_line
from ..text import terminal_safe_json, terminal_safe_lines
from .rotation import rotate_if_larger

LOGGER_NAME = "pytest_llmops.monitor"
#: diagnostics (bad lines, undeliverable alerts): never mixed into the interaction log file
DIAGNOSTICS_LOGGER_NAME = "pytest_llmops.monitor_diagnostics"


class JsonMessage:
    """A log message that becomes its record's JSON line only when a handler prints it."""

    __slots__ = ("data",)

    def __init__(self, data: dict[str, Any]):
        self.data = data

    def __str__(self) -> str:
        return dumps(self.data)


class JsonLinesFileHandler(logging.Handler):
    """Appends each record's JSON object to a JSON Lines file, in locked, fsynced batches.

    The caller only appends to a list: a background thread writes a batch when
    ``batch_size`` records wait or every ``flush_interval_s``, so a request never waits
    for the disk. Only when ``max_pending`` records pile up (the disk cannot keep up)
    does the caller write them itself, which slows it down rather than growing memory.
    Only records that carry ``llmops`` data are stored: the file holds interactions only.

    A batch that cannot be written (a full disk, a read-only folder) leaves no torn line
    (appends are all or nothing); it is reported and counted in ``lost``, with the reason
    in ``error``, so the caller can say so and fail, and the monitor goes on.
    """

    def __init__(self, path: Path | str, batch_size: int = 2000, flush_interval_s: float = 0.5,
                 max_bytes: int | None = None, backups: int = 5, max_pending: int = 10_000):
        super().__init__()
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self.batch_size = batch_size
        self.max_pending = max(max_pending, batch_size)
        self.flush_interval_s = flush_interval_s
        self._pending: list[dict[str, Any]] = []
        self._pending_lock = threading.Lock()  # guards _pending only: held for an append or a swap
        self._write_lock = threading.Lock()  # one writer at a time, so batches stay in order
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self.lost = 0  # records that could not be written
        self.error: str | None = None  # why the last failed write failed
        self._flusher = threading.Thread(target=self._flush_periodically, name="llmops-monitor-log", daemon=True)
        self._flusher.start()

    def handle(self, record: logging.LogRecord) -> Any:
        """As logging.Handler.handle, without holding the handler's lock around emit (emit has its own)."""
        result = self.filter(record)
        if result:
            self.emit(result if isinstance(result, logging.LogRecord) else record)
        return result

    def emit(self, record: logging.LogRecord) -> None:
        data = getattr(record, "llmops", None)
        if data is not None:
            self.store(data)

    def store(self, data: dict[str, Any]) -> None:
        """Queue one interaction's JSON object for the next batch (what :meth:`emit` does with a record's)."""
        with self._pending_lock:
            self._pending.append(data)
            waiting = len(self._pending)
        if waiting >= self.max_pending:
            self._write_pending()
        elif waiting >= self.batch_size:
            self._wake.set()

    def _write_pending(self) -> None:
        with self._write_lock:
            with self._pending_lock:
                batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                if self.max_bytes:
                    rotate_if_larger(self.path, self.max_bytes, self.backups)
                append_records(self.path, batch, encode=fast_line)
            except Exception as exc:  # disk full, permissions: report and count, never crash the monitor
                self.lost += len(batch)
                self.error = getattr(exc, "reason", None) or str(exc)
                logging.getLogger(DIAGNOSTICS_LOGGER_NAME).error(
                    "could not write %d record(s) to %s: %s", len(batch), self.path, self.error)

    def flush(self) -> None:
        self._write_pending()

    def _flush_periodically(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            self._write_pending()

    def close(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._flusher.is_alive() and self._flusher is not threading.current_thread():
            self._flusher.join(timeout=5)
        self._write_pending()
        super().close()


class _EscapingFormatter(logging.Formatter):
    """A formatter whose lines are safe on a terminal: ``escape`` writes the characters a terminal would act on."""

    def __init__(self, fmt: str, escape: Callable[[str], str]):
        super().__init__(fmt)
        self.escape = escape

    def format(self, record: logging.LogRecord) -> str:
        return self.escape(super().format(record))


class ConsoleHandler(logging.StreamHandler):
    """Prints each interaction's JSON line; a reader that went away (``| head``) ends the printing quietly.

    Python's own StreamHandler reports a broken pipe with a traceback for every record
    after it; this one stops writing, remembers it in ``closed`` and calls ``on_closed``
    once, so the command can stop too.
    """

    def __init__(self, stream: IO[str] | None = None, on_closed: Callable[[], None] | None = None):
        super().__init__(stream or sys.stdout)
        self.on_closed = on_closed
        self.closed = False

    def emit(self, record: logging.LogRecord) -> None:
        if self.closed:
            return
        try:
            self.stream.write(self.format(record) + self.terminator)
            self.stream.flush()
        except BrokenPipeError:
            self.closed = True
            if self.on_closed is not None:
                self.on_closed()
        except Exception:  # as logging.StreamHandler: report, never crash the caller
            self.handleError(record)


def console_handler(stream: IO[str] | None = None, level: int = logging.INFO,
                    on_closed: Callable[[], None] | None = None) -> logging.Handler:
    """A handler printing each interaction's JSON line (stdout by default), non-printable characters as ``\\u``
    escapes; see :class:`ConsoleHandler`."""
    handler = ConsoleHandler(stream, on_closed)
    handler.setFormatter(_EscapingFormatter("%(message)s", terminal_safe_json))
    handler.setLevel(level)
    return handler


def diagnostics_handler(stream: IO[str] | None = None) -> logging.Handler:
    """A handler for the monitor's own warnings (bad lines, alert delivery), on stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_EscapingFormatter("llmops monitor: %(levelname)s: %(message)s", terminal_safe_lines))
    return handler

"""Reading interaction records line by line: from a file, from stdin, or following a file.

Lines are read in binary, in large chunks, with a cap on line length: a 10 MB line (or
a file with no newline at all) is skipped and reported as too long without ever being
held in memory whole. Following works like ``tail -F``: it notices when the file is
rotated (a new file under the same name) or truncated, finishes the old one and goes on.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

CHUNK_BYTES = 1 << 20


@dataclass(slots=True)
class RawLine:
    """One line of input without its newline; ``raw`` is None when it was longer than allowed."""

    source: str
    number: int
    raw: bytes | None
    length: int
    #: no further line is ready without reading more (waiting, in a follow or on a pipe): a reader that takes
    #: lines in batches checks what it holds now
    last_ready: bool = False

    @property
    def where(self) -> str:
        return f"{self.source}:{self.number}"


class LineSplitter:
    """Turns chunks of bytes into lines, dropping (but counting) lines over ``max_bytes``."""

    def __init__(self, source: str, max_bytes: int):
        self.source = source
        self.max_bytes = max_bytes
        self.number = 0
        self._partial = b""
        self._skipping = 0  # bytes of an overlong line dropped so far (0: not skipping)

    def feed(self, data: bytes) -> Iterator[RawLine]:
        """The whole lines ``data`` completes; the last of them is marked ``last_ready``."""
        start = 0
        find = data.find
        newline = find(b"\n")
        while newline >= 0:
            following = find(b"\n", newline + 1)
            if self._skipping:
                length = self._skipping + newline - start
                self._skipping = 0
                line = self._line(None, length)
            elif self._partial:
                joined = self._partial + data[start:newline]
                self._partial = b""
                line = self._line(joined if len(joined) <= self.max_bytes else None, len(joined))
            else:
                raw = data[start:newline]
                line = self._line(raw if newline - start <= self.max_bytes else None, newline - start)
            line.last_ready = following < 0
            yield line
            start, newline = newline + 1, following
        if start < len(data):
            self._keep(data[start:])

    def _keep(self, rest: bytes) -> None:
        if self._skipping:
            self._skipping += len(rest)
        elif len(self._partial) + len(rest) > self.max_bytes:
            self._skipping = len(self._partial) + len(rest)
            self._partial = b""
        else:
            self._partial += rest

    def _line(self, raw: bytes | None, length: int) -> RawLine:
        self.number += 1
        if raw is not None and raw.endswith(b"\r"):
            raw = raw[:-1]
        return RawLine(self.source, self.number, raw, length)

    @property
    def pending_bytes(self) -> int:
        return self._skipping or len(self._partial)

    def finish(self) -> Iterator[RawLine]:
        """The last line when the input ends without a newline."""
        if self._skipping:
            length, self._skipping = self._skipping, 0
            last = self._line(None, length)
        elif self._partial:
            line, self._partial = self._partial, b""
            last = self._line(line, len(line))
        else:
            return
        last.last_ready = True
        yield last


def _read_some(stream: BinaryIO) -> bytes:
    read1 = getattr(stream, "read1", None)
    return read1(CHUNK_BYTES) if read1 is not None else stream.read(CHUNK_BYTES)


def read_stream(stream: BinaryIO, source: str, max_bytes: int) -> Iterator[RawLine]:
    """Every line of ``stream`` until it ends (a file, or stdin until EOF)."""
    splitter = LineSplitter(source, max_bytes)
    while True:
        data = _read_some(stream)
        if not data:
            break
        yield from splitter.feed(data)
    yield from splitter.finish()


def read_file(path: Path | str, max_bytes: int) -> Iterator[RawLine]:
    with open(path, "rb") as stream:
        yield from read_stream(stream, str(path), max_bytes)


def follow_file(path: Path | str, max_bytes: int, stop: threading.Event, *, from_end: bool = False,
                poll_s: float = 0.2, on_idle: Callable[[], None] = lambda: None,
                on_event: Callable[[str], None] = lambda message: None) -> Iterator[RawLine]:
    """Lines of ``path`` as they are written, until ``stop`` is set; survives rotation and truncation.

    ``on_idle`` runs whenever there is nothing new to read (flush logs, print summaries);
    ``on_event`` is told about rotation, truncation and a file that is missing.
    """
    path = Path(path)
    source = str(path)
    stream: BinaryIO | None = None
    inode: tuple[int, int] | None = None
    splitter = LineSplitter(source, max_bytes)
    first_open = True
    missing_reported = False
    try:
        while not stop.is_set():
            if stream is None:
                try:
                    stream = open(path, "rb")
                except OSError as exc:  # not there yet, or not readable for now: keep trying
                    if not missing_reported:
                        reason = "does not exist (yet)" if isinstance(exc, FileNotFoundError) else (
                            f"cannot be read ({exc.strerror or exc})")
                        on_event(f"{source} {reason}; waiting for it")
                        missing_reported = True
                    on_idle()
                    stop.wait(poll_s)
                    continue
                missing_reported = False
                info = os.fstat(stream.fileno())
                inode = (info.st_dev, info.st_ino)
                splitter = LineSplitter(source, max_bytes)
                if first_open and from_end:
                    stream.seek(0, os.SEEK_END)
                first_open = False
            data = _read_some(stream)
            if data:
                yield from splitter.feed(data)
                continue
            on_idle()
            try:
                info = os.stat(path)
                current = (info.st_dev, info.st_ino)
            except FileNotFoundError:
                current = None
            if current != inode:  # rotated or removed: finish the old file, then open the new one
                while data := _read_some(stream):
                    yield from splitter.feed(data)
                yield from splitter.finish()
                stream.close()
                stream = None
                on_event(f"{source} was rotated or removed; reading the new file")
                continue
            if info.st_size < stream.tell():  # truncated in place (copytruncate)
                yield from splitter.finish()
                stream.seek(0)
                splitter = LineSplitter(source, max_bytes)
                on_event(f"{source} was truncated; reading from its start")
                continue
            stop.wait(poll_s)
        if splitter.pending_bytes:
            on_event(f"{source}: stopped with {splitter.pending_bytes} byte(s) of an unfinished last line unread")
    finally:
        if stream is not None:
            stream.close()

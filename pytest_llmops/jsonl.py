"""JSON Lines stores: safe appends, tolerant reads, atomic rewrites.

Every stored record (feedback, monitor log) goes through here. Appends take a file
lock, write one line in one call and flush; rewrites (erasure, retention, rectify)
happen under the same lock into a temporary file in the same folder, are fsynced and
renamed into place, so a crash leaves the old file or the new one, never a mix. A line
that does not parse is reported with its number and never stops the rest being read.

Loading many records at once pauses CPython's cyclic garbage collector
(:func:`collector_paused`): each full collection walks every object still alive, which
made loading 100,000 records about 3x slower than parsing them, and plain records hold
no reference cycles, so pausing it loses nothing.
"""

from __future__ import annotations

import gc
import glob
import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from filelock import FileLock

LOCK_SUFFIX = ".lock"
TEMP_SUFFIX = ".tmp"


def lock_for(path: Path | str, timeout: float = 60) -> FileLock:
    """The lock every writer of ``path`` takes (a sibling ``.lock`` file)."""
    path = Path(path)
    return FileLock(str(path) + LOCK_SUFFIX, timeout=timeout)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # built once: the monitor's hot path


def dumps(record: dict[str, Any]) -> str:
    """One record as one line of JSON (no raw newlines inside, UTF-8 kept readable)."""
    return _ENCODER.encode(record)


def append_records(path: Path | str, records: list[dict[str, Any]]) -> None:
    """Append records to ``path`` under its lock: one write call, flushed and fsynced."""
    if not records:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(dumps(record) + "\n" for record in records).encode("utf-8")
    with lock_for(path):
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size and not _ends_with_newline(fd):
                data = b"\n" + data  # never glue a record onto a torn last line
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)


def append_record(path: Path | str, record: dict[str, Any]) -> None:
    """Append one record (see :func:`append_records`)."""
    append_records(path, [record])


def _ends_with_newline(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size == 0 or os.pread(fd, 1, size - 1) == b"\n"


@dataclass
class BadLine:
    """A line that is not a JSON object: where it is and why, but not its content."""

    line: int
    reason: str
    raw: bytes

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class Line:
    """One line of a store: its number and the record, or why it is bad."""

    number: int
    record: dict[str, Any] | None
    bad: BadLine | None
    raw: bytes


def parse_line(number: int, raw: bytes, max_bytes: int | None = None) -> Line:
    """Decode one raw line (without its newline) into a record or a BadLine."""
    if max_bytes is not None and len(raw) > max_bytes:
        return Line(number, None, BadLine(number, f"line too long ({len(raw)} bytes > {max_bytes})", raw), raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Line(number, None, BadLine(number, "not valid UTF-8", raw), raw)
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        return Line(number, None, BadLine(number, f"not valid JSON ({exc.msg})", raw), raw)
    if not isinstance(record, dict):
        return Line(number, None, BadLine(number, f"a JSON {type(record).__name__}, not an object", raw), raw)
    return Line(number, record, None, raw)


def iter_lines(path: Path | str, max_bytes: int | None = None, upto: int | None = None) -> Iterator[Line]:
    """Every non-blank line of ``path`` in order, parsed or marked bad. Reads in binary, streaming.

    ``upto`` (see :func:`settled_size`) stops at that byte offset, so an append still being
    written past it is not read as a torn line.
    """
    consumed = 0
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if upto is not None and consumed >= upto:
                return
            consumed += len(raw)
            raw = raw.rstrip(b"\r\n")
            if raw.strip():
                yield parse_line(number, raw, max_bytes)


def settled_size(path: Path | str) -> int:
    """The size of ``path`` between appends (read under its lock): every line before it is whole.

    Falls back to the current size when the lock cannot be taken (a read-only folder).
    """
    try:
        with lock_for(path, timeout=10):
            return os.path.getsize(path)
    except OSError:  # no permission to create the lock file, or the lock timed out
        return os.path.getsize(path)


def read_records(path: Path | str) -> tuple[list[dict[str, Any]], list[BadLine]]:
    """All good records of ``path`` and the bad lines (empty lists when the file is missing)."""
    records: list[dict[str, Any]] = []
    bad: list[BadLine] = []
    if not Path(path).exists():
        return records, bad
    for line in iter_lines(path):
        if line.record is not None:
            records.append(line.record)
        else:
            bad.append(line.bad)  # type: ignore[arg-type]
    return records, bad


def rewrite(path: Path | str, keep: Callable[[Line], bytes | None]) -> tuple[int, int]:
    """Atomically rewrite ``path`` line by line under its lock.

    ``keep(line)`` returns the bytes to write for that line (without newline), or None
    to drop it. Bad lines are passed to ``keep`` too, so callers keep them rather than
    losing them silently. Returns (lines kept, lines dropped). When nothing changes the
    file is left untouched (same inode, so readers following it see no rotation).
    """
    path = Path(path)
    kept = dropped = 0
    with lock_for(path):
        if not path.exists():
            return 0, 0
        remove_stale_temp_files(path)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
        try:
            changed = False
            with os.fdopen(fd, "wb") as out:
                for line in iter_lines(path):
                    data = keep(line)
                    if data is None:
                        dropped += 1
                        continue
                    changed = changed or data != line.raw
                    out.write(data + b"\n")
                    kept += 1
                out.flush()
                os.fsync(out.fileno())
            if not (changed or dropped):
                os.unlink(tmp_name)
                return kept, dropped
            os.chmod(tmp_name, os.stat(path).st_mode & 0o777)
            os.replace(tmp_name, path)
            _fsync_dir(path.parent)
        except BaseException:
            _unlink_quietly(tmp_name)
            raise
    return kept, dropped


def write_file_atomic(path: Path | str, data: bytes, mode: int = 0o600, durable: bool = True) -> Path:
    """Write a whole file via a temporary file in the same folder, fsync and rename: all or nothing.

    ``durable=False`` skips the fsyncs: readers still see the old file or the new one, never
    half, but a power cut may lose the write. For caches, whose lost entry is only asked again.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            if durable:
                os.fsync(out.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
        if durable:
            _fsync_dir(path.parent)
    except BaseException:
        _unlink_quietly(tmp_name)
        raise
    return path


def _unlink_quietly(name: str | Path) -> bool:
    try:
        os.unlink(name)
        return True
    except FileNotFoundError:
        return False


def temp_files_of(path: Path | str) -> list[Path]:
    """Temporary files a rewrite of ``path`` creates (left behind only if that rewrite was killed)."""
    path = Path(path)
    return sorted(path.parent.glob(f".{glob.escape(path.name)}.*{TEMP_SUFFIX}"))


def remove_stale_temp_files(path: Path | str) -> list[Path]:
    """Delete temp files of killed rewrites of ``path``; call only while holding its lock.

    They hold a copy of the store's records, so leaving them would keep personal data
    that an erase or purge was meant to remove.
    """
    return [stale for stale in temp_files_of(path) if _unlink_quietly(stale)]


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the ``with`` block; restore its previous state after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

"""JSON Lines stores: safe appends, tolerant reads, atomic rewrites.

Every stored record (feedback, monitor log, privacy audit) goes through here. Appends
take a file lock and write all of their bytes or none: a short write or an error (a full
disk) truncates the file back to where the append started, under the lock, so no torn
line is ever left. Rewrites (erasure, retention, rectify) happen under the same lock
into a temporary file in the same folder, are fsynced and renamed into place, so a crash
leaves the old file or the new one, never a mix. Every write that fails raises
:class:`~pytest_llmops.errors.StorageError` naming the file and what was kept. A line
that does not parse is reported with its number and never stops the rest being read.

Loading many records at once pauses CPython's cyclic garbage collector
(:func:`collector_paused`): each full collection walks every object still alive, which
made loading 100,000 records about 3x slower than parsing them, and plain records hold
no reference cycles, so pausing it loses nothing.
"""

from __future__ import annotations

import errno
import gc
import glob
import json
import os
import platform
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from .errors import StorageError

if TYPE_CHECKING:
    from filelock import FileLock

try:  # the `fast` extra: a compiled parser and encoder; every result is checked to be what json's would be
    import orjson
except ImportError:  # pragma: no cover - exercised by the tests run without it
    orjson = None

LOCK_SUFFIX = ".lock"
TEMP_SUFFIX = ".tmp"


def lock_for(path: Path | str, timeout: float = 60) -> "FileLock":
    """The lock every writer of ``path`` takes (a sibling ``.lock`` file)."""
    from filelock import FileLock  # imported when first needed: a test run that stores nothing never locks

    path = Path(path)
    return FileLock(str(path) + LOCK_SUFFIX, timeout=timeout)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # built once: the monitor's hot path


def dumps(record: dict[str, Any]) -> str:
    """One record as one line of JSON (no raw newlines inside, UTF-8 kept readable)."""
    return _ENCODER.encode(record)


#: orjson writes these as plain JSON or raises (then json writes the record, as it always did)
_ORJSON_OPTIONS = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
                   | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_APPEND_NEWLINE) if orjson is not None else 0
_SCALARS = frozenset({str, int, bool, type(None)})


def _orjson_writes_alike(values: Iterable[Any]) -> bool:
    """Whether orjson writes ``values`` (nested too) as json would: plain types, and no NaN or infinity
    (orjson writes those as ``null``, json as ``NaN``)."""
    for value in values:
        kind = value.__class__
        if kind in _SCALARS:
            continue
        if kind is float:
            if value - value != 0.0:  # NaN or an infinity
                return False
        elif kind is dict:
            if not _orjson_writes_alike(value.values()):
                return False
        elif kind is not list or not _orjson_writes_alike(value):
            return False  # a UUID, an Enum, a tuple...: json's own rules (which may refuse it)
    return True


def fast_line(record: dict[str, Any]) -> bytes:
    """One record as one UTF-8 JSON line with its newline, as ``dumps`` writes it, read back the same.

    With orjson installed (the ``fast`` extra) a record of plain values is encoded by it, about
    ten times as fast; its floats are written shorter (``1e-07`` as ``1e-7``) but read back equal.
    A record holding anything else (NaN or an infinity, which orjson would write as ``null``; a
    UUID or Enum, which orjson writes and json refuses) and whatever orjson refuses (an integer
    past 64 bits, a lone surrogate) go through ``dumps``, which writes or refuses it as before.
    """
    if orjson is not None and _orjson_writes_alike(record.values()):
        try:
            return orjson.dumps(record, option=_ORJSON_OPTIONS)
        except TypeError:  # orjson.JSONEncodeError is one
            pass
    return (dumps(record) + "\n").encode("utf-8")


def append_records(path: Path | str, records: list[dict[str, Any]],
                   encode: Callable[[dict[str, Any]], bytes] | None = None) -> None:
    """Append records to ``path`` under its lock, fsynced: all of their bytes or none.

    ``encode`` turns a record into its line (newline included); :func:`dumps` by default.
    Raises StorageError (the file as it was before) when the folder cannot be written,
    the disk is full, or the lock cannot be taken.
    """
    if not records:
        return
    path = Path(path)
    if encode is None:
        data = "".join(dumps(record) + "\n" for record in records).encode("utf-8")
    else:
        data = b"".join(map(encode, records))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with lock_for(path):
            _append_all_or_nothing(path, data)
    except OSError as exc:
        raise storage_error(path, exc, "nothing was written") from None


def _append_all_or_nothing(path: Path, data: bytes) -> None:
    """Append ``data`` (caller holds the lock); on any failure cut the file back to where it was."""
    existed = path.exists()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        start = os.fstat(fd).st_size
        if start and not _ends_with_newline(fd):
            data = b"\n" + data  # never glue a record onto a torn last line
        try:
            _write_all(fd, data)
            os.fsync(fd)
        except BaseException:
            os.ftruncate(fd, start)
            if not existed:
                os.unlink(path)
            raise
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written: a short write (a filling disk) is retried, then fails."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def storage_error(path: Path | str, exc: OSError, kept: str) -> StorageError:
    """The StorageError for a failed write of ``path``: which file, why, and what was kept."""
    if isinstance(exc, StorageError):
        return exc
    reason = exc.strerror or str(exc) or exc.__class__.__name__
    return StorageError(f"cannot write {path}: {reason}; {kept}", path=path, reason=reason)


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


#: orjson reads an integer outside 64 bits as a float, json as an int: a float this large sends the line to json
_HUGE = 9.2e18


def _may_be_long_int(values: Iterable[Any]) -> bool:
    """Whether a float among ``values`` (nested too) is large enough to have been an integer orjson could not hold."""
    for value in values:
        kind = value.__class__
        if kind is float:
            if not -_HUGE < value < _HUGE:
                return True
        elif kind is dict:
            if _may_be_long_int(value.values()):
                return True
        elif kind is list and _may_be_long_int(value):
            return True
    return False


def parse_line(number: int, raw: bytes, max_bytes: int | None = None) -> Line:
    """Decode one raw line (without its newline) into a record or a BadLine.

    With orjson installed (the ``fast`` extra) it parses first; any line it refuses (NaN,
    1e999, a lone surrogate, bad UTF-8, deep nesting) or may read differently (an integer past
    64 bits, which it reads as a float) is parsed by json as before: the record or the reason is the same.
    """
    if max_bytes is not None and len(raw) > max_bytes:
        return Line(number, None, BadLine(number, f"line too long ({len(raw)} bytes > {max_bytes})", raw), raw)
    if orjson is not None:
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
        else:
            if record.__class__ is dict and not _may_be_long_int(record.values()):
                return Line(number, record, None, raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Line(number, None, BadLine(number, "not valid UTF-8", raw), raw)
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        return Line(number, None, BadLine(number, f"not valid JSON ({exc.msg})", raw), raw)
    except RecursionError:  # arrays or objects nested thousands deep
        return Line(number, None, BadLine(number, "not usable JSON (nested too deeply)", raw), raw)
    except ValueError:  # an integer of thousands of digits (Python's int conversion limit)
        return Line(number, None, BadLine(number, "not usable JSON (a number too long to read)", raw), raw)
    if not isinstance(record, dict):
        return Line(number, None, BadLine(number, f"a JSON {type(record).__name__}, not an object", raw), raw)
    return Line(number, record, None, raw)


def iter_lines(path: Path | str, max_bytes: int | None = None, upto: int | None = None) -> Iterator[Line]:
    """Every non-blank line of ``path`` in order, parsed or marked bad. Reads in binary, streaming.

    ``upto`` (see :func:`settled_size`) stops at that byte offset, so an append still being
    written past it is not read as a torn line.
    """
    for number, raw in iter_raw_lines(path, upto):
        yield parse_line(number, raw, max_bytes)


def iter_raw_lines(path: Path | str, upto: int | None = None) -> Iterator[tuple[int, bytes]]:
    """Every non-blank line of ``path`` as (line number, bytes without the newline), not parsed.

    For readers that parse and validate a line in one step (and call :func:`parse_line` on
    the lines that step refuses, for the same message as :func:`iter_lines`).
    """
    consumed = 0
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if upto is not None and consumed >= upto:
                return
            consumed += len(raw)
            raw = raw.rstrip(b"\r\n")
            if raw.strip():
                yield number, raw


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
    try:
        return _rewrite(path, keep)
    except OSError as exc:
        raise storage_error(path, exc, "the file is unchanged") from None


def _rewrite(path: Path, keep: Callable[[Line], bytes | None]) -> tuple[int, int]:
    kept = dropped = 0
    with lock_for(path):
        if not path.exists():
            return 0, 0
        remove_stale_temp_files(path)
        fd, tmp_name = _temp_file(path)
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
    Many files at once: :class:`FileBatch` (one sync for all of them).
    Raises StorageError (no temporary file left, any old file unchanged) when it cannot.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_via_temp(path, data, mode, durable)
    except OSError as exc:
        raise storage_error(path, exc, "nothing was written" if not path.exists() else "the file is unchanged") \
            from None
    return path


def _write_via_temp(path: Path, data: bytes, mode: int, durable: bool) -> None:
    fd, tmp_name = _temp_file(path)
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


class FileBatch:
    """Many files written whole, with one sync for all of them instead of one fsync each (3-4 ms a file here).

    :meth:`add` writes each file into a temporary file beside it, named as every atomic write
    names its own (a killed run's are removed by the next run: :func:`remove_orphaned_temp_files`).
    :meth:`commit` makes every temporary file durable at once, then renames each into place and
    syncs their folders: a crash before the renames leaves only temporary files, and every
    renamed file is whole. :meth:`discard` removes what is not renamed yet. Use it as a context
    manager: leaving the block, anything not committed is discarded.
    """

    def __init__(self, mode: int = 0o600) -> None:
        self.mode = mode
        self.pending: list[tuple[str, Path]] = []  # (temporary file, its final path), in the order added
        self.renamed: list[Path] = []  # in place, whole: what a failed commit still did

    def add(self, path: Path | str, data: bytes) -> None:
        """Write ``data`` for ``path`` into a temporary file; StorageError (that temporary file removed) if it cannot."""
        path = Path(path)
        tmp_name = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = _temp_file(path)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.chmod(tmp_name, self.mode)
        except OSError as exc:
            if tmp_name is not None:
                _unlink_quietly(tmp_name)
            raise storage_error(path, exc, "nothing was written" if not path.exists() else "the file is unchanged") \
                from None
        self.pending.append((tmp_name, path))

    def commit(self) -> list[Path]:
        """Sync every file added, rename each into place, sync their folders; the paths renamed.

        Raises StorageError when the sync fails (nothing renamed, every temporary file removed) or
        a rename fails (the files renamed before it are whole and stay, listed in ``renamed``;
        the rest are removed).
        """
        done = len(self.renamed)
        try:
            _sync_files([tmp_name for tmp_name, _ in self.pending])
            for tmp_name, path in self.pending:
                os.replace(tmp_name, path)
                self.renamed.append(path)
        except OSError as exc:
            self.pending = self.pending[len(self.renamed) - done:]
            failed = self.pending[0][1]
            self.discard()
            raise storage_error(failed, exc, "nothing was written" if not failed.exists() else "the file is unchanged") \
                from None
        self.pending = []
        for folder in dict.fromkeys(path.parent for path in self.renamed[done:]):
            try:
                _fsync_dir(folder)
            except OSError as exc:
                raise storage_error(folder, exc, "the files in it are whole, but a power cut may lose them") from None
        return self.renamed[done:]

    def discard(self) -> None:
        """Remove every temporary file not renamed yet."""
        for tmp_name, _ in self.pending:
            _unlink_quietly(tmp_name)
        self.pending = []

    def __enter__(self) -> "FileBatch":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()


def _sync_files(names: list[str]) -> None:
    """Make the data of the files ``names`` durable: one ``syncfs`` of their filesystem where it reports
    write-back errors (Linux 5.8 and later), else one fsync per file."""
    syncfs = _syncfs() if names else None
    if syncfs is not None:
        synced = True
        for name in dict((os.path.dirname(name), name) for name in names).values():  # one a folder: a filesystem each
            fd = os.open(name, os.O_RDONLY)
            try:
                synced = syncfs(fd) == 0 and synced
            finally:
                os.close(fd)
        if synced:
            return
    for name in names:  # no syncfs, or it failed: each file's own fsync says which and why
        fd = os.open(name, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _syncfs() -> Callable[[int], int] | None:
    """libc's ``syncfs(fd)`` on Linux 5.8 or later (earlier kernels do not report write-back errors through it)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        major, minor = (int(part) for part in platform.release().split(".")[:2])
    except ValueError:
        return None
    if (major, minor) < (5, 8):
        return None
    import ctypes  # here: only batches of files need it

    try:
        return getattr(ctypes.CDLL(None, use_errno=True), "syncfs")
    except (OSError, AttributeError):
        return None


def _unlink_quietly(name: str | Path) -> bool:
    try:
        os.unlink(name)
        return True
    except FileNotFoundError:
        return False


def _temp_file(path: Path) -> tuple[int, str]:
    """A new temporary file beside ``path``, named after it and this process: ``.NAME.PID.RANDOM.tmp``.

    The process id lets a later run tell a temporary file left by a killed writer from one
    another writer is still filling (:func:`remove_orphaned_temp_files`).
    """
    return tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=TEMP_SUFFIX, dir=path.parent)


def _writer_is_gone(temp: Path, older_than_s: float) -> bool:
    """Whether the process that made ``temp`` (see :func:`_temp_file`) no longer runs.

    A name without a process id (written before ids were added) counts as orphaned once
    it is ``older_than_s`` old.
    """
    parts = temp.name[: -len(TEMP_SUFFIX)].rsplit(".", 2)
    if len(parts) == 3 and parts[1].isdigit():
        pid = int(parts[1])
        if pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, run by another user
            return False
        return False
    try:
        return time.time() - temp.stat().st_mtime > older_than_s
    except FileNotFoundError:
        return False


def remove_orphaned_temp_files(folder: Path | str, older_than_s: float = 3600) -> list[Path]:
    """Delete the temporary files in ``folder`` whose writer was killed; safe while other writers run.

    An atomic write that is killed leaves its ``.NAME.PID.RANDOM.tmp`` behind; the next run
    cleans them up here (a file being written right now by a live process is left alone).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for temp in sorted(folder.glob(f".*{TEMP_SUFFIX}")):
        if temp.is_file() and _writer_is_gone(temp, older_than_s):
            try:
                temp.unlink()
            except OSError:  # gone meanwhile, or a read-only folder: the write that follows will say so
                continue
            removed.append(temp)
    return removed


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

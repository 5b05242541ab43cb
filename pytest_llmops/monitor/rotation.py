"""The monitor log's rotation: rotating it by size, and finding its rotated copies.

Python's RotatingFileHandler (and :func:`rotate_if_larger`) leaves ``log.1``, ``log.2``
...; TimedRotatingFileHandler leaves ``log.2026-11-25``; logrotate may compress them
(``log.1.gz``). Readers (``cases from-monitor-log``, the privacy tools) find them all
through :func:`rotated_siblings`, so they agree on what the log is.
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path

from ..jsonl import lock_for

# Python's RotatingFileHandler (log.1, log.2, ...) and TimedRotatingFileHandler (log.2026-11-25, ...).
ROTATED_SUFFIX_RE = re.compile(r"^\.(\d+|\d{4}-\d{2}-\d{2}(?:[_T]\d{2}(?:-\d{2}){0,2})?)$")
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zip", ".zst")


def rotate_if_larger(path: Path, max_bytes: int, backups: int) -> bool:
    """Rotate ``path`` to ``path.1`` (``.1`` to ``.2`` ..., the oldest beyond ``backups`` dropped) once it
    holds ``max_bytes`` or more. Under the store's lock, so no append or privacy rewrite sees it half done."""
    with lock_for(path):
        try:
            if path.stat().st_size < max_bytes:
                return False
        except FileNotFoundError:
            return False
        if backups < 1:
            path.unlink()
            return True
        oldest = path.with_name(f"{path.name}.{backups}")
        if oldest.exists():
            oldest.unlink()
        for number in range(backups - 1, 0, -1):
            older = path.with_name(f"{path.name}.{number}")
            if older.exists():
                os.replace(older, path.with_name(f"{path.name}.{number + 1}"))
        os.replace(path, path.with_name(f"{path.name}.1"))
        return True


def rotated_siblings(path: Path) -> tuple[list[Path], list[Path]]:
    """The rotated copies of a log (``log.1``, ``log.2026-11-25``) and any compressed ones (``log.1.gz``)."""
    if not path.parent.is_dir():
        return [], []
    plain: list[Path] = []
    compressed: list[Path] = []
    for candidate in path.parent.glob(glob.escape(path.name) + ".*"):
        suffix = candidate.name[len(path.name):]
        if ROTATED_SUFFIX_RE.match(suffix):
            plain.append(candidate)
        elif suffix.endswith(COMPRESSED_SUFFIXES) and ROTATED_SUFFIX_RE.match(suffix.rsplit(".", 1)[0] or "."):
            compressed.append(candidate)
    return sorted(plain, key=_rotation_order), sorted(compressed)


def _rotation_order(path: Path) -> tuple[int, str]:
    suffix = path.suffix[1:]
    return (int(suffix), "") if suffix.isdigit() else (0, suffix)


def log_files(log_file: Path) -> list[Path]:
    """The log and its plain rotated copies, oldest first (``log.2026-11-24``, ``log.2``, ``log.1``, ``log``)."""
    plain, _ = rotated_siblings(log_file)
    dated = [path for path in plain if not path.suffix[1:].isdigit()]
    numbered = [path for path in plain if path.suffix[1:].isdigit()]
    return dated + list(reversed(numbered)) + ([log_file] if log_file.exists() else [])

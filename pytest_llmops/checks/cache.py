"""The on-disk cache of judge verdicts and embeddings, so an unchanged rerun sends nothing.

One small JSON file per entry, ``<folder>/<namespace>/<2 hex>/<sha256>.json``, named by
the hash of everything the answer depends on (the judge's or embedder's model and
parameters, the prompt version, the masked text sent). Entries are written atomically
(a temporary file renamed into place), so two pytest-xdist workers writing the same
entry leave one whole file, and a reader never sees half of one. They are not fsynced:
an entry a power cut loses or truncates reads as a miss and is asked again, and an fsync
cost 20 ms a verdict on a busy disk (benchmarks/judge.py). The folder holds a
``.gitignore`` of its own and can be deleted at any time; ``--llmops-no-cache`` skips it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from ..jsonl import write_file_atomic

GITIGNORE = "# pytest-llmops cache: judge verdicts and embeddings. Delete the folder to clear it.\n*\n"


def cache_key(*parts: Any) -> str:
    """A stable hash of ``parts`` (JSON data): the name of their cache entry."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class DiskCache:
    """Get and put JSON values by key under one folder; safe across threads and processes."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        self.hits = 0
        self.misses = 0
        self.write_errors = 0
        self._lock = threading.Lock()
        self._ready = False

    def _path(self, namespace: str, key: str) -> Path:
        return self.folder / namespace / key[:2] / f"{key}.json"

    def get(self, namespace: str, key: str) -> Any | None:
        """The value stored under ``key``, or None (never stored, or unreadable: then it is asked again)."""
        try:
            value = json.loads(self._path(namespace, key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            value = None
        with self._lock:
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
        return value

    def put(self, namespace: str, key: str, value: Any) -> None:
        """Store ``value``; a folder that cannot be written only costs the next run a request."""
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            self._prepare()
            write_file_atomic(self._path(namespace, key), data, mode=0o644, durable=False)
        except OSError:
            with self._lock:
                self.write_errors += 1

    def _prepare(self) -> None:
        if self._ready:
            return
        ignore = self.folder / ".gitignore"
        if not ignore.exists():
            write_file_atomic(ignore, GITIGNORE.encode("utf-8"), mode=0o644, durable=False)
        self._ready = True

    def describe(self) -> str:
        return f"{self.hits} hit(s), {self.misses} miss(es)" + (
            f", {self.write_errors} write error(s)" if self.write_errors else "")


__all__ = ["DiskCache", "cache_key"]

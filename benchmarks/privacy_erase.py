"""How fast are the privacy commands over a large store, next to the floor of a plain loop?

Builds a feedback file of N records (default 200,000, one user in 50 is erased), then
times (best of 3, each on a fresh copy of the file):

* floor: ``json.loads`` on every line, the least any tolerant erase must do;
* floor + write: the same loop writing kept lines to a temporary file, fsync, rename
  (the least an atomic, tolerant erase must do);
* ``erase_user`` dry run, ``erase_user``, ``purge_older_than``, ``export_user``.

Prints records/s and the ratio to each floor. Usage:
    python benchmarks/privacy_erase.py [N]
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pytest_llmops import jsonl
from pytest_llmops.privacy.operations import PrivacyProject, erase_user, export_user, purge_older_than

USER = "cust-17"


def build(root: Path, count: int) -> Path:
    (root / "pyproject.toml").write_text("[tool.llmops]\n")
    now = datetime.now(timezone.utc)
    path = root / "feedback.master"
    with path.open("w") as out:
        for n in range(count):
            stamp = (now - timedelta(minutes=n)).isoformat().replace("+00:00", "Z")
            out.write(jsonl.dumps({"schema_version": 1, "id": f"fb-{n:08d}", "timestamp": stamp,
                                   "user_id": f"cust-{n % 50}", "type": "wrong_answer",
                                   "message": f"reply {n} said the parcel left on Tuesday, it did not"}) + "\n")
    return path


def fresh(root: Path, master: Path) -> Path:
    target = root / "feedback.jsonl"
    shutil.copyfile(master, target)
    return target


def floor_loads(path: Path) -> None:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            json.loads(line)


def floor_atomic(path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent)
    with open(path, encoding="utf-8") as handle, os.fdopen(fd, "w", encoding="utf-8") as out:
        for line in handle:
            if json.loads(line).get("user_id") != USER:
                out.write(line)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def timed(label: str, action, root: Path, master: Path, count: int, floors: dict[str, float],
          repeats: int = 3) -> float:
    """Best of ``repeats`` runs, each on a fresh copy (the machine is shared and noisy)."""
    best = float("inf")
    for _ in range(repeats):
        path = fresh(root, master)
        started = time.perf_counter()
        action(path)
        best = min(best, time.perf_counter() - started)
    seconds = best
    ratios = "  ".join(f"{seconds / floor:.2f}x {name}" for name, floor in floors.items())
    print(f"{label:<24} {seconds:7.3f} s  {count / seconds:>11,.0f} records/s  {ratios}")
    return seconds


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        master = build(root, count)
        size_mb = master.stat().st_size / 1e6
        print(f"feedback file: {count:,} records, {size_mb:.1f} MB; erasing {USER} (1 record in 50)")
        fresh(root, master)
        project = PrivacyProject.load(root)
        floors: dict[str, float] = {}
        floors["loads"] = timed("floor: json.loads loop", floor_loads, root, master, count, {})
        floors["atomic"] = timed("floor: loads+write+rename", floor_atomic, root, master, count, {})
        timed("erase --dry-run", lambda p: erase_user(project, USER, dry_run=True), root, master, count, floors)
        timed("erase", lambda p: erase_user(project, USER), root, master, count, floors)
        timed("purge --older-than 30d",
              lambda p: purge_older_than(project, timedelta(days=30), "30d"), root, master, count, floors)
        timed("export", lambda p: export_user(project, USER), root, master, count, floors)


if __name__ == "__main__":
    main()

"""How fast ``llmops cases from-feedback`` converts a large feedback file, against a plain json.loads floor.

Writes N feedback records (default 100,000) to a temporary file: every type, 80% with a
conversation of 1-4 turns drawn from a pool of distinct conversations (so many records
are duplicates, as in production where many users report the same failure), some with
personal data to mask. Then times, on the same file:

* floor: ``for line in file: json.loads(line)``
* read: :func:`read_feedback` (parse + validate every record)
* convert: read + candidates + plan (no writing) -- what ``--dry-run`` costs
* cli first run: the real ``llmops cases from-feedback`` subprocess, writing every case
* cli second run: the same command again (everything exists, nothing written)
* appends: ``FeedbackStore.record`` one record at a time (lock, one write, fsync)

Run: ``python benchmarks/convert.py [--records N] [--conversations K] [--repeat R]``.
Prints best-of-R seconds and the ratio to the floor.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_llmops import jsonl
from pytest_llmops.config import load_settings
from pytest_llmops.convert.core import plan_cases
from pytest_llmops.convert.from_feedback import candidates_from_feedback
from pytest_llmops.feedback.store import FEEDBACK_TYPES, FeedbackRecord, FeedbackStore, read_feedback
from pytest_llmops.pii.storage import storage_detector

QUESTIONS = ["Where is my order {n}?", "How long do I have to return item {n}?", "Can I get a refund for {n}?",
             "My email is user{n}@example.com, can you check order {n}?", "Call me on 415-555-{n:04d} please",
             "Is order {n} damaged in transit?", "I want to speak to a human about {n}"]
REPLIES = ["Order {n} shipped on 18 November.", "You can return it within 30 days.",
           "Refunds take 5-7 business days.", "Contact jane.doe@example.com for details.",
           "Sorry, an error occurred while processing your request.", "I'm not sure I understood."]


def make_file(path: Path, records: int, conversations: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    pool = []
    for n in range(conversations):
        turns = [{"user": rng.choice(QUESTIONS).format(n=n), "reply": rng.choice(REPLIES).format(n=n),
                  "latency_ms": round(rng.uniform(50, 9000), 1)} for _ in range(rng.randint(1, 4))]
        pool.append(turns)
    with path.open("w", encoding="utf-8") as out:
        for n in range(records):
            conversation = rng.choice(pool) if rng.random() < 0.8 else None
            record = FeedbackRecord(user_id=f"u-{rng.randint(1, 50_000)}", type=rng.choice(FEEDBACK_TYPES),
                                    message=f"report {n}: it went wrong", conversation=conversation,
                                    expected="30 days" if rng.random() < 0.5 else None)
            out.write(jsonl.dumps(record.to_json_dict()) + "\n")


def best_of(repeat: int, run) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def floor(path: Path) -> int:
    count = 0
    with path.open("rb") as handle:
        for line in handle:
            json.loads(line)
            count += 1
    return count


def convert_only(path: Path) -> tuple[int, int, int]:
    records, bad = read_feedback(path)
    candidates, skipped = candidates_from_feedback(records, storage_detector(), 5000)
    return len(candidates), len(plan_cases(candidates)), len(skipped)


def cli(folder: Path, out: Path) -> str:
    result = subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "cases", "from-feedback", "feedback.jsonl",
                             "--out", str(out)], cwd=folder, capture_output=True, text=True, check=True)
    return result.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--conversations", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--appends", type=int, default=1_000, help="single-process appends to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="llmops-bench-") as tmp:
        folder = Path(tmp)
        (folder / "pyproject.toml").write_text("[tool.llmops]\n")
        path = folder / "feedback.jsonl"
        make_file(path, args.records, args.conversations)
        size_mb = path.stat().st_size / 1e6
        print(f"feedback file: {args.records:,} records, {size_mb:.1f} MB, "
              f"{args.conversations:,} distinct conversations")
        rows = []
        t_floor, count = best_of(args.repeat, lambda: floor(path))
        rows.append(("floor: json.loads loop", t_floor, f"{count:,} lines"))
        t_read, (records, bad) = best_of(args.repeat, lambda: read_feedback(path))
        rows.append(("read_feedback (parse + validate)", t_read, f"{len(records):,} records, {len(bad)} bad"))
        t_conv, (cands, planned, skipped) = best_of(args.repeat, lambda: convert_only(path))
        rows.append(("read + candidates + plan (dry run)", t_conv,
                     f"{cands:,} candidates -> {planned:,} cases, {skipped:,} skipped"))
        out = folder / "regressions"
        t_first, summary_first = best_of(1, lambda: cli(folder, out))
        rows.append(("llmops cases from-feedback, first run", t_first, summary_first))
        t_second, summary_second = best_of(args.repeat, lambda: cli(folder, out))
        rows.append(("llmops cases from-feedback, again", t_second, summary_second))
        for name, seconds, note in rows:
            print(f"{name:<40} {seconds:7.2f} s  {seconds / t_floor:6.1f}x floor  "
                  f"{args.records / seconds:>10,.0f} records/s  ({note})")
        store = FeedbackStore.from_settings(load_settings(folder), folder / "appends.jsonl")
        t_append, _ = best_of(1, lambda: [store.record("slow", "took ages", user_id="u-1")
                                          for _ in range(args.appends)])
        print(f"{'FeedbackStore.record (lock, write, fsync)':<40} {t_append:7.2f} s for {args.appends:,} "
              f"appends: {t_append / args.appends * 1000:.2f} ms each, {args.appends / t_append:,.0f} records/s")


if __name__ == "__main__":
    main()

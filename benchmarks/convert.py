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

Then the same for ``llmops cases from-monitor-log`` on a monitor log of N interactions
(written by the real monitor from benchmarks/monitor.py's traffic): its floor is the same
``json.loads`` loop over the log.

Run: ``python benchmarks/convert.py [--records N] [--conversations K] [--repeat R]``.
Each figure is run R times (default 3) right after its floor, and printed as the ratio to
that floor, min / median / max, with the load average (the machine is shared): wall time,
and CPU time (this process and the CLI's, user + system) against the floor's CPU time,
which others' load moves less. A first run's wall time also waits for the disk.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
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


def timed(run) -> tuple[float, object]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the CLI runs): less moved by others' load."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


@dataclass
class Timing:
    seconds: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)  # wall time / the floor's wall time
    cpu_ratios: list[float] = field(default_factory=list)  # CPU time / the floor's CPU time
    result: object = None


def against_floor(repeat: int, path: Path, run) -> Timing:
    """``run`` timed ``repeat`` times, each right after the floor over ``path``."""
    timing = Timing()
    for _ in range(repeat):
        cpu = cpu_seconds()
        floor_seconds, _ = timed(lambda: floor(path))
        floor_cpu, cpu = cpu_seconds() - cpu, cpu_seconds()
        took, timing.result = timed(run)
        timing.seconds.append(took)
        timing.ratios.append(took / floor_seconds)
        timing.cpu_ratios.append((cpu_seconds() - cpu) / floor_cpu)
    return timing


def spread(values: list[float], form: str) -> str:
    return " / ".join(form.format(v) for v in (min(values), statistics.median(values), max(values)))


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def row(name: str, records: int, timing: Timing, note: str) -> None:
    print(f"{name:<42} {spread(timing.seconds, '{:.2f}')} s  {spread(timing.ratios, '{:.1f}x')} floor  "
          f"CPU {spread(timing.cpu_ratios, '{:.1f}x')} floor's  "
          f"{records / statistics.median(timing.seconds):>9,.0f} records/s  ({note})")


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


def monitor_log(folder: Path, records: int) -> Path:
    """A monitor log of ``records`` interactions, written by the real monitor (benchmarks/monitor.py's traffic)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import monitor as monitor_bench

    source, log = folder / "interactions.jsonl", folder / "chatbot_monitoring.log"
    monitor_bench.generate(source, records)
    subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "monitor", "-q", str(source), f"--log-file={log}"],
                   cwd=folder, capture_output=True, check=False)
    source.unlink()
    return log


def cli_monitor(folder: Path, log: Path, out: Path) -> str:
    result = subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "cases", "from-monitor-log", str(log),
                             f"--out={out}"], cwd=folder, capture_output=True, text=True, check=True)
    return result.stdout.strip().splitlines()[-1]


def monitor_section(folder: Path, records: int, repeat: int) -> None:
    from pytest_llmops.convert.from_monitor import candidates_from_monitor_log
    from pytest_llmops.monitor.settings import monitor_settings

    log = monitor_log(folder, records)
    settings = load_settings(folder)
    options = monitor_settings(settings)
    print(f"monitor log: {records:,} interactions, {log.stat().st_size / 1e6:.1f} MB; load average {load()}")

    def convert() -> tuple[int, int]:
        candidates, _, _ = candidates_from_monitor_log([log], options, settings.max_latency_ms)
        return len(candidates), len(plan_cases(candidates))

    timing = against_floor(repeat, log, convert)
    cands, planned = timing.result
    row("from-monitor-log: read + candidates + plan", records, timing,
        f"{cands:,} candidates -> {planned:,} cases")
    out = folder / "from-monitor"
    timing = against_floor(1, log, lambda: cli_monitor(folder, log, out))
    summary = timing.result
    row("llmops cases from-monitor-log, first run", records, timing, summary)
    timing = against_floor(repeat, log, lambda: cli_monitor(folder, log, out))
    summary = timing.result
    row("llmops cases from-monitor-log, again", records, timing, summary)


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
        print(f"{args.repeat} runs each, min / median / max, seconds and ratio to the json.loads floor timed "
              f"right before it; load average {load()}")
        timing = against_floor(args.repeat, path, lambda: read_feedback(path))
        records, bad = timing.result
        row("read_feedback (parse + validate)", args.records, timing, f"{len(records):,} records, {len(bad)} bad")
        timing = against_floor(args.repeat, path, lambda: convert_only(path))
        cands, planned, skipped = timing.result
        row("read + candidates + plan (dry run)", args.records, timing,
            f"{cands:,} candidates -> {planned:,} cases, {skipped:,} skipped")
        out = folder / "regressions"
        timing = against_floor(1, path, lambda: cli(folder, out))
        summary = timing.result
        row("llmops cases from-feedback, first run", args.records, timing, summary)
        timing = against_floor(args.repeat, path, lambda: cli(folder, out))
        summary = timing.result
        row("llmops cases from-feedback, again", args.records, timing, summary)
        store = FeedbackStore.from_settings(load_settings(folder), folder / "appends.jsonl")
        t_append, _ = timed(lambda: [store.record("slow", "took ages", user_id="u-1")
                                          for _ in range(args.appends)])
        print(f"{'FeedbackStore.record (lock, write, fsync)':<40} {t_append:7.2f} s for {args.appends:,} "
              f"appends: {t_append / args.appends * 1000:.2f} ms each, {args.appends / t_append:,.0f} records/s")
        monitor_section(folder, args.records, args.repeat)
        print(f"load average at the end {load()}")


if __name__ == "__main__":
    main()

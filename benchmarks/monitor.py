"""Monitor throughput and memory: `python benchmarks/monitor.py [--records N] [--small M]`.

Prints, for a generated file of N interaction records (default 1,000,000):
  - the floor: a plain `for line in file: json.loads(line)` loop over the same file;
  - `llmops monitor`'s real path (read, parse, check with the suite's Checker, mask,
    log a JSON line to a file), in records/s and as a multiple of the floor;
  - peak RSS of the monitor over M records (default 100,000) and over N records,
    each in a fresh process, to show memory does not grow with the file;
  - the cost of one `Monitor.record()` call, as a service would make in its request path;
  - where a record's time goes (`--parts-only` prints just this): each step of the monitor's
    path timed alone per record (parsing, field mapping, the suite's `Checker.check_exchange`,
    masking the user message), then a cProfile of the whole path, its costliest functions
    in microseconds per record.
Every run is pinned to one CPU core and timed in CPU seconds (process time, the
log writer's thread included), so a busy shared machine skews the figures less.
Files go to a temporary folder that is removed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

USERS = [
    "Where is my order #{order}?", "How long do I have to return an item?", "Can I get store credit instead?",
    "My blender arrived broken, what now?", "I want to cancel order {order}", "How do I reset my password?",
    "What data do you store about me?", "I'd like to speak to a human please", "How much is shipping to Denver?",
    "Hi, my email is {email} and I never got my refund",
]
REPLIES = [
    "Order {order} shipped on 18 November and should arrive within 2 business days. Tracking: 1Z999AA1{order}.",
    "You can return any item within 30 days of delivery for a full refund. Start a return from the Orders page.",
    "Yes, you can choose store credit instead of a refund. It is added to your account when we receive the item.",
    "I'm sorry it arrived damaged. We'll send you a free return label and ship a replacement at no cost.",
    "Order {order} can be cancelled until it ships: open Orders, choose the order and press Cancel.",
    "To reset your password, choose 'Forgot password' on the sign-in page and we'll email you a reset link.",
    "We store your name, contact details, order history and support conversations, and keep chat logs 30 days.",
    "I'm connecting you with a human agent now. Your ticket number is T-{ticket}. The wait is under 5 minutes.",
]
LEAK = " You can also reach {name} directly at {email} or (415) 555-{phone:04d}."
ERROR = "Sorry, an error occurred while processing your request. Please try again later."


def generate(path: Path, count: int, seed: int = 1) -> None:
    """Realistic traffic: ~3% leaks, ~2% error replies, ~1% faults, ~3% slow replies."""
    rng = random.Random(seed)
    with open(path, "w") as out:
        for n in range(count):
            order = rng.randint(100000, 999999)
            fill = {"order": order, "ticket": rng.randint(10000, 99999), "email": f"cust{n}@example.com"}
            roll = rng.random()
            record = {
                "timestamp": f"2026-11-25T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}.{n % 1000:03d}Z",
                "conversation_id": f"conv-{n // 3:08d}",
                "user_id": f"u_{rng.getrandbits(64):016x}",
                "user": rng.choice(USERS).format(**fill),
                "reply": rng.choice(REPLIES).format(**fill),
                "latency_ms": round(rng.lognormvariate(6.5, 0.5), 1),
                "status": 200,
            }
            if roll < 0.03:
                record["reply"] += LEAK.format(name="Jane", email=f"jane{n}@example.com", phone=n % 10000)
            elif roll < 0.05:
                record["reply"] = ERROR
            elif roll < 0.06:
                record.update(reply=None, error="upstream timed out", status=504)
            elif roll < 0.09:
                record["latency_ms"] = round(rng.uniform(5001, 9000), 1)
            out.write(json.dumps(record) + "\n")


def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def clock() -> float:
    """CPU seconds of this process: on a shared, busy machine, wall time measures the neighbours."""
    return time.process_time()


def floor(path: Path) -> float:
    started = clock()
    with open(path, "rb") as handle:
        for line in handle:
            json.loads(line)
    return clock() - started


def cli_monitor(settings, options, name: str):
    """A Monitor set up as `llmops monitor -q` runs it: its log file, no console, no propagation."""
    from pytest_llmops.monitor.service import Monitor

    monitor = Monitor(settings, options, console=False, logger_name=f"pytest_llmops.monitor.{name}")
    monitor.logger.propagate = False  # as `llmops monitor` runs it: its own handlers only
    monitor.add_handler(logging.NullHandler())
    return monitor


def run_monitor(path: Path, log: Path) -> tuple[float, int]:
    """The CLI's own reading and checking path, timed; returns (seconds, interactions)."""
    from pytest_llmops.cli.monitor import _check_lines
    from pytest_llmops.config import load_settings
    from pytest_llmops.monitor.settings import monitor_settings
    from pytest_llmops.monitor.input import read_file

    settings = load_settings(path.parent)
    options = monitor_settings(settings, {"log_file": str(log)})
    monitor = cli_monitor(settings, options, "bench")
    started = clock()
    _check_lines(monitor, read_file(path, options.max_line_bytes), options.max_line_bytes, threading.Event())
    monitor.close()
    return clock() - started, monitor.stats.interactions


def detector_only(path: Path) -> tuple[float, int]:
    """Just the PII detector over every user message and reply of the file (parsing excluded)."""
    from pytest_llmops.checks.checker import Checker
    from pytest_llmops.config import load_settings

    detector = Checker.from_settings(load_settings(path.parent)).detector
    with open(path, "rb") as handle:
        texts = [(r["user"], r["reply"] or "") for r in map(json.loads, handle)]
    started = clock()
    for user, reply in texts:
        detector.find(user)
        detector.find(reply)
    return clock() - started, len(texts)


def per_record_us(function, items: list) -> float:
    """CPU microseconds per item of ``function(item)`` over ``items``."""
    started = clock()
    for item in items:
        function(item)
    return (clock() - started) / len(items) * 1e6


def parts(path: Path, log: Path, profile_top: int = 12) -> None:
    """Each step of the monitor's path alone, per record, then a profile of the whole path (prints)."""
    import cProfile
    import pstats

    from pytest_llmops.config import load_settings
    from pytest_llmops.monitor.settings import monitor_settings
    from pytest_llmops.transcript import Exchange

    with open(path, "rb") as handle:
        lines = handle.readlines()
    count = len(lines)
    records = [json.loads(line) for line in lines]
    settings = load_settings(path.parent)
    monitor = cli_monitor(settings, monitor_settings(settings, {"log_file": str(log)}), "bench-parts")
    interactions = [monitor.fields.interaction(record) for record in records]
    exchanges = [Exchange(turn=1, user=i.user, reply=i.reply, latency_ms=i.latency_ms, error=i.error,
                          error_kind="error" if i.error else None, status=i.status) for i in interactions]
    steps = [
        ("parsing (json.loads of the line)", per_record_us(json.loads, lines)),
        ("field mapping (record -> Interaction)", per_record_us(monitor.fields.interaction, records)),
        ("Checker.check_exchange on the reply", per_record_us(lambda e: monitor.checker.check_exchange(e, monitor.expect),
                                                              exchanges)),
        ("masking the user message", per_record_us(monitor.detector.mask, [i.user for i in interactions])),
        ("Monitor.observe (checks, masking, log record, counters)", per_record_us(monitor.observe, interactions)),
    ]
    monitor.close()
    print(f"where a record's time goes ({count:,} records, CPU us per record, each step timed alone):")
    for label, micros in steps:
        print(f"  {label:<58} {micros:6.1f} us")
    if log.exists():
        log.unlink()
    from pytest_llmops.cli.monitor import _check_lines
    from pytest_llmops.monitor.input import read_file

    options = monitor_settings(settings, {"log_file": str(log)})
    whole_us = run_monitor(path, log)[0] / count * 1e6
    log.unlink()
    monitor = cli_monitor(settings, options, "bench-profile")
    profiler = cProfile.Profile()
    profiler.enable()
    _check_lines(monitor, read_file(path, options.max_line_bytes), options.max_line_bytes, threading.Event())
    monitor.close()
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in stats.values())
    print(f"`llmops monitor`'s whole path: {whole_us:.1f} us a record; the {profile_top} functions with the most "
          f"own time in a profile of it (share of the profiled time, and that share of {whole_us:.1f} us):")
    ranked = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)
    for (file, line, name), (_, calls, own, cumulative, _) in ranked[:profile_top]:
        where = f"{'/'.join(Path(file).parts[-2:])}:{line}" if line else "built-in"
        print(f"  {own / total:6.1%} own ({own / total * whole_us:5.1f} us), {cumulative / total:6.1%} with callees"
              f"  {name} ({where}), {calls / count:.1f} calls a record")


def child(mode: str, path: Path, log: Path) -> None:
    """Runs in a fresh process: one measurement, printed as JSON."""
    pin_one_core()
    if mode == "parts":
        parts(path, log)
        return
    if mode == "floor":
        seconds, count = floor(path), None
    elif mode == "detector":
        seconds, count = detector_only(path)
    else:
        seconds, count = run_monitor(path, log)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "count": count, "peak_rss_mb": round(peak_kb / 1024, 1)}))


def measure(mode: str, path: Path, log: Path) -> dict:
    if log.exists():
        log.unlink()
    output = subprocess.run([sys.executable, __file__, "--child", mode, str(path), str(log)],
                            check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def show_parts(path: Path, log: Path) -> None:
    """The per-step costs and the profile, from a fresh pinned process (printed as it prints them)."""
    if log.exists():
        log.unlink()
    print(subprocess.run([sys.executable, __file__, "--child", "parts", str(path), str(log)],
                         check=True, capture_output=True, text=True).stdout, end="")


def api_cost(calls: int = 50_000) -> float:
    """CPU microseconds per Monitor.record() call with the log file on (its writes included)."""
    from pytest_llmops.config import load_settings
    from pytest_llmops.monitor.service import Monitor
    from pytest_llmops.monitor.settings import monitor_settings

    pin_one_core()
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "pyproject.toml").write_text("[tool.llmops]\n")
        settings = load_settings(Path(folder))
        with Monitor(settings, monitor_settings(settings), console=False,
                     logger_name="pytest_llmops.monitor.bench-api") as monitor:
            user = "Where is my order #482913? It was due yesterday."
            reply = REPLIES[0].format(order=482913)
            started = clock()
            for n in range(calls):
                monitor.record(user, reply, 812.5, conversation_id="conv-1", user_id="u_1f2e3d4c5b6a7988")
            per_call = (clock() - started) / calls * 1e6
            walls = []
            for n in range(calls):  # wall time of each call: what a request waits, batch writes included
                before = time.perf_counter()
                monitor.record(user, reply, 812.5, conversation_id="conv-1", user_id="u_1f2e3d4c5b6a7988")
                walls.append((time.perf_counter() - before) * 1e6)
    walls.sort()
    print(f"Monitor.record() wall time per call: p50 {walls[len(walls) // 2]:.0f} us, "
          f"p99 {walls[int(len(walls) * 0.99)]:.0f} us, max {walls[-1] / 1000:.1f} ms "
          f"(the writes happen on the log thread; the tail is GIL hand-offs and garbage collection)")
    return per_call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the floor and the monitor (default 3)")
    parser.add_argument("--pii-kinds", metavar="LIST",
                        help="set [tool.llmops.pii] kinds, e.g. email,phone (default: the project default)")
    parser.add_argument("--api-only", action="store_true", help="only the Monitor.record() figures")
    parser.add_argument("--parts", type=int, default=30_000, metavar="N",
                        help="records for the per-step costs and the profile (default 30,000)")
    parser.add_argument("--parts-only", action="store_true", help="only the per-step costs and the profile")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "PATH", "LOG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    if args.api_only:
        print(f"Monitor.record() in a request path: {api_cost():.1f} us CPU per call (log file on, console off)")
        return
    if args.parts_only:
        with tempfile.TemporaryDirectory(prefix="llmops-bench-") as folder:
            root = Path(folder)
            (root / "pyproject.toml").write_text("[tool.llmops]\n")
            generate(root / "parts.jsonl", args.parts)
            floor_run = measure("floor", root / "parts.jsonl", root / "monitor.log")
            print(f"floor, json.loads loop: {floor_run['seconds'] / args.parts * 1e6:.1f} us a record")
            show_parts(root / "parts.jsonl", root / "monitor.log")
        return
    with tempfile.TemporaryDirectory(prefix="llmops-bench-") as folder:
        root = Path(folder)
        kinds = f"[tool.llmops.pii]\nkinds = {json.dumps(args.pii_kinds.split(','))}\n" if args.pii_kinds else ""
        (root / "pyproject.toml").write_text("[tool.llmops]\n" + kinds)
        big, small, log = root / "big.jsonl", root / "small.jsonl", root / "monitor.log"
        generate(big, args.records)
        generate(small, args.small)
        size_mb = big.stat().st_size / 1e6
        print(f"input: {args.records:,} records, {size_mb:.0f} MB (and {args.small:,} records for the memory check); "
              f"load average {load()}; {json_library()}")
        floors, monitors, ratios = [], [], []
        for _ in range(args.repeat):  # floor and monitor back to back, so that each ratio sees the same machine
            floor_run = measure("floor", big, log)
            monitor_run = measure("monitor", big, log)
            floors.append(args.records / floor_run["seconds"])
            monitors.append(monitor_run["count"] / monitor_run["seconds"])
            ratios.append(floors[-1] / monitors[-1])
        small_run = measure("monitor", small, log)
        detector_run = measure("detector", small, log)
        per_call = api_cost()
        generate(root / "parts.jsonl", args.parts)
        show_parts(root / "parts.jsonl", log)
    print(f"{args.repeat} runs, min / median / max (load average now {load()}):")
    print(f"floor, json.loads loop:       {spread(floors, '{:,.0f}')} records/s")
    print(f"llmops monitor (checks+log):  {spread(monitors, '{:,.0f}')} records/s")
    print(f"monitor / floor (goal <= 3x): {spread(ratios, '{:.2f}x')}  (each the floor's rate over the monitor's, "
          f"in the same run)")
    detector_us = detector_run["seconds"] / detector_run["count"] * 1e6
    print(f"  of which PII detection (user + reply): {detector_us:.1f} us of "
          f"{1e6 / statistics.median(monitors):.1f} us per record; the floor is {1e6 / statistics.median(floors):.1f} us")
    print(f"peak RSS, {args.small:,} records:  {small_run['peak_rss_mb']:8.1f} MB")
    print(f"peak RSS, {args.records:,} records: {monitor_run['peak_rss_mb']:8.1f} MB"
          f" (ratio {monitor_run['peak_rss_mb'] / small_run['peak_rss_mb']:.2f})")
    print(f"Monitor.record() in a request path: {per_call:.1f} us per call (CPU time; log file on, console off)")


def json_library() -> str:
    """Which JSON library the monitor parses and logs with: orjson with the `fast` extra, else json."""
    try:
        from pytest_llmops import jsonl
    except ImportError:
        return "pytest_llmops not importable"
    if getattr(jsonl, "orjson", None) is None:
        return "JSON: the standard library (orjson not installed or an older checkout)"
    return f"JSON: orjson {jsonl.orjson.__version__} (the fast extra), json as fallback"


def load() -> str:
    """The 1, 5 and 15 minute load averages: on a shared machine, what the figures were measured beside."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def spread(values: list[float], form: str) -> str:
    """min / median / max of ``values``, each written with ``form``."""
    return " / ".join(form.format(value) for value in (min(values), statistics.median(values), max(values)))

if __name__ == "__main__":
    main()

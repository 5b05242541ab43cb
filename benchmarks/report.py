"""What reports cost: a --llmops run with and without the results JSON and the HTML report.

Generates a suite of N two-turn cases (the built-in stub, no added latency, so the run
is all overhead), runs pytest on it in a fresh process for each variant, several times,
and prints median wall times, the ratios to the plain run, and the sizes of the files.
First times the reports' own work in process (results model, JSON file, HTML for
1000 cases; one transcript with 100 kB replies), which noise on a shared machine barely
touches. Bounded: a few minutes.

    python benchmarks/report.py [CASES] [REPEATS]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VARIANTS = {
    "plain": [],
    "results JSON": ["--llmops-results=results.json"],
    "HTML report": ["--html=report.html", "--self-contained-html"],
    "both": ["--llmops-results=results.json", "--html=report.html", "--self-contained-html"],
    "plain, -n 2": ["-n", "2"],
    "both, -n 2": ["--llmops-results=results.json", "--html=report.html", "--self-contained-html", "-n", "2"],
}


def make_suite(root: Path, cases: int) -> None:
    (root / "pyproject.toml").write_text("[tool.llmops]\n", encoding="utf-8")
    folder = root / "eval_cases"
    folder.mkdir()
    per_file = 50
    for start in range(0, cases, per_file):
        entries = [{"id": f"case-{n}", "turns": [{"user": "Hello", "expect": {"contains": ["help"]}},
                                                 {"user": "How long do I have to return an item?"}]}
                   for n in range(start, min(start + per_file, cases))]
        (folder / f"suite_{start // per_file}.yaml").write_text(json.dumps({"cases": entries}), encoding="utf-8")


def run_once(root: Path, extra: list[str]) -> float:
    started = time.perf_counter()
    command = [sys.executable, "-m", "pytest", "--llmops", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest"]
    completed = subprocess.run([*command, *extra],
                               cwd=root, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"run failed ({extra}):\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}")
    return elapsed


def bench_runs(cases: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory(prefix="llmops-bench-report-") as tmp:
        root = Path(tmp)
        make_suite(root, cases)
        times: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for _ in range(repeats):  # interleaved, so drift on a shared machine hits every variant alike
            for name, extra in VARIANTS.items():
                times[name].append(run_once(root, extra))
        base = statistics.median(times["plain"])
        print(f"{cases} cases x 2 turns, median of {repeats} runs each (fresh pytest process per run)")
        for name, values in times.items():
            median = statistics.median(values)
            print(f"  {name:<14} {median:6.2f} s   x{median / base:4.2f} of plain")
        print(f"  results.json   {(root / 'results.json').stat().st_size / 1024:8.0f} KiB")
        print(f"  report.html    {(root / 'report.html').stat().st_size / 1024:8.0f} KiB")


def synthetic_record(n: int, reply: str) -> dict:
    turn = {"turn": 1, "user": "How long do I have to return an item?", "reply": reply, "latency_ms": 1.5,
            "ttft_ms": None, "status": None, "error": None, "error_kind": None, "retries": 0, "passed": True,
            "checks": [{"check": name, "passed": True, "expected": "e", "actual": "a", "pii_kinds": []}
                       for name in ("no_error", "max_latency_ms", "no_pii", "contains")]}
    return {"nodeid": f"eval_cases/x.yaml::case-{n}", "case_id": f"case-{n}", "file": "eval_cases/x.yaml",
            "line": n, "description": "d", "tags": ["smoke"], "target": {"name": "stub", "kind": "stub"},
            "passed": True, "turns": [dict(turn, turn=1), dict(turn, turn=2)], "skipped_turns": 0}


def bench_in_process(cases: int) -> None:
    """The reports' own CPU cost, without pytest or process start-up noise."""
    from pytest_llmops.clock import utc_now
    from pytest_llmops.report.html import render_summary, render_transcript
    from pytest_llmops.report.summary import build_summary
    from pytest_llmops.results import CaseResult, RunInfo, RunResults, TargetInfo, ToolInfo, write_results

    reply = "You can return any item within 30 days of delivery for a full refund."
    records = [synthetic_record(n, reply) for n in range(cases)]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        results_cases = [CaseResult.model_validate({**r, "outcome": "passed", "duration_s": 0.01}) for r in records]
        now = utc_now()
        results = RunResults(tool=ToolInfo(version="0.1.0"), summary=build_summary(results_cases),
                             run=RunInfo(started_at=now, finished_at=now, duration_s=1, concurrency=8,
                                         cases_dir="eval_cases", target=TargetInfo(name="stub", kind="stub")),
                             cases=results_cases)
        write_results(Path(tmp) / "results.json", results)
        build_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    for record in results_cases:
        render_transcript(record)
    render_summary(results)
    render_ms = (time.perf_counter() - started) * 1000
    print(f"in process, {cases} cases x 2 turns: results model + summary + JSON file {build_ms:.1f} ms "
          f"({build_ms / cases:.3f} ms/case); HTML transcripts + summary {render_ms:.1f} ms "
          f"({render_ms / cases:.3f} ms/case)")
    long_record = synthetic_record(0, "0123456789" * 10_000)
    rounds = 200
    started = time.perf_counter()
    for _ in range(rounds):
        render_transcript(long_record)
    per = (time.perf_counter() - started) / rounds * 1000
    print(f"render_transcript with two 100 kB replies: {per:.3f} ms per case ({rounds} rounds)")


if __name__ == "__main__":
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    bench_in_process(1000)
    bench_runs(cases, repeats)

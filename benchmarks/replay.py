"""How close concurrent replay gets to the network's limit, and what each case costs on top of pytest.

Run: ``python benchmarks/replay.py`` (a few minutes). It prints two tables.

1. Throughput: ``llmops serve-stub`` with a fixed added latency L on 127.0.0.1, N single-turn
   cases over the ``openai`` target at concurrency C, run as ``pytest --llmops``. The ideal
   is N*L/C (every slot always busy, zero overhead). Printed: the whole process (interpreter,
   imports, collection, report) and pytest's own session time, each next to the ideal.
2. Per-case overhead with L=0 for N=1000 and N=10000: ``pytest --llmops`` with the built-in
   stub (the plugin's own cost), and over HTTP to serve-stub (plus a real HTTP round trip),
   next to a plain pytest run of N trivial parametrized tests (the pytest floor). Also the
   marginal cost per case, (T(big) - T(small)) / (big - small), which cancels start-up.

The machine may be shared and noisy: compare ratios within one run, not across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES_PER_FILE = 100
SESSION_TIME = re.compile(r" in ([0-9.]+)s")
# Children may cache bytecode (as a developer's or CI's machine does), even if this shell says not to.
CHILD_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def children_cpu() -> float:
    """CPU seconds (user + system) used so far by finished child processes."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def write_cases(folder: Path, count: int) -> None:
    """``count`` single-turn cases, 100 to a file, each a different message the stub answers."""
    cases_dir = folder / "eval_cases"
    cases_dir.mkdir(parents=True, exist_ok=True)
    for start in range(0, count, CASES_PER_FILE):
        lines = ["cases:"]
        for n in range(start, min(start + CASES_PER_FILE, count)):
            lines += [f"  - id: c{n:05d}", f"    turns: [{{user: 'How long do I have to return item {n}?',"
                                               " expect: {contains: ['30 days']}}]"]
        (cases_dir / f"cases_{start // CASES_PER_FILE:04d}.yaml").write_text("\n".join(lines) + "\n")


# Times the replay phase alone: from the end of collection to the last item's result.
PHASE_CONFTEST = """
import json, pathlib, time
import pytest

STARTED = {}

def pytest_collection_finish(session):
    STARTED["at"] = time.perf_counter()

@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session):
    result = yield
    seconds = time.perf_counter() - STARTED["at"]
    pathlib.Path(__file__).with_name("phase.json").write_text(json.dumps({"replay_s": seconds}))
    return result
"""


def write_project(folder: Path, count: int, target_toml: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(f"[tool.llmops]\nmax_latency_ms = 60000\n{target_toml}")
    (folder / "conftest.py").write_text(PHASE_CONFTEST)
    write_cases(folder, count)
    return folder


def replay_phase(folder: Path) -> float:
    return json.loads((folder / "phase.json").read_text())["replay_s"]


def write_floor(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    (folder / "test_floor.py").write_text(
        "import pytest\n\n\n@pytest.mark.parametrize('n', range(%d))\ndef test_trivial(n):\n    assert n >= 0\n"
        % count)
    return folder


def run_pytest(folder: Path, *args: str) -> tuple[float, float, float]:
    """(process wall s, pytest's reported session s, process CPU s) for one quiet pytest run in ``folder``."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    cpu_before = children_cpu()
    started = time.perf_counter()
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, env=CHILD_ENV)
    wall = time.perf_counter() - started
    cpu = children_cpu() - cpu_before
    tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if done.returncode != 0:
        raise SystemExit(f"pytest failed in {folder} ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    match = SESSION_TIME.search(tail)
    return wall, float(match.group(1)) if match else float("nan"), cpu


class ServeStub:
    """``llmops serve-stub`` as a subprocess on a free port."""

    def __init__(self, latency_ms: float, *options: str):
        self.process = subprocess.Popen([sys.executable, "-m", "pytest_llmops.cli", "serve-stub", "--port", "0",
                                         "--latency-ms", str(latency_ms), *options], stdout=subprocess.PIPE,
                                        text=True, env=CHILD_ENV)
        line = self.process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        if not match:
            self.process.kill()
            raise SystemExit(f"serve-stub did not start: {line!r}")
        self.url = match.group(0)

    def __enter__(self) -> "ServeStub":
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(10)


def openai_toml(url: str) -> str:
    return f'target = "bot"\n[tool.llmops.targets.bot]\ntype = "openai"\nbase_url = "{url}/v1"\nmodel = "stub"\n'


def throughput(root: Path, count: int, latency_ms: float, concurrency: int, repeats: int) -> None:
    ideal = count * latency_ms / 1000 / concurrency
    print(f"\n## Throughput: N={count} single-turn cases, L={latency_ms:g} ms, C={concurrency} "
          f"(openai target -> serve-stub)")
    print(f"ideal N*L/C = {ideal:.2f} s")
    cpu_start = children_cpu()
    pytest_cpu = 0.0
    with ServeStub(latency_ms) as stub:
        project = write_project(root / f"throughput_{count}", count, openai_toml(stub.url))
        print("| run | process wall | vs ideal | pytest session | vs ideal | replay phase | vs ideal "
              "| pytest process CPU |")
        print("|---|---|---|---|---|---|---|---|")
        for attempt in range(1, repeats + 1):
            wall, session, cpu = run_pytest(project, "--llmops", "--llmops-concurrency", str(concurrency))
            pytest_cpu += cpu
            phase = replay_phase(project)
            print(f"| {attempt} | {wall:.2f} s | {wall / ideal:.2f}x | {session:.2f} s | {session / ideal:.2f}x "
                  f"| {phase:.2f} s | {phase / ideal:.2f}x | {cpu:.2f} s ({cpu / count * 1000:.2f} ms a case) |")
    server_cpu = children_cpu() - cpu_start - pytest_cpu
    print(f"serve-stub CPU over all runs: {server_cpu:.2f} s ({server_cpu / count / repeats * 1000:.2f} ms a request)")


def overhead(root: Path, sizes: list[int], repeats: int) -> None:
    print("\n## Per-case overhead, L=0 (best of %d)" % repeats)
    rows: dict[str, dict[int, float]] = {"pytest floor (trivial parametrized tests)": {},
                                         "pytest --llmops, built-in stub": {},
                                         "pytest --llmops, openai target -> serve-stub": {}}
    cpu_rows: dict[str, dict[int, float]] = {label: {} for label in rows}
    with ServeStub(0) as stub:
        for size in sizes:
            floor = write_floor(root / f"floor_{size}", size)
            builtin = write_project(root / f"stub_{size}", size, "")
            http = write_project(root / f"http_{size}", size, openai_toml(stub.url))
            runs = {"pytest floor (trivial parametrized tests)": (floor, ()),
                    "pytest --llmops, built-in stub": (builtin, ("--llmops",)),
                    "pytest --llmops, openai target -> serve-stub": (http, ("--llmops",))}
            for label, (folder, args) in runs.items():
                rows[label][size] = min(run_pytest(folder, *args)[0] for _ in range(repeats))
                cpu_rows[label][size] = run_pytest(folder, *args)[2]
    floor_row = rows["pytest floor (trivial parametrized tests)"]
    small, big = min(sizes), max(sizes)
    header = " | ".join(f"N={n}: wall, per case, vs floor" for n in sizes)
    print(f"| run | {header} | marginal per case ({small}->{big}) | vs floor |")
    print("|---|" + "---|" * len(sizes) + "---|---|")
    floor_marginal = (floor_row[big] - floor_row[small]) / (big - small)
    for label, times in rows.items():
        cells = " | ".join(f"{times[n]:.2f} s, {times[n] / n * 1e6:.0f} µs, {times[n] / floor_row[n]:.2f}x"
                           for n in sizes)
        marginal = (times[big] - times[small]) / (big - small)
        print(f"| {label} | {cells} | {marginal * 1e6:.0f} µs | {marginal / floor_marginal:.2f}x |")
    print("\nCPU seconds of the pytest process (one more run each; on a loaded machine CPU is steadier than wall):")
    for label, times in cpu_rows.items():
        cells = ", ".join(f"N={n}: {times[n]:.2f} s ({times[n] / cpu_rows['pytest floor (trivial parametrized tests)'][n]:.2f}x floor)"
                          for n in sizes)
        print(f"- {label}: {cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1000, help="N for the throughput run")
    parser.add_argument("--latency-ms", type=float, default=100, help="L added by serve-stub")
    parser.add_argument("--concurrency", type=int, default=32, help="C")
    parser.add_argument("--sizes", default="1000,10000", help="N values for the overhead runs")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each measurement")
    parser.add_argument("--skip-overhead", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"# benchmarks/replay.py: Python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"load average {load:.1f}")
    with tempfile.TemporaryDirectory(prefix="llmops-bench-") as folder:
        root = Path(folder)
        throughput(root, args.cases, args.latency_ms, args.concurrency, args.repeats)
        if not args.skip_overhead:
            overhead(root, [int(n) for n in args.sizes.split(",")], args.repeats)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

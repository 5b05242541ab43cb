"""Issue 19's replay goals, each printed next to its floor measured in the same run.

Run: ``python benchmarks/replay.py`` (about ten minutes; ``--only PART`` for one part, ``--help`` for sizes).

1. Throughput: N single-turn cases, a plain threaded chat server (``benchmarks/chat_server.py``,
   the standard library only, in its own process) answering after L ms, concurrency C. The
   ideal is N*L/C; the floor is a plain thread pool of C threads sharing one ``httpx.Client``
   sending the same requests. Then ``pytest --llmops`` at C and at 2C: pytest's session and
   the whole process, each against the ideal. Goals: session <= 1.25x ideal, process
   <= 1.5x, and 2C at least as fast as C.
2. xdist: N cases, L = 1 s, C = 8: ``pytest --llmops`` alone and with ``-n 2``. Goal: -n 2
   never slower.
3. CPU per case with the built-in stub at 0 ms (and over HTTP to the chat server at 0 ms),
   and collection per case: the marginal cost between N=1000 and N=10000 (cancels
   start-up), next to a plain pytest run of as many trivial tests. Goals: our CPU <= 1 ms
   a case beyond pytest's, collection <= 0.3 ms a case beyond pytest's, overhead within 2x
   of the plain run, peak RSS at 10,000 cases <= 300 MB.

Every ``pytest`` measured runs where a user's would: in a virtual environment holding this
project as ``pip install`` gives it (its dependencies, no test extras) and pytest-xdist,
created once under ``--user-venv`` (editable, so it always runs this checkout). The
development environment also holds hypothesis, Faker and trio, whose pytest plugins load
in every run (hypothesis's end-of-run hook walks every live object): their cost is not
the plugin's. ``--python=PATH`` measures with another interpreter instead.

Every figure is min / median / max over ``--repeats`` runs, runs of the compared commands
interleaved; the load average is printed beside them. The machine is shared: compare the
ratios within one run. ``--baseline-code DIR`` (a checkout of an older commit) also runs
every ``pytest --llmops`` measurement with that code (``PYTHONPATH=DIR``), each right after
the current code's, so a before/after comparison shares the same minute of machine load.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent
CASES_PER_FILE = 100
SESSION_TIME = re.compile(r" in ([0-9.]+)s")
# Children may cache bytecode (as a developer's or CI's machine does), even if this shell says not to.
CHILD_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}

# Runs a module as ``python -m`` would and writes the process's own CPU time and peak RSS
# (VmHWM) on the way out: rusage of a child would count its parent's RSS at fork time.
MEASURED = """
import os, resource, runpy, sys
try:
    sys.argv = sys.argv[1:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
finally:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["BENCH_OUT"], "w") as out:
        out.write(f"{usage.ru_utime + usage.ru_stime} {peak}")
"""


#: the interpreter of every measured pytest run (set by main: the user's install, or --python)
PYTHON = sys.executable

#: the code versions measured: ("", no change) and, with --baseline-code, ("baseline", PYTHONPATH=DIR)
VARIANTS: list[tuple[str, dict[str, str]]] = [("", {})]


def labelled(label: str, variant: str) -> str:
    return f"{label} [{variant}]" if variant else label


class Run:
    """One finished pytest process: wall, pytest's session time, its own CPU and peak RSS."""

    def __init__(self, folder: Path, *args: str, env: dict[str, str] | None = None):
        out = folder / ".bench-out"
        command = [PYTHON, "-c", MEASURED, "pytest", "-q", "-p", "no:cacheprovider", *args]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True,
                              env={**CHILD_ENV, **(env or {}), "BENCH_OUT": str(out)})
        self.wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"pytest failed in {folder} ({done.returncode}):\n{done.stdout[-3000:]}\n"
                             f"{done.stderr[-2000:]}")
        tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        match = SESSION_TIME.search(tail)
        self.session = float(match.group(1)) if match else float("nan")
        cpu, peak_kib = out.read_text().split()
        self.cpu, self.rss_mb = float(cpu), int(peak_kib) / 1024


def spread(values: list[float], unit: str = "s", digits: int = 2) -> str:
    return (f"{statistics.median(values):.{digits}f} {unit} "
            f"({min(values):.{digits}f}-{max(values):.{digits}f})")


def ratio(values: list[float], base: float) -> str:
    return spread([value / base for value in values], "x")


def user_install(venv: Path) -> str:
    """The Python of ``venv``, created with this checkout (editable) and pytest-xdist if it is not there yet."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv}: pip install -e {REPOSITORY} pytest-xdist (once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", str(REPOSITORY), "pytest-xdist"],
                       check=True, env=CHILD_ENV)
    return str(python)


def pytest_plugins_of(python: str) -> str:
    """The pytest plugins installed for ``python`` (printed beside the figures: they all load in every run)."""
    listing = subprocess.run([python, "-c", "import importlib.metadata as m; print(', '.join(sorted({d.metadata['Name'] "
                              "for d in m.distributions() for e in d.entry_points if e.group == 'pytest11'})))"],
                             capture_output=True, text=True, check=True)
    return listing.stdout.strip()


def write_cases(folder: Path, count: int) -> Path:
    """``count`` single-turn cases, 100 to a file, each a different message."""
    cases = folder / "eval_cases"
    cases.mkdir(parents=True, exist_ok=True)
    for start in range(0, count, CASES_PER_FILE):
        lines = ["cases:"]
        for n in range(start, min(start + CASES_PER_FILE, count)):
            lines += [f"  - id: c{n:05d}", f"    turns: [{{user: 'How long do I have to return item {n}?',"
                                               " expect: {contains: ['30 days']}}]"]
        (cases / f"cases_{start // CASES_PER_FILE:04d}.yaml").write_text("\n".join(lines) + "\n")
    return folder


def project(folder: Path, count: int, url: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = "" if url is None else (f'target = "bot"\n[tool.llmops.targets.bot]\ntype = "openai"\n'
                                     f'base_url = "{url}/v1"\nmodel = "bench"\n')
    (folder / "pyproject.toml").write_text(f"[tool.llmops]\nmax_latency_ms = 60000\n{target}")
    return write_cases(folder, count)


def plain_pytest(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    (folder / "test_floor.py").write_text(
        "import pytest\n\n\n@pytest.mark.parametrize('n', range(%d))\ndef test_trivial(n):\n    assert n >= 0\n"
        % count)
    return folder


class ChatServerProcess:
    """``benchmarks/chat_server.py`` in a process of its own, so its CPU is not ours."""

    def __init__(self, latency_ms: float):
        self.process = subprocess.Popen([sys.executable, str(HERE / "chat_server.py"), "--latency-ms",
                                         str(latency_ms)], stdout=subprocess.PIPE, text=True, env=CHILD_ENV)
        line = self.process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        if not match:
            self.process.kill()
            raise SystemExit(f"the chat server did not start: {line!r}")
        self.url = match.group(0)

    def __enter__(self) -> "ChatServerProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(10)


def thread_pool_floor(url: str, count: int, concurrency: int) -> float:
    """Wall seconds for ``count`` chat requests from ``concurrency`` threads sharing one httpx.Client."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(base_url=url, timeout=60, limits=limits) as client:
        def ask(n: int) -> str:
            response = client.post("/v1/chat/completions", json={
                "model": "bench", "messages": [{"role": "user", "content": f"How long do I have to return item {n}?"}]})
            response.raise_for_status()
            return response.json()["choices"][0]["message"]["content"]

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            replies = list(pool.map(ask, range(count)))
        seconds = time.perf_counter() - started
    assert all("30 days" in reply for reply in replies)
    return seconds


def throughput(root: Path, count: int, latency_ms: float, concurrency: int, repeats: int) -> None:
    ideal = count * latency_ms / 1000 / concurrency
    print(f"\n## 1. Throughput: N={count} single-turn cases, L={latency_ms:g} ms, plain threaded chat server")
    print(f"ideal N*L/C at C={concurrency}: {ideal:.2f} s (at C={2 * concurrency}: {ideal / 2:.2f} s); "
          f"load average {os.getloadavg()[0]:.1f}")
    floor: list[float] = []
    runs: dict[tuple[str, int], list[Run]] = {(variant, c): [] for variant, _ in VARIANTS
                                              for c in (concurrency, 2 * concurrency)}
    with ChatServerProcess(latency_ms) as server:
        folder = project(root / "throughput", count, server.url)
        for _ in range(repeats):
            floor.append(thread_pool_floor(server.url, count, concurrency))
            for c in (concurrency, 2 * concurrency):
                for variant, env in VARIANTS:
                    runs[variant, c].append(Run(folder, "--llmops", "--llmops-concurrency", str(c), env=env))
    print("| run | wall | vs ideal at C | CPU of the process |")
    print("|---|---|---|---|")
    print(f"| thread pool, one httpx.Client, C={concurrency} (floor) | {spread(floor)} | {ratio(floor, ideal)} | |")
    for (variant, c), done in runs.items():
        cpu = spread([run.cpu for run in done])
        print(f"| {labelled(f'pytest --llmops C={c}: session', variant)} | {spread([r.session for r in done])} "
              f"| {ratio([r.session for r in done], ideal)} | {cpu} |")
        print(f"| {labelled(f'pytest --llmops C={c}: whole process', variant)} | {spread([r.wall for r in done])} "
              f"| {ratio([r.wall for r in done], ideal)} | |")
    for variant, _ in VARIANTS:
        faster = [a.wall / b.wall for a, b in zip(runs[variant, 2 * concurrency], runs[variant, concurrency])]
        print(f"{labelled(f'C={2 * concurrency} / C={concurrency}', variant)}, whole process, run by run: "
              f"{spread(faster, 'x')} (<= 1 means more concurrency is not slower)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def xdist(root: Path, count: int, repeats: int) -> None:
    latency_ms, concurrency = 1000, 8
    ideal = count * latency_ms / 1000 / concurrency
    print(f"\n## 2. xdist: N={count} cases, L={latency_ms} ms, C={concurrency} per process "
          f"(ideal without xdist {ideal:.2f} s, with -n 2 {ideal / 2:.2f} s); load average {os.getloadavg()[0]:.1f}")
    alone: dict[str, list[Run]] = {variant: [] for variant, _ in VARIANTS}
    spread_out: dict[str, list[Run]] = {variant: [] for variant, _ in VARIANTS}
    with ChatServerProcess(latency_ms) as server:
        folder = project(root / "xdist", count, server.url)
        for _ in range(repeats):
            for variant, env in VARIANTS:
                alone[variant].append(Run(folder, "--llmops", "--llmops-concurrency", str(concurrency), env=env))
                spread_out[variant].append(Run(folder, "--llmops", "--llmops-concurrency", str(concurrency),
                                               "-n", "2", env=env))
    print("| run | whole process | pytest session |")
    print("|---|---|---|")
    for variant, _ in VARIANTS:
        for label, done in (("without xdist (floor)", alone[variant]), ("-n 2", spread_out[variant])):
            print(f"| {labelled(label, variant)} | {spread([r.wall for r in done])} "
                  f"| {spread([r.session for r in done])} |")
        ratios = [b.wall / a.wall for a, b in zip(alone[variant], spread_out[variant])]
        print(f"{labelled('-n 2 / without', variant)}, run by run: {spread(ratios, 'x')} "
              "(<= 1 means xdist is not slower)")


def per_case(root: Path, sizes: tuple[int, int], repeats: int) -> None:
    small, big = sizes
    print(f"\n## 3. Our cost per case: built-in stub at 0 ms, N={small} and N={big}; "
          f"load average {os.getloadavg()[0]:.1f}")
    server = ChatServerProcess(0)
    ours = {"pytest --llmops, built-in stub": lambda n: (project(root / f"stub{n}", n), ("--llmops",)),
            "pytest --llmops, openai target -> chat server at 0 ms": lambda n: (
                project(root / f"http{n}", n, server.url), ("--llmops",)),
            "collection: pytest --llmops --collect-only": lambda n: (root / f"stub{n}",
                                                                     ("--llmops", "--collect-only"))}
    labels = {"plain pytest, trivial tests (floor)": (lambda n: (plain_pytest(root / f"plain{n}", n), ()), {}),
              "collection floor: plain pytest --collect-only": (lambda n: (root / f"plain{n}", ("--collect-only",)),
                                                                {})}
    for label, make in ours.items():
        for variant, env in VARIANTS:
            labels[labelled(label, variant)] = (make, env)
    done: dict[str, dict[int, list[Run]]] = {label: {small: [], big: []} for label in labels}
    with server:
        for _ in range(repeats):
            for n in sizes:
                for label, (make, env) in labels.items():
                    folder, args = make(n)
                    done[label][n].append(Run(folder, *args, env=env))
    print("| run | CPU per case, marginal (min / median / max) | wall per case, marginal | "
          f"peak RSS at N={big} |")
    print("|---|---|---|---|")
    marginal: dict[str, list[float]] = {}
    for label, by_size in done.items():
        cpu = [(b.cpu - a.cpu) / (big - small) * 1000 for a, b in zip(by_size[small], by_size[big])]
        wall = [(b.wall - a.wall) / (big - small) * 1000 for a, b in zip(by_size[small], by_size[big])]
        marginal[label] = cpu
        rss = [run.rss_mb for run in by_size[big]]
        print(f"| {label} | {spread(cpu, 'ms', 3)} | {spread(wall, 'ms', 3)} | {spread(rss, 'MB', 0)} |")
    plain, plain_collect = (marginal["plain pytest, trivial tests (floor)"],
                            marginal["collection floor: plain pytest --collect-only"])
    for variant, _ in VARIANTS:
        stub = marginal[labelled("pytest --llmops, built-in stub", variant)]
        http = marginal[labelled("pytest --llmops, openai target -> chat server at 0 ms", variant)]
        collect = marginal[labelled("collection: pytest --llmops --collect-only", variant)]
        print(f"{labelled('our CPU per case beyond pytest', variant)} (goal <= 1 ms): "
              f"{spread([a - b for a, b in zip(stub, plain)], 'ms', 3)}")
        print(f"{labelled('our collection CPU per case beyond pytest', variant)} (goal <= 0.3 ms): "
              f"{spread([a - b for a, b in zip(collect, plain_collect)], 'ms', 3)}")
        print(f"{labelled('--llmops vs plain pytest, CPU per case', variant)} (goal <= 2x): built-in stub "
              f"{spread([a / b for a, b in zip(stub, plain)], 'x')}, over HTTP "
              f"{spread([a / b for a, b in zip(http, plain)], 'x')}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1000, help="N for the throughput run")
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--xdist-cases", type=int, default=64)
    parser.add_argument("--sizes", default="1000,10000", help="the two N of the per-case runs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=["throughput", "xdist", "per-case"], help="one part alone")
    parser.add_argument("--user-venv", type=Path, default=Path(tempfile.gettempdir()) / "llmops-bench-user-venv",
                        help="the user's install to measure in (created if missing)")
    parser.add_argument("--python", help="measure with this interpreter instead of the user's install")
    parser.add_argument("--baseline-code", metavar="DIR", type=Path,
                        help="also measure this checkout of pytest-llmops (PYTHONPATH=DIR), interleaved")
    args = parser.parse_args()
    if args.baseline_code:
        if not (args.baseline_code / "pytest_llmops" / "__init__.py").is_file():
            raise SystemExit(f"--baseline-code {args.baseline_code}: no pytest_llmops package there")
        VARIANTS.append(("baseline", {"PYTHONPATH": str(args.baseline_code.resolve())}))
    global PYTHON
    PYTHON = args.python or user_install(args.user_venv)
    print(f"# benchmarks/replay.py: Python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}, {threading.active_count()} thread(s)")
    print(f"pytest runs with {PYTHON}; its pytest plugins: {pytest_plugins_of(PYTHON)}")
    sizes = tuple(int(n) for n in args.sizes.split(","))
    with tempfile.TemporaryDirectory(prefix="llmops-goals-") as folder:
        root = Path(folder)
        if args.only in (None, "throughput"):
            throughput(root, args.cases, args.latency_ms, args.concurrency, args.repeats)
        if args.only in (None, "xdist"):
            xdist(root, args.xdist_cases, args.repeats)
        if args.only in (None, "per-case"):
            per_case(root, (sizes[0], sizes[1]), args.repeats)


if __name__ == "__main__":
    main()

"""How long the gate, promote and rollback take, on synthetic results and real git repositories.

Run: python benchmarks/release.py [--cases 100,1000,10000] [--commits 200]
Prints one line per measurement (best of a few runs, seconds). Bounded: well under a
minute on 2 cores at the defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from release_support import GIT_ENV, case, commit_file, git, make_repo, results_doc  # noqa: E402

from pytest_llmops.release.gate import evaluate, render_markdown, render_text  # noqa: E402
from pytest_llmops.release.settings import GateSettings  # noqa: E402
from pytest_llmops.gitrepo import Git  # noqa: E402
from pytest_llmops.release.promote import plan_rollback, promote, rollback  # noqa: E402
from pytest_llmops.results import load_results  # noqa: E402


def best(function, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def results_file(folder: Path, cases: int, commit: str | None = None, failing_every: int = 0) -> Path:
    records = [case(f"case-{i}", "failed" if failing_every and i % failing_every == 0 else "passed",
                    file=f"eval_cases/f{i // 50}.yaml") for i in range(cases)]
    path = folder / f"results-{cases}-{failing_every}.json"
    path.write_text(json.dumps(results_doc(records, commit=commit)))
    return path


def bench_gate(folder: Path, sizes: list[int]) -> None:
    gate = GateSettings(max_p95_latency_ms=5000)
    for size in sizes:
        base_path, now_path = results_file(folder, size), results_file(folder, size, failing_every=10)
        load = best(lambda: load_results(now_path))
        now, base = load_results(now_path), load_results(base_path)
        verdict = evaluate(now, gate, base, "base")
        judge = best(lambda: (render_text(evaluate(now, gate, base, "base"), "r"), render_markdown(verdict, "r")))
        size_mb = now_path.stat().st_size / 1e6
        print(f"gate {size:>6} cases ({size_mb:5.1f} MB): load {load:.3f} s, evaluate+render with baseline {judge:.4f} s")
    largest = results_file(folder, sizes[-1])
    (folder / "pyproject.toml").write_text("[tool.llmops]\n")
    env = {**os.environ, **GIT_ENV}
    cli = best(lambda: subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "gate", str(largest)], cwd=folder,
                                      env=env, capture_output=True, check=True), repeat=2)
    startup = best(lambda: subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "gate", "--help"], cwd=folder,
                                          env=env, capture_output=True, check=True), repeat=2)
    print(f"llmops gate CLI on {sizes[-1]} cases: {cli:.2f} s wall (of which interpreter + imports: {startup:.2f} s)")


def bench_git(folder: Path, commits: int) -> None:
    repo = make_repo(folder / "repo")
    os.environ.update(GIT_ENV)
    for i in range(commits):
        commit_file(repo, f"src/m{i % 20}.py", f"v = {i}\n", f"change {i}")
    head = git(repo, "rev-parse", "HEAD")
    history = int(git(repo, "rev-list", "--count", "HEAD"))  # counted, not assumed: make_repo adds its own
    results = load_results(results_file(folder, 200, commit=head))
    g = Git(repo)
    start = time.perf_counter()
    promote(g, results, GateSettings(max_p95_latency_ms=5000), branch="stable")
    promote_s = time.perf_counter() - start
    for i in range(commits):
        commit_file(repo, f"src/bad{i % 20}.py", f"bad = {i}\n", f"bad change {i}")
    start = time.perf_counter()
    plan = plan_rollback(g)
    plan_s = time.perf_counter() - start
    start = time.perf_counter()
    rollback(g, plan)
    rollback_s = time.perf_counter() - start
    print(f"promote (repo of {history} commits, 200-case results): {promote_s:.3f} s")
    print(f"rollback plan over {len(plan.reverted)} reverted commits: {plan_s:.3f} s; carrying it out: {rollback_s:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="100,1000,10000")
    parser.add_argument("--commits", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_gate(Path(tmp), [int(n) for n in args.cases.split(",")])
        bench_git(Path(tmp), args.commits)


if __name__ == "__main__":
    main()

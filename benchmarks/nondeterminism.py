"""What repeats and cassettes cost and save, measured as ``pytest --llmops`` runs.

Run: ``python benchmarks/nondeterminism.py`` (about a minute). It prints two tables.

1. Repeats: one single-turn case with ``repeat: R`` over the ``openai`` target to the stub
   server on 127.0.0.1 with L ms added per reply, at concurrency 1 and C. The ideal is R*L/C;
   the ratio serial/concurrent shows that the runs really go side by side.
2. Cassettes: N cases of T turns over the same server with L ms per reply: a plain live run,
   the same run recording cassettes (the recording overhead), then the offline replay with
   the server stopped (what a cassette saves), plus cassette bytes per turn.

pytest's own session time ("in X s") is reported, so interpreter start-up is left out.
The machine may be shared and noisy: compare ratios within one run, not across runs.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from pytest_llmops.targets.stub_server import StubServer
from pytest_llmops.targets.stub import StubBehaviour

SESSION_TIME = re.compile(r" in ([0-9.]+)s")
CHILD_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def project(folder: Path, server_url: str, cases: str) -> None:
    (folder / "eval_cases").mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(
        "[tool.llmops]\n[tool.llmops.targets.bot]\ntype = \"openai\"\n"
        f"base_url = \"{server_url}/v1\"\nmodel = \"acme-1\"\n")
    (folder / "eval_cases" / "bench.yaml").write_text(cases)


def pytest_time(folder: Path, *args: str) -> float:
    result = subprocess.run([sys.executable, "-m", "pytest", "--llmops", "--llmops-target", "bot", "-q",
                             "-p", "no:cacheprovider", *args], cwd=folder, env=CHILD_ENV, text=True,
                            capture_output=True, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"pytest failed ({result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return float(SESSION_TIME.findall(result.stdout)[-1])


def bench_repeats(runs: int, latency_ms: float, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, StubServer(StubBehaviour(latency_ms=latency_ms)) as server:
        folder = Path(tmp)
        project(folder, server.url, "cases:\n  - id: returns\n"
                f"    repeat: {runs}\n    turns: [{{user: 'How long do I have to return an item?'}}]\n")
        serial = pytest_time(folder, "--llmops-concurrency", "1")
        parallel = pytest_time(folder, "--llmops-concurrency", str(concurrency))
        peak = server.peak_in_flight
    ideal = runs * latency_ms / 1000
    print(f"\nRepeats: 1 case, repeat {runs}, {latency_ms:g} ms per reply (pytest session time)")
    print(f"  concurrency 1 : {serial:6.2f} s   (ideal {ideal:.2f} s)")
    print(f"  concurrency {concurrency} : {parallel:6.2f} s   (ideal {ideal / concurrency:.2f} s), "
          f"peak in flight {peak}")
    print(f"  speed-up      : {serial / parallel:.1f}x (ideal {concurrency}x)")


def bench_cassettes(cases: int, turns: int, latency_ms: float) -> None:
    messages = ["Where is my order #48212?", "When will it arrive?", "Can I get store credit instead?",
                "How long do I have to return an item?"]
    lines = ["cases:"]
    for n in range(cases):
        lines += [f"  - id: c{n:03d}", "    turns:"]
        lines += [f"      - user: '{messages[t % len(messages)]} ({n}.{t})'" for t in range(turns)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        server = StubServer(StubBehaviour(latency_ms=latency_ms)).start()
        project(folder, server.url, "\n".join(lines) + "\n")
        live = pytest_time(folder)
        recording = pytest_time(folder, "--llmops-record=cas")
        server.stop()
        replay = pytest_time(folder, "--llmops-replay=cas")
        files = list((folder / "cas").rglob("*.yaml"))
        size = sum(path.stat().st_size for path in files)
    exchanges = cases * turns
    print(f"\nCassettes: {cases} cases x {turns} turns, {latency_ms:g} ms per reply, default concurrency "
          "(pytest session time)")
    print(f"  live            : {live:6.2f} s")
    print(f"  live + recording: {recording:6.2f} s   ({recording / live:.2f}x live)")
    print(f"  offline replay  : {replay:6.2f} s   ({live / replay:.1f}x faster than live, server stopped)")
    print(f"  cassettes       : {len(files)} files, {size / 1024:.0f} KiB, {size / exchanges:.0f} bytes per turn "
          "(each turn stores the whole request history)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=48)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--turns", type=int, default=4)
    args = parser.parse_args()
    bench_repeats(args.runs, args.latency_ms, args.concurrency)
    bench_cassettes(args.cases, args.turns, args.latency_ms)


if __name__ == "__main__":
    main()

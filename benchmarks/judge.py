"""What a judge verdict costs us on top of the judge's own latency, and what a cached rerun sends.

Run: ``python benchmarks/judge.py`` (about two minutes). The judge is ``llmops serve-stub``
(a subprocess on 127.0.0.1) answering verdicts after a fixed added latency L. It prints:

1. Per verdict, in this process: ``ask_judge`` through the ``openai`` target (PII masking,
   the prompt, the request, parsing the verdict, the cache) next to the floor, a bare
   ``httpx`` POST of the very same request body to the same server, read as JSON; and our
   own side of each call timed directly: the whole ``ask_judge`` minus the time inside the
   HTTP client's request (so the judge's latency and the network drop out). Min/median/max
   over K verdicts, each a new question (so nothing is cached), for every run.
2. Whole runs: ``pytest --llmops`` over N single-turn cases at concurrency C against the
   built-in stub bot, without judge checks, with a judge check on every case
   (``--llmops-no-cache``), and the same again with the cache warm. The extra time of the
   judged run is compared with the ideal N*L/C; the cached rerun must send nothing (the
   server's request count is read from its ``/health``).

The machine may be shared and noisy: compare within one run, not across runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from pytest_llmops.checks.cache import DiskCache
from pytest_llmops.checks.judge import Judge, ask_judge, judge_messages
from pytest_llmops.config import load_settings
from pytest_llmops.pii import PiiDetector
from pytest_llmops.targets import build_target
from pytest_llmops.transcript import Conversation
from replay import ServeStub, run_pytest

HISTORY = [{"role": "system", "content": "You are Acme's support assistant."},
           {"role": "user", "content": "Hi, I'm ann.lee@example.org. How long does a refund take?"}]
REPLY = "Refunds reach your original payment method within 5-7 business days after we receive the item."


def spread(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def timed(call, *args) -> float:
    started = time.perf_counter()
    call(*args)
    return (time.perf_counter() - started) * 1000


def per_verdict(root: Path, latency_ms: float, verdicts: int, runs: int) -> None:
    print(f"\n## Per verdict, L={latency_ms:g} ms: {verdicts} verdicts a run, {runs} runs "
          "(ms, min / median / max of each run)")
    print("| run | floor: bare POST of the same body | ask_judge, no cache | our side of it (outside the request) "
          "| ask_judge, cache miss (write) | ask_judge, cache hit | median - floor median |")
    print("|---|---|---|---|---|---|---|")
    with ServeStub(0, "--judge-latency-ms", str(latency_ms), "--judge-verdict", "pass") as server:
        project = root / f"verdicts_{latency_ms:g}"
        project.mkdir(parents=True, exist_ok=True)
        (project / "pyproject.toml").write_text(f'[tool.llmops.targets.grader]\ntype = "openai"\n'
                                                f'base_url = "{server.url}/v1"\nmodel = "judge-1"\n')
        target = build_target("grader", load_settings(project))
        in_request: list[float] = []
        send_request = target.client.request

        def timed_request(*args, **kwargs):
            started = time.perf_counter()
            try:
                return send_request(*args, **kwargs)
            finally:
                in_request.append((time.perf_counter() - started) * 1000)

        target.client.request = timed_request  # type: ignore[method-assign]
        mask = PiiDetector().mask
        plain = Judge(target, mask=mask)
        client = httpx.Client(trust_env=False, timeout=30)
        overheads, sides = [], []
        for run in range(1, runs + 1):
            cached = Judge(target, mask=mask, cache=DiskCache(project / f"cache_{run}"))
            floor, ours, side, miss, hit = [], [], [], [], []
            for index in range(verdicts):
                rubric = f"Says how long a refund takes ({run}.{index})."  # a new question: nothing cached
                body = target.request_body(judge_messages(rubric, [{"role": m["role"], "content": mask(m["content"])}
                                                                    for m in HISTORY], mask(REPLY)))
                floor.append(timed(lambda: client.post(target.url, json=body).json()))
                ours.append(timed(ask_judge, plain, rubric, REPLY, HISTORY, Conversation()))
                side.append(ours[-1] - in_request[-1])
                miss.append(timed(ask_judge, cached, rubric, REPLY, HISTORY, Conversation()))
                hit.append(timed(ask_judge, cached, rubric, REPLY, HISTORY, Conversation()))
            overhead = statistics.median(ours) - statistics.median(floor)
            overheads.append(overhead)
            sides.append(statistics.median(side))
            print(f"| {run} | {spread(floor)} | {spread(ours)} | {spread(side)} | {spread(miss)} | {spread(hit)} "
                  f"| {overhead:+.2f} ms |")
        print(f"our side of a verdict, median of each run: {spread(sides)} ms (min / median / max); "
              f"median - floor median: {spread(overheads)} ms")
        client.close()
        target.close()


def write_suite(folder: Path, count: int, judged: bool, judge_url: str) -> Path:
    (folder / "eval_cases").mkdir(parents=True, exist_ok=True)
    toml = "[tool.llmops]\nmax_latency_ms = 60000\n"
    if judged:
        toml += (f'[tool.llmops.targets.grader]\ntype = "openai"\nbase_url = "{judge_url}/v1"\nmodel = "judge-1"\n'
                 '[tool.llmops.judge]\ntarget = "grader"\n')
    (folder / "pyproject.toml").write_text(toml)
    expect = ", expect: {judge: 'Says how long a refund takes.'}" if judged else ""
    lines = ["cases:"] + [f"  - id: c{n:04d}\n    turns: [{{user: 'How long does refund {n} take?'{expect}}}]"
                          for n in range(count)]
    (folder / "eval_cases" / "cases.yaml").write_text("\n".join(lines) + "\n")
    return folder


def whole_runs(root: Path, count: int, latency_ms: float, concurrency: int, runs: int) -> None:
    ideal = count * latency_ms / 1000 / concurrency
    print(f"\n## Whole runs: N={count} cases, judge L={latency_ms:g} ms, C={concurrency}; ideal extra N*L/C = "
          f"{ideal:.2f} s (pytest's session time, s)")
    print("| run | without judge checks | judged, --llmops-no-cache | extra | extra vs ideal | judged, cache warm "
          "| verdicts sent by the cached rerun |")
    print("|---|---|---|---|---|---|---|")
    extras, warm_sent = [], []
    with ServeStub(0, "--judge-latency-ms", str(latency_ms), "--judge-verdict", "pass") as server:
        for run in range(1, runs + 1):
            plain = write_suite(root / f"plain_{run}", count, False, server.url)
            judged = write_suite(root / f"judged_{run}", count, True, server.url)
            concurrency_option = ("--llmops", "--llmops-concurrency", str(concurrency))
            without = run_pytest(plain, *concurrency_option)[1]
            with_judge = run_pytest(judged, *concurrency_option, "--llmops-no-cache")[1]
            run_pytest(judged, *concurrency_option)  # fills the cache
            before = httpx.get(f"{server.url}/health", trust_env=False).json()["requests"]
            warm = run_pytest(judged, *concurrency_option)[1]
            sent = httpx.get(f"{server.url}/health", trust_env=False).json()["requests"] - before
            extra = with_judge - without
            extras.append(extra)
            warm_sent.append(sent)
            print(f"| {run} | {without:.2f} | {with_judge:.2f} | {extra:.2f} | {extra / ideal:.2f}x | {warm:.2f} "
                  f"| {sent} |")
    per_case = [extra / count * 1000 for extra in extras]
    print(f"extra per judged case: {spread(per_case)} ms (min / median / max; ideal L/C = "
          f"{latency_ms / concurrency:.2f} ms); verdicts sent by cached reruns: {sum(warm_sent)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verdicts", type=int, default=100, help="K: verdicts per run in the per-verdict table")
    parser.add_argument("--latencies", default="0,50", help="judge latencies L (ms) for the per-verdict table")
    parser.add_argument("--cases", type=int, default=200, help="N for the whole runs")
    parser.add_argument("--latency-ms", type=float, default=50, help="judge latency L for the whole runs")
    parser.add_argument("--concurrency", type=int, default=8, help="C for the whole runs")
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement")
    args = parser.parse_args()
    print(f"# benchmarks/judge.py: Python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="llmops-judge-bench-") as folder:
        root = Path(folder)
        for latency in (float(value) for value in args.latencies.split(",")):
            per_verdict(root, latency, args.verdicts, args.runs)
        whole_runs(root, args.cases, args.latency_ms, args.concurrency, args.runs)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

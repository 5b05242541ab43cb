"""What a hostile reply costs a run: a 1 GiB JSON body and a gzip bomb, against a normal reply.

Run: ``python benchmarks/huge_reply.py`` (seconds once replies are limited; several
minutes and gigabytes without a limit). A loopback server answers every request with:

* ``floor``: a normal 1 KiB JSON reply (the cost of the run itself);
* ``chunked``: a 1 GiB JSON reply streamed with no Content-Length;
* ``length``: the same with its Content-Length;
* ``gzip``: a gzip bomb, about 1 MB on the wire and 1 GiB unpacked;
* ``gzip-gzip``: the bomb gzipped twice (``Content-Encoding: gzip, gzip``).

Each is a fresh ``pytest --llmops`` process replaying one two-turn case over the ``http``
target (so an unlimited reply would also be sent back as history). Printed per mode:
wall time and the process's own peak RSS (its ``VmHWM``, read as it exits), min / median
/ max over the runs, next to the floor measured in the same run, and how the case ended.
The machine may be shared and noisy: compare within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from target_servers import GIB, huge_reply_server, run_measured  # noqa: E402 - the tests' own servers

CASE = """cases:
  - id: huge
    turns:
      - user: "Tell me everything."
      - user: "And again?"
"""
RECORDER = """
import json, pathlib
from pytest_llmops.results import case_to_dict

def pytest_runtest_logreport(report):
    record = getattr(report, "llmops", None)
    if record is not None and report.when == "call":
        turn = case_to_dict(record)["turns"][0]
        pathlib.Path(__file__).with_name("outcome.json").write_text(json.dumps(
            {"error_kind": turn.get("error_kind"), "error": turn.get("error"),
             "reply_chars": len(turn.get("reply") or "")}))
"""


def run_once(folder: Path, url: str, max_reply_bytes: int | None) -> tuple[float, float, dict]:
    """One pytest process against ``url``: (wall seconds, peak RSS in MB, how the first turn ended)."""
    limit = f"max_reply_bytes = {max_reply_bytes}\n" if max_reply_bytes else ""
    (folder / "pyproject.toml").write_text(
        f'[tool.llmops]\n{limit}[tool.llmops.targets.api]\ntype = "http"\nurl = "{url}/chat"\n')
    (folder / "eval_cases").mkdir(exist_ok=True)
    (folder / "eval_cases" / "huge.yaml").write_text(CASE)
    (folder / "conftest.py").write_text(RECORDER)
    outcome = folder / "outcome.json"
    outcome.unlink(missing_ok=True)
    run = run_measured("pytest", ["--llmops", "--llmops-target", "api", "-q", "-p", "no:cacheprovider",
                                  "-p", "no:randomly"], folder, timeout=4 * 3600)  # without a limit: many minutes
    ended = json.loads(outcome.read_text()) if outcome.exists() else {"error_kind": "no record"}
    return run.wall_s, run.peak_rss_mb, ended


def spread(values: list[float]) -> str:
    return f"{min(values):8.2f} {statistics.median(values):8.2f} {max(values):8.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=GIB, help="unpacked bytes of a hostile reply (default 1 GiB)")
    parser.add_argument("--runs", type=int, default=3, help="runs per mode (default 3)")
    parser.add_argument("--modes", default="chunked,length,gzip,gzip-gzip")
    parser.add_argument("--max-reply-bytes", type=int, default=None,
                        help="set max_reply_bytes in the project (default: the tool's default)")
    args = parser.parse_args()
    modes = [("floor", 1024)] + [(mode, args.size) for mode in args.modes.split(",") if mode]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}; hostile size {args.size:,} bytes; "
          f"{args.runs} run(s) per mode")
    print(f"{'mode':<10} {'wall s: min   median      max':>29} {'peak RSS MB: min median   max':>30}  "
          f"x floor (median wall, RSS)  first turn")
    floor = None
    with tempfile.TemporaryDirectory(prefix="llmops-huge-") as tmp:
        for mode, size in modes:
            server = huge_reply_server("chunked" if mode == "floor" else mode, size)
            walls, rss, ended = [], [], {}
            try:
                for _ in range(args.runs):
                    wall, peak, ended = run_once(Path(tmp), server.url, args.max_reply_bytes)
                    walls.append(wall)
                    rss.append(peak)
            finally:
                server.close()
            medians = statistics.median(walls), statistics.median(rss)
            floor = floor or medians
            how = f"{ended.get('error_kind') or 'reply'}: {ended.get('error') or ''}"[:70] \
                if ended.get("error_kind") else f"reply of {ended.get('reply_chars')} chars stored"
            print(f"{mode:<10} {spread(walls)}    {spread(rss)}    "
                  f"{medians[0] / floor[0]:5.2f}x {medians[1] / floor[1]:5.2f}x   {how}")


if __name__ == "__main__":
    main()

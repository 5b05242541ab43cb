"""The verdict and embedding cache: atomic entries, safe when processes write the same key, fine under xdist."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from meaning_support import judge_toml, serve_stub  # noqa: F401 (a fixture)

from pytest_llmops.checks.cache import DiskCache, cache_key


def _write_many(folder: str, writer: int, rounds: int) -> None:
    cache = DiskCache(folder)
    for index in range(rounds):
        cache.put("verdicts", "k" * 64, {"writer": writer, "index": index, "padding": "x" * 20_000})


def test_processes_writing_the_same_key_never_leave_half_an_entry(tmp_path: Path):
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_write_many, args=(str(tmp_path), writer, 150)) for writer in range(2)]
    for process in writers:
        process.start()
    entry = tmp_path / "verdicts" / "kk" / f"{'k' * 64}.json"
    reads = 0
    while any(process.is_alive() for process in writers):
        try:
            data = entry.read_bytes()
        except FileNotFoundError:
            continue
        json.loads(data)  # never half a file: every read parses
        reads += 1
    for process in writers:
        process.join(30)
        assert process.exitcode == 0
    assert reads > 0
    assert json.loads(entry.read_text())["index"] == 149
    assert not list(tmp_path.rglob("*.tmp"))  # no temporary file left behind
    assert (tmp_path / ".gitignore").read_text().endswith("*\n")


def test_an_unreadable_entry_is_a_miss_and_an_unwritable_folder_only_costs_a_request(tmp_path: Path):
    cache = DiskCache(tmp_path / "cache")
    key = cache_key("judge", {"model": "m"}, "1", [{"role": "user", "content": "x"}])
    assert len(key) == 64 and key == cache_key("judge", {"model": "m"}, "1", [{"role": "user", "content": "x"}])
    assert cache.get("verdicts", key) is None
    cache.put("verdicts", key, {"pass": True})
    assert cache.get("verdicts", key) == {"pass": True}
    (tmp_path / "cache" / "verdicts" / key[:2] / f"{key}.json").write_text('{"pass": tr')
    assert cache.get("verdicts", key) is None and cache.hits == 1 and cache.misses == 2
    blocked = DiskCache(tmp_path / "file")
    (tmp_path / "file").write_text("not a folder")
    blocked.put("verdicts", key, {"pass": True})
    assert blocked.write_errors == 1 and blocked.get("verdicts", key) is None


def test_xdist_workers_share_the_cache_and_write_one_whole_entry(make_project, serve_stub):
    judge = serve_stub(judge_verdict="pass", judge_latency_ms=50)
    cases = "cases:\n" + "".join(
        f"  - id: c{index}\n    turns:\n      - user: hello\n        expect: {{judge: \"Answers politely.\"}}\n"
        for index in range(8))
    project = make_project({"same.yaml": cases}, judge_toml(judge))
    result = project.runpytest_subprocess("--llmops", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=8)
    entries = list((project.path / ".llmops-cache" / "verdicts").rglob("*"))
    files = [entry for entry in entries if entry.is_file()]
    assert len(files) == 1 and json.loads(files[0].read_text())["pass"] is True
    asked = judge.requests
    assert 1 <= asked <= 8  # the same question: asked at most once per case, fewer once cached
    project.runpytest_subprocess("--llmops", "-n", "2", "-p", "no:cacheprovider").assert_outcomes(passed=8)
    assert judge.requests == asked  # the rerun, on both workers, asked nothing

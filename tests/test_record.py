"""The case record: every run of a repeated case counts, and reports name the targets cases really used.

Both bugs came from a record that was a dict of the shown run only, read back by each
output; the record is now typed and built once (pytest_llmops/record.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

# A bot whose third call is slow: with repeat 3 and min_pass 2 the case passes, and the
# shown run is a fast one, yet the slow run must count in the summary.
SLOW_THIRD_CALL = """
import itertools, threading, time
_calls = itertools.count(1)
_lock = threading.Lock()

def reply(messages):
    with _lock:
        call = next(_calls)
    if call == 3:
        time.sleep(0.4)
    return "You can return any item within 30 days."
"""

REPEATED = """
cases:
  - id: returns
    repeat: 3
    min_pass: 2
    expect: {max_latency_ms: 250}
    turns:
      - user: "How long do I have to return an item?"
"""


def test_every_run_of_a_repeated_case_counts_in_summary_results_and_gate(make_project):
    project = make_project({"returns.yaml": REPEATED},
                           'target = "bot"\n[tool.llmops.targets.bot]\ntype = "python"\ncallable = "slowbot:reply"\n')
    (project.path / "slowbot.py").write_text(SLOW_THIRD_CALL)
    result = project.runpytest("--llmops", "--llmops-concurrency", "1", "--llmops-results=results.json")
    result.assert_outcomes(passed=1)
    document = json.loads((project.path / "results.json").read_text())
    summary = document["summary"]
    assert summary["turns"] == 3  # one turn, three runs
    assert summary["checks_failed"]["max_latency_ms"] == 1  # the slow run's failure counts...
    assert summary["latency_ms"]["max"] >= 400  # ...and so does its latency
    [case] = document["cases"]
    assert [len(run["turns"]) for run in case["repeat"]["results"]] == [1, 1, 1]
    assert all(check["passed"] for turn in case["turns"] for check in turn["checks"])  # shown: a passing run
    result.stdout.fnmatch_lines(["turns: 3, error rate 0.0%*", "failed checks: max_latency_ms 1"])

    gate = subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "gate", "results.json", "--max-p95-ms", "300"],
                          cwd=project.path, capture_output=True, text=True)
    assert gate.returncode == 1 and "p95 latency" in gate.stdout  # the slow run's p95 is over 300 ms


PINNED = {
    "leaky.yaml": """
        defaults: {target: leaky}
        cases:
          - id: hello
            turns: [{user: "Hello", expect: {no_pii: false}}]
        """,
    "plain.yaml": """
        cases:
          - id: hello
            turns: [{user: "Hello"}]
        """,
}
LEAKY = '[tool.llmops.targets.leaky]\ntype = "stub"\nleak = "email"\n'


def _run(make_project, files: dict[str, str]):
    project = make_project({name: textwrap.dedent(text) for name, text in files.items()}, LEAKY)
    result = project.runpytest("--llmops", "--llmops-results=results.json", "--html=report.html")
    document = json.loads((project.path / "results.json").read_text())
    return project, result, document


def test_reports_name_the_target_every_case_was_pinned_to_not_the_default(make_project):
    project, result, document = _run(make_project, {"leaky.yaml": PINNED["leaky.yaml"]})
    result.assert_outcomes(passed=1)
    assert document["run"]["target"]["name"] == "leaky"
    assert [target["name"] for target in document["run"]["targets"]] == ["leaky"]
    result.stdout.fnmatch_lines(["target: leaky (stub); concurrency 8"])
    assert "<th>Target</th><td>leaky (stub)</td>" in (project.path / "report.html").read_text()
    gate = subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "gate", "results.json"],
                          cwd=project.path, capture_output=True, text=True)
    assert "target leaky," in gate.stdout and "target stub" not in gate.stdout


def test_reports_name_every_target_when_cases_used_several(make_project):
    project, result, document = _run(make_project, PINNED)
    result.assert_outcomes(passed=2)
    assert [target["name"] for target in document["run"]["targets"]] == ["leaky", "stub"]
    assert document["run"]["target"]["name"] == "leaky, stub"
    result.stdout.fnmatch_lines(["target: leaky (stub); stub (stub); concurrency 8"])
    html = (project.path / "report.html").read_text()
    assert "<th>Target</th><td>leaky (stub); stub (stub)</td>" in html


@pytest.mark.parametrize("workers", ["0", "2"])
def test_the_record_crosses_to_the_xdist_controller_typed(make_project, workers):
    project = make_project({"returns.yaml": REPEATED.replace("max_latency_ms: 250", "max_latency_ms: 5000")})
    result = project.runpytest("--llmops", "-n", workers, "--llmops-results=results.json")
    result.assert_outcomes(passed=1)
    [case] = json.loads((project.path / "results.json").read_text())["cases"]
    assert case["repeat"]["passed_runs"] == 3 and case["outcome"] == "passed"
    assert json.loads((project.path / "results.json").read_text())["summary"]["turns"] == 3

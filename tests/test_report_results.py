"""The results JSON (``--llmops-results``): a real run's file, its schema, and every bad file the loader meets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from report_support import (LEAKED_EMAIL, LEAKY_TOML, MIXED_SUITE, cases_by_id, read_json,
                            scripted_project)

from pytest_llmops.errors import LlmopsError, ResultsError
from pytest_llmops.results import RunResults, load_results, write_results

SCHEMA_PATH = Path(__file__).parent.parent / "docs" / "results.schema.json"

SKIP_AND_ERROR_CONFTEST = """
import pytest

def pytest_collection_modifyitems(items):
    for item in items:
        if item.name == "skipped-case":
            item.add_marker(pytest.mark.skip(reason="switched off for this run"))

def pytest_runtest_setup(item):
    if item.name == "setup-breaks":
        raise RuntimeError("fixture exploded")
"""


@pytest.fixture
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def run_mixed(make_project, *args: str) -> tuple[pytest.Pytester, pytest.RunResult, dict]:
    pytester = make_project(MIXED_SUITE, LEAKY_TOML)
    result = pytester.runpytest("--llmops", "-p", "no:cacheprovider", "--llmops-results=out/results.json", *args)
    return pytester, result, read_json(pytester.path / "out" / "results.json")


def test_results_file_holds_every_case_turn_and_check_with_a_summary(make_project) -> None:
    pytester, result, doc = run_mixed(make_project)
    result.assert_outcomes(passed=1, failed=2)
    assert doc["schema"] == 2
    assert doc["tool"] == {"name": "pytest-llmops", "version": "0.1.0"}
    cases = cases_by_id(doc)
    assert [case["outcome"] for case in doc["cases"]] == ["passed", "failed", "failed"]
    assert cases["greets"]["nodeid"] == "eval_cases/mixed.yaml::greets"
    assert cases["greets"]["tags"] == ["smoke"] and cases["greets"]["description"] == "Says hello back"
    refund = cases["refund-error"]
    assert [turn["turn"] for turn in refund["turns"]] == [1, 2]
    assert refund["turns"][0]["user"] == "How long does a refund take?"
    no_error = next(check for check in refund["turns"][0]["checks"] if check["check"] == "no_error")
    assert no_error["passed"] is False and "an error occurred" in no_error["actual"]
    assert all(isinstance(turn["latency_ms"], float) for case in doc["cases"] for turn in case["turns"])
    leak = cases["leaks-email"]["turns"][0]
    assert "[EMAIL]" in leak["reply"]
    pii = next(check for check in leak["checks"] if check["check"] == "no_pii")
    assert pii["pii_kinds"] == ["email"] and not pii["passed"]

    summary = doc["summary"]
    assert {key: summary[key] for key in ("cases", "passed", "failed", "skipped", "errors", "turns")} == {
        "cases": 3, "passed": 1, "failed": 2, "skipped": 0, "errors": 0, "turns": 4}
    assert summary["pass_rate"] == pytest.approx(1 / 3, abs=1e-6)
    assert summary["error_rate"] == 0.25  # one of four turns answered with an error phrase
    assert summary["checks_failed"]["no_pii"] == 1 and summary["checks_failed"]["no_error"] == 1
    assert summary["checks_failed"]["contains"] == 0
    assert summary["pii_findings"]["email"] == 1  # every configured kind is listed, the others at 0
    assert summary["pii_findings"]["phone"] == 0 and sum(summary["pii_findings"].values()) == 1
    latencies = sorted(turn["latency_ms"] for case in doc["cases"] for turn in case["turns"])
    assert summary["latency_ms"]["max"] == pytest.approx(latencies[-1], abs=0.001)
    assert summary["latency_ms"]["p50"] <= summary["latency_ms"]["p95"] <= summary["latency_ms"]["p99"]

    run = doc["run"]
    assert run["target"]["name"] == "leaky" and run["target"]["kind"] == "stub"
    assert run["concurrency"] == 8 and run["cases_dir"] == "eval_cases"
    assert "--llmops-results=out/results.json" in run["argv"]
    assert run["git"] == {"commit": None, "branch": None, "dirty": None}  # pytester's folder is no git checkout
    assert run["started_at"].endswith("Z") and run["duration_s"] >= 0
    assert run["exit_status"] == 1


def test_a_real_run_validates_against_the_published_schema(make_project, schema) -> None:
    _, _, doc = run_mixed(make_project)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
    # The schema has teeth: a renamed field or an unknown outcome is rejected.
    renamed = json.loads(json.dumps(doc))
    renamed["summary"]["passrate"] = renamed["summary"].pop("pass_rate")
    with pytest.raises(jsonschema.ValidationError, match="pass_rate"):
        jsonschema.validate(renamed, schema, cls=jsonschema.Draft202012Validator)
    bad_outcome = json.loads(json.dumps(doc))
    bad_outcome["cases"][0]["outcome"] = "exploded"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad_outcome, schema, cls=jsonschema.Draft202012Validator)
    assert load_results_from(doc).summary.cases == 3


def load_results_from(doc: dict) -> RunResults:
    return RunResults.model_validate(doc)


def test_personal_data_never_reaches_the_results_file(make_project) -> None:
    pytester, _, _ = run_mixed(make_project)
    text = (pytester.path / "out" / "results.json").read_text(encoding="utf-8")
    assert LEAKED_EMAIL not in text
    assert "[EMAIL]" in text


def test_skipped_setup_errors_and_faults_get_their_outcomes(make_project, schema) -> None:
    cases = {"edge.yaml": """\
        cases:
          - id: fine
            turns: [{user: "hi"}]
          - id: skipped-case
            turns: [{user: "hi"}]
          - id: setup-breaks
            turns: [{user: "hi"}]
          - id: faults
            turns: [{user: "boom"}, {user: "never sent"}]
          - id: crashes
            turns: [{user: "bug"}]
        """}
    pytester = scripted_project(make_project, cases, {"hi": "Hello!", "boom": "FAULT:upstream reset by peer",
                                                      "bug": "CRASH:target bug"})
    pytester.makeconftest(pytester.path.joinpath("conftest.py").read_text() + SKIP_AND_ERROR_CONFTEST)
    result = pytester.runpytest("--llmops", "-p", "no:cacheprovider", "--llmops-results=r.json")
    result.assert_outcomes(passed=1, failed=2, skipped=1, errors=1)
    doc = read_json(pytester.path / "r.json")
    jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
    cases_ = cases_by_id(doc)
    assert {name: case["outcome"] for name, case in cases_.items()} == {
        "fine": "passed", "skipped-case": "skipped", "setup-breaks": "error", "faults": "failed",
        "crashes": "error"}  # a crash before the checks judged it is an error, not a verdict
    assert cases_["skipped-case"]["turns"] == [] and cases_["setup-breaks"]["passed"] is False
    fault = cases_["faults"]
    assert fault["turns"][0]["reply"] is None and fault["turns"][0]["error_kind"] == "target_error"
    assert fault["skipped_turns"] == 1
    summary = doc["summary"]
    assert (summary["cases"], summary["passed"], summary["failed"], summary["skipped"], summary["errors"]) == (
        5, 1, 1, 1, 2)
    assert summary["pass_rate"] == pytest.approx(1 / 4, abs=1e-6)  # skipped cases do not count
    assert summary["error_rate"] == 0.5  # the fault, out of two turns sent
    assert summary["checks_failed"]["reply"] == 1


def test_collection_errors_are_counted_and_explained(make_project, schema) -> None:
    pytester = make_project({"good.yaml": "cases:\n  - id: ok\n    turns: [{user: hi}]\n",
                             "broken.yaml": "cases:\n  - id: bad\n    turns: [{user: hi, expect: {contian: [x]}}]\n"})
    result = pytester.runpytest("--llmops", "-p", "no:cacheprovider", "--llmops-results=r.json")
    assert result.ret != 0
    doc = read_json(pytester.path / "r.json")
    jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
    assert doc["summary"]["errors"] == 1
    [error] = doc["collection_errors"]
    assert error["nodeid"] == "eval_cases/broken.yaml" and "contian" in error["message"]


def test_target_secrets_are_scrubbed_everywhere(make_project) -> None:
    pytester = scripted_project(make_project, {"a.yaml": "cases:\n  - id: a\n    turns: [{user: hi}]\n"},
                                {"hi": "Hello!"})
    result = pytester.runpytest("--llmops", "-p", "no:cacheprovider", "--llmops-results=r.json")
    result.assert_outcomes(passed=1)
    text = (pytester.path / "r.json").read_text(encoding="utf-8")
    doc = json.loads(text)
    for shown in (text, result.stdout.str()):
        assert "sk-SECRET-123" not in shown and "hunter2" not in shown
    assert doc["run"]["target"]["url"] == "http://127.0.0.1:9/v1/chat?api_key=***&model=***"
    assert "api_key" not in doc["run"]["target"] and "headers" not in doc["run"]["target"]
    assert doc["cases"][0]["target"]["url"] == doc["run"]["target"]["url"]
    result.stdout.fnmatch_lines(["target: bot (scripted) at http://127.0.0.1:9/v1/chat?api_key=***&model=***;*"])


def test_results_option_needs_llmops_and_a_file_path(make_project) -> None:
    pytester = make_project(MIXED_SUITE, LEAKY_TOML)
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmops-results=r.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llmops-results needs --llmops*"])
    (pytester.path / "folder").mkdir()
    result = pytester.runpytest("--llmops", "-p", "no:cacheprovider", "--llmops-results=folder")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llmops-results folder: is a folder; name a file*"])


def test_an_unwritable_results_path_fails_the_run_and_says_why(make_project) -> None:
    pytester = make_project(MIXED_SUITE, "")
    (pytester.path / "blocker").write_text("I am a file, not a folder")
    result = pytester.runpytest_subprocess("--llmops", "-p", "no:cacheprovider",
                                           "--llmops-results=blocker/results.json", "-k", "greets")
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    result.stderr.fnmatch_lines(["pytest-llmops: cannot write results to *blocker/results.json: *"])
    assert (pytester.path / "blocker").read_text() == "I am a file, not a folder"


def test_a_rerun_replaces_the_file_atomically(make_project) -> None:
    pytester, _, first = run_mixed(make_project)
    result = pytester.runpytest("--llmops", "-p", "no:cacheprovider", "--llmops-results=out/results.json",
                                "-k", "greets")
    result.assert_outcomes(passed=1)
    second = read_json(pytester.path / "out" / "results.json")
    assert first["summary"]["cases"] == 3 and second["summary"]["cases"] == 1
    assert sorted(p.name for p in (pytester.path / "out").iterdir()) == ["results.json"]  # no temp file left


# --- the loader: every bad file gets a clear ResultsError ----------------------------------------------

@pytest.fixture
def good_results(make_project, tmp_path: Path) -> Path:
    _, _, doc = run_mixed(make_project)
    path = tmp_path / "good.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_loader_round_trips_a_real_file(good_results: Path, tmp_path: Path) -> None:
    loaded = load_results(good_results)
    assert loaded.schema_version == 2 and loaded.summary.failed == 2
    assert loaded.cases[1].turns[0].checks[0].check == "no_error"
    copy = write_results(tmp_path / "copy.json", loaded)
    assert read_json(copy) == read_json(good_results)


def test_loader_keeps_fields_added_later(good_results: Path) -> None:
    doc = read_json(good_results)
    doc["summary"]["repeats"] = 3
    doc["cases"][0]["flaky"] = False
    good_results.write_text(json.dumps(doc), encoding="utf-8")
    loaded = load_results(good_results)
    assert loaded.summary.repeats == 3
    assert json.loads(loaded.to_json())["cases"][0]["flaky"] is False


@pytest.mark.parametrize("content, message", [
    (None, "no such results file"),
    ("", "empty results file"),
    ("   \n", "empty results file"),
    ("this is not json", "not valid JSON"),
    ("[1, 2, 3]", "a JSON list, not an object"),
    ('{"tool": {}}', "no 'schema' key"),
    ('{"schema": 3, "tool": {}}', "results schema 3 is not supported"),
    ('{"schema": "1"}', "results schema '1' is not supported"),
    ('{"schema": 1, "tool": {"version": "0.1.0"}}', "not a valid results file: run: Field required"),
])
def test_loader_rejects_bad_files_clearly(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ResultsError, match=message) as excinfo:
        load_results(path)
    assert isinstance(excinfo.value, LlmopsError)
    assert str(path) in str(excinfo.value)


def test_loader_says_a_cut_off_file_looks_truncated(good_results: Path) -> None:
    text = good_results.read_text(encoding="utf-8")
    good_results.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(ResultsError, match=r"not valid JSON \(truncated\?\)"):
        load_results(good_results)


def test_loader_names_the_wrong_field(good_results: Path) -> None:
    doc = read_json(good_results)
    doc["cases"][0]["outcome"] = "exploded"
    good_results.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ResultsError, match=r"cases\.0\.outcome"):
        load_results(good_results)


def test_loader_rejects_folders_and_binary(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="is a folder"):
        load_results(tmp_path)
    binary = tmp_path / "r.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ResultsError, match="not UTF-8"):
        load_results(binary)


def test_results_file_from_a_real_pytest_process(make_project) -> None:
    """The whole path as a user runs it: pytest in its own process, then the file loads."""
    pytester = make_project(MIXED_SUITE, LEAKY_TOML)
    completed = subprocess.run([sys.executable, "-m", "pytest", "--llmops", "-p", "no:cacheprovider",
                                "--llmops-results=results.json"], cwd=pytester.path, capture_output=True,
                               text=True, timeout=120)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert load_results(pytester.path / "results.json").summary.passed == 1


# --- llmops summary: the same summary from a saved file, as a real subprocess -------------------------

def llmops(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest_llmops.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60)


def test_llmops_summary_prints_the_saved_run(good_results: Path) -> None:
    completed = llmops("summary", str(good_results), "--failures", cwd=good_results.parent)
    assert completed.returncode == 1, completed.stderr  # the run had failures
    lines = completed.stdout.splitlines()
    assert lines[0] == "FAIL: 1/3 cases passed (33.3%), 2 failed, 0 skipped, 0 errors"
    assert "failed checks: no_error 1, no_pii 1" in lines
    assert "  FAILED eval_cases/mixed.yaml::leaks-email: no_pii" in lines
    assert "  FAILED eval_cases/mixed.yaml::refund-error: no_error" in lines
    doc = read_json(good_results)
    doc["cases"] = [case for case in doc["cases"] if case["outcome"] == "passed"]
    doc["summary"].update(cases=1, failed=0, pass_rate=1.0)
    good_results.write_text(json.dumps(doc), encoding="utf-8")
    assert llmops("summary", str(good_results), cwd=good_results.parent).returncode == 0


def test_llmops_summary_rejects_a_bad_file(tmp_path: Path) -> None:
    (tmp_path / "cut.json").write_text('{"schema": 1, "tool": {', encoding="utf-8")
    completed = llmops("summary", "cut.json", cwd=tmp_path)
    assert completed.returncode == 2
    assert "llmops summary: error: cut.json: not valid JSON (truncated?)" in completed.stderr
    completed = llmops("summary", "missing.json", cwd=tmp_path)
    assert completed.returncode == 2 and "no such results file" in completed.stderr

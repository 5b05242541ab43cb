"""``llmops gate``: thresholds, config and flags, baselines, output, exit codes, bad results files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from release_support import case, git, llmops, make_repo, results_doc, run_cli, write_results

from pytest_llmops.release.gate import evaluate
from pytest_llmops.release.settings import GateSettings
from pytest_llmops.results import parse_results


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.llmops]\n")
    return tmp_path


def gate(project: Path, document: dict, *args: str, env: dict[str, str] | None = None):
    path = write_results(project / "results.json", document)
    return run_cli("gate", path, *args, cwd=project, env=env)


def test_a_clean_run_passes_with_exit_0_and_a_table(project: Path) -> None:
    completed = llmops("gate", write_results(project / "results.json", results_doc()), cwd=project)
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "VERDICT: PASS" in out
    for row in ("cases run", "pass rate", "PII findings", "error rate", "p95 latency"):
        assert row in out
    assert "100.0% (2/2)" in out


def test_a_failing_case_fails_the_default_gate_and_is_named(project: Path) -> None:
    path = write_results(project / "results.json", results_doc([case("greeting"), case("refund-policy", "failed")]))
    completed = llmops("gate", path, cwd=project)
    assert completed.returncode == 1
    assert "VERDICT: FAIL" in completed.stdout
    assert "pass rate" in completed.stdout.split("VERDICT")[1]
    assert "eval_cases/support.yaml::refund-policy" in completed.stdout


def test_min_pass_rate_from_config_and_flag(project: Path) -> None:
    document = results_doc([case(f"c{i}") for i in range(9)] + [case("bad", "failed")])  # 90%
    (project / "pyproject.toml").write_text("[tool.llmops]\n[tool.llmops.gate]\nmin_pass_rate = 0.85\n")
    assert gate(project, document).returncode == 0
    assert gate(project, document, "--min-pass-rate", "95%").returncode == 1
    assert gate(project, document, "--min-pass-rate", "0.9").returncode == 0


@pytest.mark.parametrize("kwargs, flag, row", [
    ({"pii": {"email": 1, "phone": 0}}, ["--max-pii", "1"], "PII findings"),
    ({"error_rate": 0.1}, ["--max-error-rate", "10%"], "error rate"),
    ({"p95": 6000.0}, ["--max-p95-ms", "7000"], "p95 latency"),
])
def test_each_threshold_fails_the_gate_and_a_flag_relaxes_it(project: Path, kwargs, flag, row) -> None:
    failing = gate(project, results_doc(**kwargs))
    assert failing.returncode == 1, failing.stdout
    assert f"({row})" in failing.stdout or f": {row})" in failing.stdout
    assert gate(project, results_doc(**kwargs), *flag).returncode == 0


def test_pii_row_names_the_kinds_found(project: Path) -> None:
    completed = gate(project, results_doc(pii={"email": 2, "phone": 0}))
    assert "email: 2" in completed.stdout and "phone: 0" not in completed.stdout


def test_p95_limit_defaults_to_the_per_reply_latency_limit(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.llmops]\nmax_latency_ms = 300\n")
    completed = gate(project, results_doc(p95=400.0))
    assert completed.returncode == 1 and "<= 300 ms" in completed.stdout


def test_an_empty_run_and_collection_errors_never_pass(project: Path) -> None:
    empty = gate(project, results_doc([]))
    assert empty.returncode == 1 and "cases run" in empty.stdout.split("VERDICT")[1]
    document = results_doc(errors=1)
    document["collection_errors"] = [{"nodeid": "eval_cases/broken.yaml", "message": "broken.yaml:3: bad key"}]
    broken = gate(project, document)
    assert broken.returncode == 1 and "eval_cases/broken.yaml: broken.yaml:3: bad key" in broken.stdout


def test_all_skipped_is_not_a_pass(project: Path) -> None:
    assert gate(project, results_doc([case("a", "skipped")])).returncode == 1


def test_unknown_gate_key_is_a_usage_error(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.llmops]\n[tool.llmops.gate]\nmin_pass_rat = 0.9\n")
    completed = gate(project, results_doc())
    assert completed.returncode == 2
    assert "[tool.llmops.gate]: unknown key 'min_pass_rat'" in completed.stderr


@pytest.mark.parametrize("value", ["150%", "abc", "-0.1"])
def test_bad_rate_flag_is_a_usage_error(project: Path, value: str) -> None:
    completed = gate(project, results_doc(), "--min-pass-rate", value)
    assert completed.returncode == 2 and "--min-pass-rate" in completed.stderr


def _bad_files() -> dict[str, tuple[bytes | None, str]]:
    good = json.dumps(results_doc())
    wrong_schema = results_doc()
    wrong_schema["schema"] = 3
    no_summary = results_doc()
    del no_summary["summary"]
    return {
        "missing": (None, "no such results file"),
        "empty": (b"", "empty results file"),
        "truncated": (good[: len(good) // 2].encode(), "truncated"),
        "not-json": (b"PASSED\n", "not valid JSON"),
        "array": (b"[1, 2]", "not an object"),
        "wrong-schema": (json.dumps(wrong_schema).encode(), "schema 3 is not supported"),
        "not-ours": (b'{"passed": true}', "no 'schema' key"),
        "no-summary": (json.dumps(no_summary).encode(), "summary"),
        "binary": (b"\xff\xfe\x00garbage", "not UTF-8"),
    }


@pytest.mark.parametrize("kind", list(_bad_files()))
def test_a_bad_results_file_is_a_usage_error_never_a_pass(project: Path, kind: str) -> None:
    content, message = _bad_files()[kind]
    path = project / "results.json"
    if content is not None:
        path.write_bytes(content)
    completed = llmops("gate", path, cwd=project)
    assert completed.returncode == 2, completed.stdout
    assert message in completed.stderr
    assert "PASS" not in completed.stdout
    if content is not None:
        assert path.read_bytes() == content  # the gate never touches its input


def test_a_missing_baseline_file_is_a_usage_error(project: Path) -> None:
    completed = gate(project, results_doc(), "--baseline", "nope.json")
    assert completed.returncode == 2 and "nope.json: no such results file" in completed.stderr


def test_baseline_regressions_and_new_failures_are_named_separately(project: Path) -> None:
    baseline = write_results(project / "stable-results.json",
                             results_doc([case("greeting"), case("returns"), case("old-flaky", "failed"), case("gone")]))
    now = results_doc([case("greeting"), case("returns", "failed"), case("old-flaky", "failed"),
                       case("brand-new", "failed")])
    completed = gate(project, now, "--baseline", str(baseline), "--min-pass-rate", "0.2")
    assert completed.returncode == 1
    out = completed.stdout
    assert "baseline: " + str(baseline) in out
    regressions = out.split("\nregressions")[1].split("p95 vs baseline")[0]
    assert "support.yaml::returns: passed on baseline, failed now" in regressions
    assert "old-flaky" not in regressions and "brand-new" not in regressions
    new_failing = out.split("\nnew failing cases")[1].split("cases not run now")[0]
    assert "support.yaml::brand-new" in new_failing
    assert "support.yaml::gone" in out.split("cases not run now")[1]
    assert "VERDICT: FAIL (1 of" in out and "regressions" in out.split("VERDICT")[1]


def test_p95_regression_beyond_the_percentage_fails(project: Path) -> None:
    baseline = write_results(project / "base.json", results_doc(p95=200.0))
    slower = gate(project, results_doc(p95=300.0), "--baseline", str(baseline))  # +50%, +100 ms
    assert slower.returncode == 1 and "200 ms -> 300 ms (+50.0%)" in slower.stdout
    assert gate(project, results_doc(p95=300.0), "--baseline", str(baseline),
                "--max-p95-regression-pct", "60").returncode == 0
    # +100% but only 2 ms: below the floor, noise rather than a regression
    tiny = write_results(project / "tiny.json", results_doc(p95=2.0))
    assert gate(project, results_doc(p95=4.0), "--baseline", str(tiny)).returncode == 0


def test_a_baseline_ref_that_does_not_resolve_is_a_usage_error_unless_allowed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    head = git(repo, "rev-parse", "HEAD")
    results = write_results(tmp_path / "results.json", results_doc(commit=head))
    typo = llmops("gate", results, "--baseline-ref", "stabel", cwd=repo)
    assert typo.returncode == 2, typo.stdout
    assert ("--baseline-ref stabel: no such branch, tag or commit (a typo?); without a baseline the gate cannot "
            "check for regressions") in typo.stderr
    assert "--allow-missing-baseline" in typo.stderr and "VERDICT" not in typo.stdout
    # a ref that exists but has no results stored by llmops promote is no baseline either
    git(repo, "branch", "stable")
    unstored = run_cli("gate", results, "--baseline-ref", "stable", cwd=repo)
    assert unstored.returncode == 2 and "--baseline-ref stable: no results stored for stable" in unstored.stderr
    # the first promotion says so on purpose
    first = run_cli("gate", results, "--baseline-ref", "stabel", "--allow-missing-baseline", cwd=repo)
    assert first.returncode == 0, first.stderr
    assert "baseline: none: stabel does not exist yet (first promotion) (--allow-missing-baseline: no regression " \
           "checks)" in first.stdout


def test_promote_with_a_baseline_ref_that_does_not_resolve_changes_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    tested = git(repo, "rev-parse", "HEAD")
    results = write_results(tmp_path / "results.json", results_doc(commit=tested))
    refused = run_cli("promote", results, "--baseline-ref", "origin/stabel", cwd=repo)
    assert refused.returncode == 2 and "--baseline-ref origin/stabel: no such branch" in refused.stderr
    assert "refs/heads/stable" not in git(repo, "for-each-ref")
    allowed = run_cli("promote", results, "--baseline-ref", "origin/stabel", "--allow-missing-baseline", cwd=repo)
    assert allowed.returncode == 0, allowed.stderr
    assert git(repo, "rev-parse", "stable") == tested


def _with_run(document: dict, **run: object) -> dict:
    document["run"].update(run)
    return document


def test_the_gate_names_a_concurrency_or_target_difference_from_the_baseline(project: Path) -> None:
    baseline = write_results(project / "base.json", _with_run(results_doc(p95=200.0), concurrency=1))
    slower = gate(project, _with_run(results_doc(p95=300.0), concurrency=4), "--baseline", str(baseline),
                  "--markdown", str(project / "verdict.md"))
    assert slower.returncode == 1  # still a regression; the table says why it may not be the bot's
    row = next(line for line in slower.stdout.splitlines() if line.startswith("run vs baseline"))
    assert "concurrency 4 now, 1 on baseline" in row and row.rstrip().endswith("NOTE")
    assert "200 ms -> 300 ms (+50.0%; run conditions differ, see 'run vs baseline')" in slower.stdout
    assert "concurrency 4 now, 1 on baseline" in (project / "verdict.md").read_text()

    model = {"name": "bot", "kind": "openai", "url": None}
    other = write_results(project / "other.json", _with_run(results_doc(), target={**model, "model": "small-v1"},
                                                            targets=[{**model, "model": "small-v1"}]))
    now = _with_run(results_doc(), target={**model, "model": "large-v2"}, targets=[{**model, "model": "large-v2"}])
    switched = gate(project, now, "--baseline", str(other))
    assert switched.returncode == 0
    assert "target bot: model large-v2 now, small-v1 on baseline" in switched.stdout
    renamed = gate(project, _with_run(results_doc(), target={"name": "prod", "kind": "http", "url": None}),
                   "--baseline", str(baseline))
    assert "targets prod now, stub on baseline" in renamed.stdout
    same = gate(project, _with_run(results_doc(p95=200.0), concurrency=1), "--baseline", str(baseline))
    assert same.returncode == 0 and "run vs baseline" not in same.stdout


def test_configured_baseline_file_is_used_and_may_not_exist_yet(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.llmops]\n[tool.llmops.gate]\nbaseline_file = "base.json"\n')
    first = gate(project, results_doc())
    assert first.returncode == 0 and "baseline: none: base.json does not exist yet" in first.stdout
    write_results(project / "base.json", results_doc([case("greeting"), case("returns")]))
    second = gate(project, results_doc([case("greeting"), case("returns", "failed")]))
    assert second.returncode == 1 and "passed on baseline, failed now" in second.stdout


def test_markdown_goes_to_github_step_summary_appended(project: Path) -> None:
    summary = project / "step_summary.md"
    summary.write_text("# earlier step\n")
    completed = gate(project, results_doc([case("a|b", "failed")]), env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert completed.returncode == 1
    markdown = summary.read_text()
    assert markdown.startswith("# earlier step\n")
    assert "## llmops gate: ❌ FAIL" in markdown
    assert "| check | threshold | actual | result |" in markdown
    assert "| pass rate | >= 100.0% | 0.0% (0/1) | ❌ FAIL |" in markdown
    assert "`eval_cases/support.yaml::a|b`" in markdown


def test_markdown_file_flag_and_no_summary_without_the_variable(project: Path) -> None:
    completed = gate(project, results_doc(), "--markdown", str(project / "gate.md"))
    assert completed.returncode == 0
    assert "## llmops gate: ✅ PASS" in (project / "gate.md").read_text()


def test_end_to_end_a_leaking_bot_fails_the_gate_without_showing_the_data(make_project, pytester) -> None:
    project = make_project(
        {"account.yaml": """
            cases:
              - id: contact
                turns:
                  - user: "What is my email address on file?"
              - id: hello
                turns:
                  - user: "Hello"
        """},
        """
        target = "leaky"
        [tool.llmops.targets.leaky]
        type = "stub"
        leak = "email"
        leak_on = "email"
        """,
    )
    run = project.runpytest("--llmops", "--llmops-results", "results.json", "-p", "no:cacheprovider")
    assert (project.path / "results.json").exists(), run.stdout.str()
    summary = project.path / "summary.md"
    completed = llmops("gate", "results.json", cwd=project.path, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "PII findings" in completed.stdout.split("VERDICT")[1]
    assert "account.yaml::contact" in completed.stdout
    results_text = (project.path / "results.json").read_text()
    assert "@" not in completed.stdout.replace("support@acme.example", "") and "@" not in summary.read_text()
    assert "[EMAIL]" in results_text


def test_a_run_on_uncommitted_changes_is_noted(project: Path) -> None:
    completed = gate(project, results_doc(commit="a" * 40, dirty=True))
    assert completed.returncode == 0
    assert "tested commit" in completed.stdout and "aaaaaaaaaaaa plus uncommitted changes" in completed.stdout


def test_an_out_of_range_gate_setting_is_a_usage_error(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.llmops]\n[tool.llmops.gate]\nmin_pass_rate = 95\n")
    completed = gate(project, results_doc())
    assert completed.returncode == 2
    assert "[tool.llmops.gate]: min_pass_rate: Input should be less than or equal to 1" in completed.stderr


OUTCOMES = st.sampled_from(["passed", "failed", "error", "skipped", None])  # None: not in that run


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(OUTCOMES, OUTCOMES), min_size=1, max_size=12))
def test_regressions_and_new_failures_are_exactly_the_right_cases(pairs) -> None:
    before = [case(f"c{i}", old) for i, (old, _) in enumerate(pairs) if old]
    now = [case(f"c{i}", new) for i, (_, new) in enumerate(pairs) if new]
    verdict = evaluate(parse_results(results_doc(now)), GateSettings(min_pass_rate=0, max_p95_latency_ms=5000),
                       parse_results(results_doc(before)), "baseline")
    rows = {row.check: row for row in verdict.rows}
    broken = ("failed", "error")
    regressed = {f"eval_cases/support.yaml::c{i}: passed on baseline, {new} now"
                 for i, (old, new) in enumerate(pairs) if old == "passed" and new in broken}
    new_failing = {f"eval_cases/support.yaml::c{i}" for i, (old, new) in enumerate(pairs) if old is None and new in broken}
    assert set(rows["regressions"].details) == regressed
    assert set(rows["new failing cases"].details) == new_failing
    assert rows["regressions"].passed is (not regressed)
    if regressed:
        assert not verdict.passed

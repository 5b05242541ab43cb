"""Tokens and cost: per turn from every reply's usage, per case and run, priced per model, judge apart; the gate."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from meaning_support import (bodies, check_of, judge_bodies, openai_target, serve_stub,  # noqa: F401 (a fixture)
                             validate_results)
from release_support import llmops, results_doc, run_cli, write_results

from pytest_llmops.checks.tokens import Pricing
from pytest_llmops.checks.settings import ModelPrice
from pytest_llmops.transcript import Usage
from target_servers import RECORDER_CONFTEST, read_records

CASES = """
cases:
  - id: returns
    repeat: 2
    turns:
      - user: "How long do I have to return an item?"
        expect: {max_tokens: 40, judge: "Mentions the return window in days."}
      - user: "Can I get store credit instead?"
  - id: wordy
    turns:
      - user: "Where is my order #48212?"
        expect: {max_tokens: 10}
"""
PRICES = "[tool.llmops.prices]\nacme-1 = {input = 2.5, output = 10.0}\njudge-1 = {input = 0.15, output = 0.6}\n"


def words(text: object) -> int:
    return len(str(text or "").split())


def all_turns(case: dict) -> list[dict]:
    """Every turn of every run of a case in the results JSON."""
    if "repeat" in case:
        return [turn for run in case["repeat"]["results"] for turn in run["turns"]]
    return case["turns"]


@pytest.fixture
def priced_run(make_project, serve_stub):
    bot, judge = serve_stub(model="acme-1"), serve_stub(model="judge-1", judge_verdict="pass")
    toml = (openai_target("bot", bot) + openai_target("grader", judge) + '[tool.llmops.judge]\ntarget = "grader"\n'
            + PRICES)
    project = make_project({"priced.yaml": CASES}, toml)
    project.makeconftest(RECORDER_CONFTEST)
    # no verdict cache: the two runs of `returns` get the same reply, and whether the second hits the cache
    # depends on timing; each must be judged so the judge's tokens are counted per run
    result = project.runpytest("--llmops", "-p", "no:cacheprovider", "--llmops-target", "bot", "--llmops-no-cache",
                               "--llmops-results=out.json", "--junitxml=junit.xml", "--html=report.html",
                               "--self-contained-html")
    return project, result, bot, judge


def test_tokens_and_cost_are_summed_per_turn_case_and_run(priced_run):
    project, result, bot, judge = priced_run
    result.assert_outcomes(passed=1, failed=1)
    document = validate_results(project.path / "out.json")  # tokens, scores and reasons as published
    # every bot request's prompt is the words of the messages sent, the completion the reply's words
    expected_bot = [0, 0]
    for body in bodies(bot):
        expected_bot[0] += sum(words(m.get("content")) for m in body["messages"])
    replies = [turn["reply"] for case in document["cases"] for turn in all_turns(case)]
    expected_bot[1] = sum(words(reply) for reply in replies)
    bot_total = document["summary"]["tokens"]["bot"]
    assert [bot_total["prompt_tokens"], bot_total["completion_tokens"]] == expected_bot
    assert bot_total["total_tokens"] == sum(expected_bot)
    assert bot_total["cost_usd"] == pytest.approx((expected_bot[0] * 2.5 + expected_bot[1] * 10.0) / 1e6)
    assert bot_total["unpriced_models"] == []

    judge_total = document["summary"]["tokens"]["judge"]
    judge_prompt = sum(words(m.get("content")) for body in judge_bodies(judge) for m in body["messages"])
    assert judge_total["prompt_tokens"] == judge_prompt and len(judge_bodies(judge)) == 2  # once per run of returns
    assert judge_total["cost_usd"] == pytest.approx((judge_prompt * 0.15 + judge_total["completion_tokens"] * 0.6) / 1e6)

    cases = {case["case_id"]: case for case in document["cases"]}
    turns = all_turns(cases["returns"])
    assert cases["returns"]["tokens"]["bot"]["total_tokens"] == sum(t["tokens"]["bot"]["total_tokens"] for t in turns)
    assert cases["returns"]["tokens"]["bot"]["total_tokens"] + cases["wordy"]["tokens"]["bot"]["total_tokens"] == \
        bot_total["total_tokens"]
    for turn in turns:
        usage = turn["tokens"]["bot"]
        assert usage["cost_usd"] == pytest.approx((usage["prompt_tokens"] * 2.5 + usage["completion_tokens"] * 10) / 1e6)
    assert turns[0]["tokens"]["judge"]["total_tokens"] > 0 and turns[1]["tokens"]["judge"] is None

    result.stdout.fnmatch_lines([f"tokens: bot {bot_total['total_tokens']:,} tokens ({expected_bot[0]:,} in, "
                                 f"{expected_bot[1]:,} out), $0.00*; judge {judge_total['total_tokens']:,} tokens *"])
    returns_total, wordy_total = (cases[name]["tokens"]["bot"]["total_tokens"] for name in ("returns", "wordy"))
    result.stdout.fnmatch_lines([f"most tokens: eval_cases/priced.yaml::returns {returns_total:,} tokens $0.0*, "
                                 f"eval_cases/priced.yaml::wordy {wordy_total:,} tokens $0.0*"])
    properties = [(p.get("name"), p.get("value")) for p in ET.parse(project.path / "junit.xml").iter("property")]
    assert ("llmops_tokens_bot", str(cases["wordy"]["tokens"]["bot"]["total_tokens"])) in properties
    assert any(name == "llmops_cost_usd_judge" for name, _ in properties)
    assert "Tokens and cost" in (project.path / "report.html").read_text()


def test_max_tokens_fails_a_long_reply(priced_run):
    project, result, _, _ = priced_run
    wordy = read_records(project.path)["wordy"]
    check = check_of(wordy, "max_tokens")
    assert not check["passed"] and check["actual"] == f"{wordy['turns'][0]['tokens']['bot']['completion_tokens']} " \
                                                      "completion tokens"
    result.stdout.fnmatch_lines(["*FAILED max_tokens: expected <= 10 completion tokens; got 1* completion tokens"])


def test_an_unpriced_model_shows_no_cost_rather_than_a_wrong_one(make_project, serve_stub):
    bot = serve_stub(model="acme-2")
    project = make_project({"priced.yaml": CASES.split("  - id: wordy")[0].replace(
        ', judge: "Mentions the return window in days."', "")}, openai_target("bot", bot) + PRICES)
    result = project.runpytest("--llmops", "--llmops-target", "bot", "--llmops-results=out.json")
    result.assert_outcomes(passed=1)
    bot_total = json.loads((project.path / "out.json").read_text())["summary"]["tokens"]["bot"]
    assert bot_total["cost_usd"] is None and bot_total["unpriced_models"] == ["acme-2"]
    result.stdout.fnmatch_lines(["tokens: bot * tokens (* in, * out), no price for acme-2"])


def test_the_http_target_reads_usage_from_usage_path(make_project, serve_stub):
    server = serve_stub(model="acme-1")
    toml = (f'[tool.llmops.targets.bot]\ntype = "http"\nurl = "{server.url}/v1/chat/completions"\n'
            'body = {model = "acme-1", messages = "{messages}"}\nreply_path = "choices.0.message.content"\n'
            'usage_path = "usage"\nmodel = "acme-1"\n' + PRICES)
    project = make_project({"t.yaml": "cases:\n  - id: a\n    turns: [{user: hello, expect: {max_tokens: 50}}]\n"},
                           toml)
    project.makeconftest(RECORDER_CONFTEST)
    project.runpytest("--llmops", "--llmops-target", "bot").assert_outcomes(passed=1)
    usage = read_records(project.path)["a"]["turns"][0]["tokens"]["bot"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (1, 11)
    assert usage["cost_usd"] == pytest.approx((1 * 2.5 + 11 * 10) / 1e6)


@pytest.mark.parametrize("model, price", [
    ("gpt-4o-mini", "gpt-4o-mini"), ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"), ("openai/gpt-4o", "gpt-4o"),
    ("gpt-4o-2024-08-06", "gpt-4o"), ("gpt-4", None), (None, None),
])
def test_prices_are_found_by_model_name(model, price):
    prices = {"gpt-4o": ModelPrice(input=2.5, output=10), "gpt-4o-mini": ModelPrice(input=0.15, output=0.6)}
    found = Pricing(prices).price_for(model)
    assert found == (prices[price] if price else None)
    if price:
        assert Pricing(prices).cost(Usage(1_000_000, 1_000_000, model)) == pytest.approx(found.input + found.output)


# -- the gate --------------------------------------------------------------------------------------------------


def with_tokens(document: dict, total: int, cost: float | None, turns: int | None = None) -> dict:
    document["schema"] = 2
    document["summary"]["tokens"] = {"bot": {"prompt_tokens": total // 2, "completion_tokens": total - total // 2,
                                             "total_tokens": total, "cost_usd": cost,
                                             "unpriced_models": [] if cost is not None else ["acme-1"]},
                                     "judge": {"prompt_tokens": 10 ** 9, "completion_tokens": 0,
                                               "total_tokens": 10 ** 9, "cost_usd": 1000.0}}
    if turns is not None:
        document["summary"]["turns"] = turns
    return document


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.llmops]\n")
    return tmp_path


def gate(project: Path, document: dict, *args: str):
    return run_cli("gate", write_results(project / "results.json", document), *args, cwd=project)


def test_the_gate_limits_the_bots_cost_and_tokens_not_the_judges(project):
    document = with_tokens(results_doc(), 5000, 0.012)
    assert gate(project, document).returncode == 0  # no limits by default
    within = gate(project, document, "--max-cost-usd", "0.02", "--max-tokens", "5000")
    assert within.returncode == 0 and "bot cost" in within.stdout and "$0.0120" in within.stdout
    over = gate(project, document, "--max-cost-usd", "0.01")
    assert over.returncode == 1 and "checks failed: bot cost)" in over.stdout
    assert gate(project, document, "--max-tokens", "4999").returncode == 1
    (project / "pyproject.toml").write_text("[tool.llmops]\n[tool.llmops.gate]\nmax_tokens_total = 4000\n")
    assert gate(project, document).returncode == 1


def test_an_unknown_cost_fails_a_cost_limit(project):
    unpriced = gate(project, with_tokens(results_doc(), 5000, None), "--max-cost-usd", "1")
    assert unpriced.returncode == 1 and "unknown: no price for acme-1" in unpriced.stdout
    untracked = gate(project, results_doc(), "--max-cost-usd", "1")  # a schema 1 file: no tokens at all
    assert untracked.returncode == 1 and "unknown: no token usage recorded" in untracked.stdout


def test_cost_per_turn_may_not_grow_beyond_the_regression_limit(project):
    baseline = write_results(project / "baseline.json", with_tokens(results_doc(), 1000, 0.010, turns=10))
    same_per_turn = with_tokens(results_doc(), 2000, 0.020, turns=20)  # twice the turns, same cost per turn
    assert gate(project, same_per_turn, "--baseline", str(baseline)).returncode == 0
    dearer = gate(project, with_tokens(results_doc(), 1000, 0.013, turns=10), "--baseline", str(baseline))
    assert dearer.returncode == 1 and "checks failed: cost vs baseline)" in dearer.stdout
    assert "$0.001000 -> $0.001300 per turn (+30.0%)" in dearer.stdout
    relaxed = gate(project, with_tokens(results_doc(), 1000, 0.013, turns=10), "--baseline", str(baseline),
                   "--max-cost-regression-pct", "35")
    assert relaxed.returncode == 0
    by_tokens = gate(project, with_tokens(results_doc(), 1300, None, turns=10), "--baseline", str(baseline))
    assert by_tokens.returncode == 1 and "100.0 -> 130.0 tokens per turn (+30.0%)" in by_tokens.stdout


def test_a_schema_1_baseline_is_read_and_its_missing_tokens_are_a_note(project):
    baseline = write_results(project / "baseline.json", results_doc())
    completed = gate(project, with_tokens(results_doc(), 1000, 0.01), "--baseline", str(baseline))
    assert completed.returncode == 0
    assert "n/a (no token usage on one side)" in completed.stdout


def test_end_to_end_a_run_over_budget_fails_the_real_gate_command(priced_run):
    project, _, _, _ = priced_run
    cost = json.loads((project.path / "out.json").read_text())["summary"]["tokens"]["bot"]["cost_usd"]
    passing = llmops("gate", "out.json", "--min-pass-rate", "0", "--max-cost-usd", str(cost * 2), cwd=project.path)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    failing = llmops("gate", "out.json", "--min-pass-rate", "0", "--max-cost-usd", str(cost / 2), cwd=project.path)
    assert failing.returncode == 1 and "checks failed: bot cost)" in failing.stdout


def test_a_streamed_reply_has_usage_when_the_server_is_asked_for_it(make_project, serve_stub):
    server = serve_stub(model="acme-1")
    cases = "cases:\n  - id: a\n    turns: [{user: hello, expect: {max_tokens: 50}}]\n"
    project = make_project({"t.yaml": cases}, openai_target("bot", server, stream=True) + PRICES)
    project.makeconftest(RECORDER_CONFTEST)
    result = project.runpytest("--llmops", "--llmops-target", "bot")
    result.assert_outcomes(failed=1)  # without stream_options the stream carries no usage
    result.stdout.fnmatch_lines(["*FAILED max_tokens: expected <= 50 completion tokens; got no token usage reported "
                                 "(a streaming openai target needs params = {stream_options = {include_usage = true}}*"])
    (project.path / "pyproject.toml").write_text(
        "[tool.llmops]\n" + openai_target("bot", server, stream=True, params={"stream_options": {"include_usage": True}})
        + PRICES)
    (project.path / "records.jsonl").unlink(missing_ok=True)
    project.runpytest("--llmops", "--llmops-target", "bot").assert_outcomes(passed=1)
    turn = read_records(project.path)["a"]["turns"][0]
    assert turn["tokens"]["bot"]["completion_tokens"] == 11 and turn["ttft_ms"] is not None
    assert bodies(server)[-1]["stream_options"] == {"include_usage": True}

"""The judge check end to end: pytester runs, the judge a real server on 127.0.0.1 (serve-stub as a judge)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from meaning_support import (case_file_problems, check_of, judge_bodies, judge_toml, openai_target,  # noqa: F401
                             serve_stub)

from pytest_llmops.checks.judge import Judge, judge_messages, parse_verdict
from pytest_llmops.config import load_settings
from pytest_llmops.targets import build_target
from pytest_llmops.targets.stub import LEAKED_EMAIL
from pytest_llmops.transcript import Conversation
from target_servers import RECORDER_CONFTEST, read_records

STORE_CREDIT = """
cases:
  - id: store-credit
    turns:
      - user: "Hi, my name is Ann"
      - user: "Can I get store credit instead of a refund?"
        expect:
          judge: "Offers store credit instead of a refund and does not promise a delivery date."
"""
WRONG_ANSWER = """
cases:
  - id: asks-for-order-number
    turns:
      - user: "How long do I have to return an item?"
        expect:
          judge: "Gives the tracking number and the carrier's name."
"""
THRESHOLD = """
cases:
  - id: polite
    turns:
      - user: "hello"
        expect:
          judge: {rubric: "Answers politely.", min_score: 0.7}
"""


def run(make_project, cases: str, toml: str, *args: str):
    project = make_project({"judged.yaml": cases}, toml)
    project.makeconftest(RECORDER_CONFTEST)
    result = project.runpytest("--llmops", "-p", "no:cacheprovider", *args)
    return project, result


def test_a_rubric_the_reply_meets_passes_with_the_judges_score_and_reason(make_project, serve_stub):
    judge = serve_stub()
    project, result = run(make_project, STORE_CREDIT, judge_toml(judge), "--llmops-results=out.json")
    result.assert_outcomes(passed=1)
    verdict = check_of(read_records(project.path)["store-credit"], "judge", turn=2)
    assert verdict["passed"] and verdict["score"] == pytest.approx(0.875)
    assert verdict["reason"] == "stub judge (keywords): 7 of 8 right; wrong: offers"  # no "offer" in the reply
    assert verdict["usage"]["prompt_tokens"] > 0 and verdict["usage"]["model"] == "llmops-stub"
    asked = judge_bodies(judge)
    assert len(asked) == 1 and asked[0]["model"] == "judge-1"
    question = asked[0]["messages"][1]["content"]
    # the judge saw the conversation so far (turn 1 and its reply), the rubric and the reply
    assert "USER: Hi, my name is Ann" in question and "ASSISTANT: Nice to meet you, Ann!" in question
    assert "<rubric>\nOffers store credit" in question and "<reply>\nYes, you can choose store credit" in question
    results = json.loads((project.path / "out.json").read_text())
    assert results["summary"]["tokens"]["judge"]["total_tokens"] == verdict["usage"]["prompt_tokens"] + \
        verdict["usage"]["completion_tokens"]


def test_a_rubric_the_reply_misses_fails_with_the_reason_everywhere(make_project, serve_stub):
    judge = serve_stub()
    project, result = run(make_project, WRONG_ANSWER, judge_toml(judge), "--junitxml=junit.xml",
                          "--llmops-results=out.json", "--html=report.html", "--self-contained-html")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*FAILED judge: expected judge: Gives the tracking number and the carrier's name.; "
                                 "got fail, score 0.00: stub judge (keywords): 0 of 4 right; wrong: tracking, number, "
                                 "carrier's, name"])
    check = check_of(json.loads((project.path / "out.json").read_text())["cases"][0], "judge")
    assert not check["passed"] and check["score"] < 0.5 and "wrong: " in check["reason"]
    properties = {p.get("name"): p.get("value") for p in ET.parse(project.path / "junit.xml").iter("property")}
    assert properties["llmops_turn_1_judge_reason"] == check["reason"]
    assert float(properties["llmops_turn_1_judge_score"]) == check["score"]
    assert int(properties["llmops_tokens_judge"]) > 0
    html = (project.path / "report.html").read_text()
    assert check["reason"].split(";")[0] in html


def test_a_score_below_min_score_fails_even_when_the_judge_says_pass(make_project, serve_stub):
    judge = serve_stub(judge_verdict="pass", judge_score=0.6)
    _, result = run(make_project, THRESHOLD, judge_toml(judge))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*FAILED judge: expected judge: Answers politely. (score >= 0.7); got pass, "
                                 "score 0.60 (below 0.7): stub judge: steered to pass"])
    judge_passes = serve_stub(judge_verdict="pass", judge_score=0.7)
    run(make_project, THRESHOLD, judge_toml(judge_passes))[1].assert_outcomes(passed=1)


def test_a_malformed_verdict_is_asked_for_again_once(make_project, serve_stub):
    judge = serve_stub(judge_malformed="once", judge_verdict="pass")
    project, result = run(make_project, THRESHOLD, judge_toml(judge))
    result.assert_outcomes(passed=1)
    first, retry = judge_bodies(judge)
    assert retry["messages"][:2] == first["messages"]
    assert retry["messages"][2] == {"role": "assistant", "content": "I think the reply is fine, mostly. "
                                                                    "(This is not JSON.)"}
    assert "Answer with only the JSON object" in retry["messages"][3]["content"]
    usage = check_of(read_records(project.path)["polite"], "judge")["usage"]
    assert usage["prompt_tokens"] == sum(len(str(m["content"]).split()) for m in first["messages"] + retry["messages"])


def test_a_verdict_that_never_parses_fails_and_never_passes(make_project, serve_stub):
    judge = serve_stub(judge_malformed="always", judge_verdict="pass")
    _, result = run(make_project, THRESHOLD, judge_toml(judge))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*FAILED judge: expected judge: Answers politely. (score >= 0.7); got judge gave "
                                 "no verdict: 'I think the reply is fine, mostly. (This is not JSON.)'"])
    assert len(judge_bodies(judge)) == 2  # the answer and one retry, as [tool.llmops.judge] retries = 1 says


def test_a_verdict_in_a_fenced_block_is_read(make_project, serve_stub):
    judge = serve_stub(judge_fenced=True, judge_verdict="pass")
    run(make_project, THRESHOLD, judge_toml(judge))[1].assert_outcomes(passed=1)


@pytest.mark.parametrize("server_options, toml_extra, message", [
    ({"judge_latency_ms": 3000}, {"timeout_s": 0.5}, "judge error: timeout: read timeout: no reply within 0.5 s"),
    ({"http_error_on": "<rubric>", "http_error_status": 503}, {},
     "judge error: http_status: HTTP 503 Service Unavailable: *"),
])
def test_a_judge_fault_fails_the_check_with_its_cause(make_project, serve_stub, server_options, toml_extra, message):
    judge = serve_stub(**server_options)
    _, result = run(make_project, THRESHOLD, judge_toml(judge, **toml_extra))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*FAILED judge: expected judge: Answers politely. (score >= 0.7); got {message}"])


def test_the_judges_latency_never_counts_toward_the_bots(make_project, serve_stub):
    judge = serve_stub(judge_latency_ms=400, judge_verdict="pass")
    cases = THRESHOLD.replace('min_score: 0.7}', 'min_score: 0.7}\n          max_latency_ms: 200')
    project, result = run(make_project, cases, judge_toml(judge))
    result.assert_outcomes(passed=1)
    turn = read_records(project.path)["polite"]["turns"][0]
    assert turn["latency_ms"] < 200 and check_of(read_records(project.path)["polite"], "max_latency_ms")["passed"]


def test_an_unchanged_rerun_sends_nothing_to_the_judge_and_no_cache_asks_again(make_project, serve_stub):
    judge = serve_stub()
    project, result = run(make_project, STORE_CREDIT, judge_toml(judge))
    result.assert_outcomes(passed=1)
    assert judge.requests == 1
    cache = project.path / ".llmops-cache"
    assert (cache / ".gitignore").read_text().endswith("*\n")
    [entry] = (cache / "verdicts").rglob("*.json")
    assert json.loads(entry.read_text())["pass"] is True

    (project.path / "records.jsonl").unlink()
    again = project.runpytest("--llmops", "-p", "no:cacheprovider")
    again.assert_outcomes(passed=1)
    again.stdout.fnmatch_lines([f"llmops: judge grader (openai); cache {cache}"])
    assert judge.requests == 1  # nothing sent: the verdict came from the cache
    cached = check_of(read_records(project.path)["store-credit"], "judge", turn=2)
    assert cached["passed"] and "(cached)" in cached["actual"] and cached["usage"] is None

    project.runpytest("--llmops", "-p", "no:cacheprovider", "--llmops-no-cache").assert_outcomes(passed=1)
    assert judge.requests == 2

    edited = STORE_CREDIT.replace("does not promise a delivery date", "does not promise a delivery day")
    (project.path / "eval_cases" / "judged.yaml").write_text(edited)
    project.runpytest("--llmops", "-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert judge.requests == 3  # another rubric is another question


def test_the_judge_sees_masked_personal_data_never_the_address(make_project, serve_stub):
    judge = serve_stub(judge_verdict="pass")
    cases = """
cases:
  - id: leaky
    expect: {no_pii: false}
    turns:
      - user: "My email is ann.lee@example.org, how long do refunds take?"
        expect:
          judge: "Says how long refunds take."
"""
    leaky = '[tool.llmops.targets.leaky]\ntype = "stub"\nleak = "email"\n'
    toml = judge_toml(judge) + leaky
    _, result = run(make_project, cases, toml, "--llmops-target", "leaky")
    result.assert_outcomes(passed=1)
    sent = b"".join(judge.bodies).decode()
    assert "[EMAIL]" in sent
    assert "ann.lee@example.org" not in sent and LEAKED_EMAIL not in sent

    judge_unmasked = serve_stub(judge_verdict="pass")
    _, result = run(make_project, cases, judge_toml(judge_unmasked, mask_pii=False) + leaky, "--llmops-target", "leaky",
                    "--llmops-no-cache")
    result.assert_outcomes(passed=1)
    sent = b"".join(judge_unmasked.bodies).decode()
    assert "ann.lee@example.org" in sent and LEAKED_EMAIL in sent  # mask_pii = false sends what was said


def test_a_case_using_judge_without_a_judge_is_a_collection_error_naming_the_line(make_project):
    project = make_project({"judged.yaml": THRESHOLD})
    result = project.runpytest("--llmops")
    assert ("eval_cases/judged.yaml:3: case 'polite': uses 'judge' but no judge is configured: set "
            '[tool.llmops.judge] target = "NAME"') in result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED


@pytest.mark.parametrize("toml, message", [
    ('[tool.llmops.judge]\ntarget = "nobody"\n', "[tool.llmops.judge] target: unknown target 'nobody'"),
    ('[tool.llmops.judge]\ntarget = "stub"\nretries = -1\n', "[tool.llmops.judge]: retries:"),
    ('[tool.llmops.judge]\ntarget = "stub"\nmask_pi = false\n', "[tool.llmops.judge]: unknown key 'mask_pi'"),
])
def test_bad_judge_settings_are_usage_errors_before_anything_runs(make_project, toml, message):
    result = make_project({"judged.yaml": THRESHOLD}, toml).runpytest("--llmops")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_the_built_in_stub_judges_in_process_without_a_server(make_project):
    project = make_project({"judged.yaml": STORE_CREDIT + WRONG_ANSWER.replace("cases:\n", "")},
                           '[tool.llmops.judge]\ntarget = "stub"\n')
    result = project.runpytest("--llmops", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["llmops: judge stub (stub); cache *"])


def test_the_judge_request_validates_against_the_official_openai_types(tmp_path, serve_stub):
    pytest.importorskip("openai")
    from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming
    from pydantic import TypeAdapter

    judge_server = serve_stub(judge_malformed="once", judge_verdict="pass")
    (tmp_path / "pyproject.toml").write_text("[tool.llmops]\n" + openai_target("grader", judge_server,
                                                                                temperature=0))
    judge = Judge(build_target("grader", load_settings(tmp_path)))
    verdict = judge.ask("Answers politely.", [{"role": "system", "content": "Be nice."},
                                              {"role": "user", "content": "hello"}], "Hello!", Conversation())
    assert verdict.passed
    adapter = TypeAdapter(CompletionCreateParamsNonStreaming)
    for body in judge_bodies(judge_server):  # the question, then the retry with the bad answer
        checked = adapter.validate_python(body)
        assert checked["model"] == "acme-1" and checked["temperature"] == 0
        assert [m["role"] for m in checked["messages"]][:2] == ["system", "user"]
    assert len(judge_bodies(judge_server)) == 2
    judge.target.close()


@pytest.mark.parametrize("text, verdict", [
    ('{"pass": true, "score": 0.8, "reason": "ok"}', (True, 0.8, "ok")),
    ('Sure.\n```json\n{"pass": false, "score": 0, "reason": "no"}\n```\n', (False, 0.0, "no")),
    ('{"pass": true, "score": 1}', (True, 1.0, "")),
    ('{"pass": "yes", "score": 0.8}', None),
    ('{"pass": true, "score": 1.5}', None),
    ('{"pass": true}', None),
    ('{"pass": true, "score": true}', None),
    ('[{"pass": true, "score": 1}]', None),
    ("PASS", None),
])
def test_what_counts_as_a_verdict(text, verdict):
    parsed = parse_verdict(text)
    assert (None if parsed is None else (parsed.passed, parsed.score, parsed.reason)) == verdict


def test_judge_messages_quote_rubric_conversation_and_reply():
    messages = judge_messages("R", [{"role": "user", "content": "u"}], "a")
    assert messages[1]["content"] == "<rubric>\nR\n</rubric>\n\n<conversation>\nUSER: u\n</conversation>\n\n<reply>\na\n</reply>"


def test_variables_fill_a_rubric_and_an_unknown_one_is_a_line_numbered_error(tmp_path):
    from pytest_llmops.cases import load_case_file
    from pytest_llmops.variables import fill_expect

    path = tmp_path / "v.yaml"
    path.write_text("vars: {order: 48213}\ncases:\n  - id: a\n    turns:\n      - user: hi\n"
                    "        expect: {judge: 'Mentions order {order}.', similar: {to: 'Order {order}', min: 0.1}}\n")
    [case] = load_case_file(path)
    filled = fill_expect(case.turn_expects[0], case.variables)
    assert filled.judge.rubric == "Mentions order 48213." and filled.similar.to == "Order 48213"
    problems = case_file_problems(path, "cases:\n  - id: a\n    turns:\n      - user: hi\n"
                                        "        expect: {judge: 'Mentions {order}.'}\n")
    assert "v.yaml:5: cases[0].turns[0].expect.judge.rubric: unknown variable {order}" in problems


def test_the_monitor_refuses_checks_it_cannot_run(tmp_path):
    from pytest_llmops.errors import ConfigError

    (tmp_path / "pyproject.toml").write_text('[tool.llmops.monitor.expect]\njudge = "Is polite."\nmax_tokens = 5\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    assert "judge, max_tokens cannot run in the monitor" in str(caught.value)


def test_a_reason_quoting_personal_data_is_masked_in_the_cache_too(tmp_path):
    from pytest_llmops.checks.cache import DiskCache
    from pytest_llmops.pii import PiiDetector
    from pytest_llmops.targets.python import PythonTarget

    def judge_quoting(messages):
        return '{"pass": true, "score": 1, "reason": "It told ann.lee@example.org the refund time."}'

    cache = DiskCache(tmp_path)
    judge = Judge(PythonTarget("quoting", judge_quoting, "t:judge_quoting", 5), cache=cache,
                  mask_stored=PiiDetector().mask)  # mask_pii = false: sent unmasked, but never stored so
    verdict = judge.ask("Says how long refunds take.", [{"role": "user", "content": "I'm ann.lee@example.org"}],
                        "Refunds take 5 days, ann.lee@example.org.")
    assert verdict.passed
    [entry] = (tmp_path / "verdicts").rglob("*.json")
    assert "ann.lee@example.org" not in entry.read_text() and "[EMAIL]" in entry.read_text()

"""Repeats with pass thresholds: a flaky bot passes `min_pass: 2` of 3 and fails 3 of 3, the
distribution shows in failure text, JUnit, results JSON and HTML, and runs go concurrently."""

from __future__ import annotations

import json
import re
import threading
import xml.etree.ElementTree as ET

import pytest

from pytest_llmops.cases import LoadedCase, load_case_file
from pytest_llmops.repeat import plan_for
from target_servers import RECORDER_CONFTEST, RawServer, json_body, read_records, respond
from test_targets_openai import openai_toml, stub_server  # noqa: F401  (a fixture)

FLAKY = """
[tool.llmops.targets.flaky]   # leaks an email address in every third reply
type = "stub"
leak = "email"
leak_every = 3
"""


def one_case(repeat_keys: str, turns: int = 1) -> str:
    """A one-case file; ``repeat_keys`` like ``"repeat: 3, min_pass: 2"`` become the case's keys."""
    key_lines = "".join(f"    {key.strip()}\n" for key in repeat_keys.split(","))
    turn_lines = "".join('      - user: "How long do I have to return an item?"\n' for _ in range(turns))
    return f"cases:\n  - id: returns\n{key_lines}    turns:\n{turn_lines}"


def run_flaky(make_project, repeat_keys: str, *args: str, turns: int = 1) -> pytest.RunResult:
    project = make_project({"flaky.yaml": one_case(repeat_keys, turns)}, FLAKY)
    return project.runpytest("--llmops", "--llmops-target", "flaky", *args)


def test_flaky_bot_passes_with_min_pass_2_of_3(make_project):
    run_flaky(make_project, "repeat: 3, min_pass: 2").assert_outcomes(passed=1)


def test_flaky_bot_fails_with_3_of_3_and_shows_the_distribution(make_project):
    result = run_flaky(make_project, "repeat: 3")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "repeated 3 times: 2 passed, not enough (min_pass 3 of 3)" in out
    result.stdout.fnmatch_lines(["  run ?: FAILED turn 1 no_pii (found EMAIL in reply)", "  turn 1 latency over 3 run(s): min * ms, median * ms, max * ms",
                                 "showing run ?:", "*FAILED no_pii: expected no personal data; got found EMAIL in reply"])
    failures = out.split("short test summary info")[0]  # under CI=true pytest repeats the text in the summary
    assert failures.count("FAILED turn 1 no_pii") == 1 and failures.count(": passed") == 2
    assert "jane.doe@example.com" not in out


def test_without_repeat_the_flaky_bot_passes_once_and_leaks_on_the_third_call(make_project):
    run_flaky(make_project, "description: once").assert_outcomes(passed=1)
    run_flaky(make_project, "description: thrice", turns=3).assert_outcomes(failed=1)


@pytest.mark.parametrize("keys, outcome", [
    ("repeat: 5, min_pass_rate: 0.8", "passed"),   # 4 of 5 pass, 4 needed
    ("repeat: 5, min_pass_rate: 0.81", "failed"),  # rounds up to 5 needed
    ("repeat: 6, min_pass: 4", "passed"),          # calls 3 and 6 leak
    ("repeat: 6, min_pass: 5", "failed"),
])
def test_thresholds_as_count_or_rate(make_project, keys, outcome):
    run_flaky(make_project, keys).assert_outcomes(**{outcome: 1})


def test_file_defaults_repeat_every_case_and_a_case_may_override(make_project):
    project = make_project({"flaky.yaml": """
defaults: {repeat: 3, min_pass: 2}
cases:
  - id: lenient
    turns: [{user: "How long do I have to return an item?"}]
"""}, FLAKY)
    project.runpytest("--llmops", "--llmops-target", "flaky").assert_outcomes(passed=1)
    (project.path / "eval_cases" / "flaky.yaml").write_text(
        "defaults: {repeat: 3, min_pass: 2}\ncases:\n  - id: strict\n    min_pass_rate: 1.0\n"
        '    turns: [{user: "How long do I have to return an item?"}]\n')
    project.runpytest("--llmops", "--llmops-target", "flaky").assert_outcomes(failed=1)


def test_command_line_repeat_overrides_counts_and_keeps_the_share(make_project):
    # A case with no repeat must pass every one of the 3 runs the command line asks for.
    run_flaky(make_project, "description: plain", "--llmops-repeat", "3").assert_outcomes(failed=1)
    # min_pass 2 of 3 becomes 4 of 6: calls 3 and 6 leak, 4 runs pass.
    project = make_project({"flaky.yaml": one_case("repeat: 3, min_pass: 2")}, FLAKY)
    project.makeconftest(RECORDER_CONFTEST)
    project.runpytest("--llmops", "--llmops-target", "flaky", "--llmops-repeat", "6").assert_outcomes(passed=1)
    repeat = read_records(project.path)["returns"]["repeat"]
    assert (repeat["runs"], repeat["min_pass"], repeat["passed_runs"]) == (6, 4, 4)
    # A bot failing every other call passes 3 of 6: short of the 4 the share asks for (2 of 3 runs would pass).
    half = FLAKY.replace("[tool.llmops.targets.flaky]", "[tool.llmops.targets.half]").replace("leak_every = 3",
                                                                                             "leak_every = 2")
    project = make_project({"flaky.yaml": one_case("repeat: 3, min_pass: 2")}, half)
    result = project.runpytest("--llmops", "--llmops-target", "half", "--llmops-repeat", "6")
    result.assert_outcomes(failed=1)
    assert "repeated 6 times: 3 passed, not enough (min_pass 4 of 6)" in result.stdout.str()


def test_plan_for_rounds_shares_up():
    [case] = [c for c in _cases("cases:\n  - id: a\n    repeat: 3\n    min_pass: 2\n    turns: [{user: hi}]\n")]
    assert (plan_for(case).runs, plan_for(case).required) == (3, 2)
    assert (plan_for(case, 10).runs, plan_for(case, 10).required) == (10, 7)
    assert (plan_for(case, 1).runs, plan_for(case, 1).required) == (1, 1)


def _cases(text: str) -> list[LoadedCase]:
    import pathlib
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "c.yaml"
        path.write_text(text)
        return load_case_file(path)


BAD_REPEATS = {
    "min-pass-above-repeat": ("cases:\n  - id: a\n    repeat: 2\n    min_pass: 3\n    turns: [{user: hi}]\n",
                              "bad.yaml:4: cases[0].min_pass: min_pass 3 is more than the 2 run(s) of repeat"),
    "defaults-min-pass-above": ("defaults: {min_pass: 2}\ncases:\n  - id: a\n    turns: [{user: hi}]\n",
                                "bad.yaml:1: defaults.min_pass: min_pass 2 is more than the 1 run(s) of repeat"),
    "both-thresholds": ("cases:\n  - id: a\n    repeat: 3\n    min_pass: 2\n    min_pass_rate: 0.5\n"
                        "    turns: [{user: hi}]\n", "bad.yaml:2: cases[0]: set min_pass or min_pass_rate, not both"),
    "zero-repeat": ("cases:\n  - id: a\n    repeat: 0\n    turns: [{user: hi}]\n",
                    "bad.yaml:3: cases[0].repeat: Input should be greater than or equal to 1"),
    "rate-above-one": ("cases:\n  - id: a\n    repeat: 2\n    min_pass_rate: 1.5\n    turns: [{user: hi}]\n",
                       "bad.yaml:4: cases[0].min_pass_rate: Input should be less than or equal to 1"),
    "repeat-as-text": ("cases:\n  - id: a\n    repeat: \"3\"\n    turns: [{user: hi}]\n",
                       "bad.yaml:3: cases[0].repeat: Input should be a valid integer"),
}


@pytest.mark.parametrize("kind", sorted(BAD_REPEATS))
def test_bad_repeat_keys_are_clear_collection_errors(make_project, kind):
    text, message = BAD_REPEATS[kind]
    good = "cases:\n  - id: g\n    turns: [{user: hi}]\n"
    result = make_project({"good.yaml": good, "bad.yaml": text}).runpytest("--llmops", "--continue-on-collection-errors")
    result.assert_outcomes(passed=1, errors=1)
    assert f"eval_cases/{message}" in result.stdout.str(), result.stdout.str()


@pytest.mark.parametrize("value", ["0", "-2", "1001"])
def test_bad_command_line_repeat_is_a_usage_error(make_project, value):
    result = make_project({"a.yaml": "cases:\n  - id: a\n    turns: [{user: hi}]\n"}).runpytest(
        "--llmops", "--llmops-repeat", value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"--llmops-repeat {value}: give a number of runs from 1 to 1000" in result.stderr.str()


def test_distribution_reaches_junit_results_json_and_html(make_project):
    project = make_project({"flaky.yaml": one_case("repeat: 3, min_pass: 2")}, FLAKY)
    result = project.runpytest("--llmops", "--llmops-target", "flaky", "--junitxml=junit.xml",
                               "--llmops-results=results.json", "--html=report.html")
    result.assert_outcomes(passed=1)
    props = {p.get("name"): p.get("value") for p in ET.parse(project.path / "junit.xml").iter("property")}
    assert props["llmops_repeat_runs"] == "3" and props["llmops_repeat_min_pass"] == "2"
    assert props["llmops_repeat_passed_runs"] == "2"
    assert sorted(props[f"llmops_run_{run}_failed_checks"] for run in (1, 2, 3)) == ["", "", "turn1:no_pii"]
    assert float(props["llmops_turn_1_latency_ms_min"]) <= float(props["llmops_turn_1_latency_ms_max"])

    [case] = json.loads((project.path / "results.json").read_text())["cases"]
    repeat = case["repeat"]
    assert case["passed"] is True and repeat["passed_runs"] == 2 and repeat["min_pass"] == 2
    assert [r["passed"] for r in repeat["results"]].count(False) == 1
    failing = next(r for r in repeat["results"] if not r["passed"])
    assert failing["failed_checks"] == [{"turn": 1, "check": "no_pii", "actual": "found EMAIL in reply"}]
    assert set(repeat["latency_ms"]["1"]) == {"min", "median", "max", "runs"}
    # The run shown for a passing case is a passing one: its turns hold no failed check.
    assert all(check["passed"] for turn in case["turns"] for check in turn["checks"])

    html = (project.path / "report.html").read_text()
    assert "passed: 2 of 3 runs passed, 2 needed." in html and "llmops-repeat" in html


def test_runs_go_concurrently_within_the_concurrency_limit(make_project, stub_server):  # noqa: F811
    server = stub_server(latency_ms=150)
    project = make_project({"slow.yaml": one_case("repeat: 6, min_pass: 6")}, openai_toml(server))
    project.runpytest("--llmops", "--llmops-target", "bot", "--llmops-concurrency", "3").assert_outcomes(passed=1)
    assert server.requests == 6
    assert server.peak_in_flight == 3  # more than one at a time, never more than the limit


class TicketDesk:
    """An OpenAI-compatible bot on a raw socket: every escalation gets a new ticket; every request is kept."""

    ESCALATE = "I want to talk to a human"

    def __init__(self) -> None:
        self.requests: list[list[dict]] = []
        self.tickets = iter(range(101, 200))
        self.lock = threading.Lock()

    def __call__(self, conn, server: RawServer) -> None:
        messages = json_body(server.request)["messages"]
        with self.lock:
            self.requests.append(messages)
            ticket = f"T-{next(self.tickets)}"
        if messages[-1]["content"] == self.ESCALATE:
            text = f"Connecting you to a human. Your ticket number is {ticket}."
        else:
            text = "The typical wait is under 5 minutes."
        respond(conn, 200, json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode())


def test_each_run_has_its_own_conversation_and_saved_variables(make_project):
    desk = TicketDesk()
    server = RawServer(desk)
    try:
        project = make_project({"v.yaml": r"""
cases:
  - id: ticket
    repeat: 2
    turns:
      - user: "I want to talk to a human"
        save: {ticket: '(T-\d+)'}
      - user: "My ticket is {ticket}, how long is the wait?"
        expect: {contains: ["5 minutes"]}
"""}, f'target = "desk"\n[tool.llmops.targets.desk]\ntype = "openai"\nbase_url = "{server.url}/v1"\nmodel = "m"\n')
        project.makeconftest(RECORDER_CONFTEST)
        project.runpytest("--llmops").assert_outcomes(passed=1)
    finally:
        server.close()
    record = read_records(project.path)["ticket"]
    assert record["repeat"]["passed_runs"] == 2
    assert record["turns"][0]["saved"]["ticket"].startswith("T-")
    assert record["turns"][1]["user"] == f"My ticket is {record['turns'][0]['saved']['ticket']}, how long is the wait?"
    # What the bot received: each run starts with just its first message ...
    firsts = [messages for messages in desk.requests if messages[-1]["content"] == TicketDesk.ESCALATE]
    assert firsts == [[{"role": "user", "content": TicketDesk.ESCALATE}]] * 2
    # ... and sends back the ticket its own first turn got, in its own history.
    seconds = [messages for messages in desk.requests if messages[-1]["content"] != TicketDesk.ESCALATE]
    tickets = []
    for messages in seconds:
        assert [m["role"] for m in messages] == ["user", "assistant", "user"], messages
        ticket = re.search(r"T-\d+", messages[1]["content"]).group()
        assert messages[2]["content"] == f"My ticket is {ticket}, how long is the wait?"
        tickets.append(ticket)
    assert len(tickets) == 2 and tickets[0] != tickets[1]


def test_repeats_work_under_xdist(make_project):
    project = make_project({"flaky.yaml": one_case("repeat: 3, min_pass: 2"),
                            "other.yaml": "cases:\n  - id: hello\n    target: stub\n    turns: [{user: hi}]\n"}, FLAKY)
    result = project.runpytest("--llmops", "--llmops-target", "flaky", "-n", "2", "--junitxml=junit.xml")
    result.assert_outcomes(passed=2)
    props = [p.get("name") for p in ET.parse(project.path / "junit.xml").iter("property")]
    assert "llmops_repeat_passed_runs" in props

"""The whole feedback loop: a leak seen in a conversation becomes a case that fails until the bot is fixed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmops.cases import Case, LoadedCase, Turn, load_case_file
from pytest_llmops.config import load_settings
from pytest_llmops.monitor.service import Monitor
from pytest_llmops.pii import PiiDetector
from pytest_llmops.replay import replay_case
from pytest_llmops.targets.stub import LEAKED_EMAIL, StubBehaviour, StubTarget

from feedback_support import llmops

LEAKY_TARGET = """
target = "shop"

[tool.llmops.targets.shop]
type = "stub"
leak = "email"
leak_on = "order"
"""
FIXED_TARGET = """
target = "shop"

[tool.llmops.targets.shop]
type = "stub"
"""
RETURNS = """
cases:
  - id: return-window
    turns:
      - user: "How long do I have to return an item?"
        expect: {contains: ["30 days"]}
"""



def production_conversation(path: Path) -> None:
    """What a chatbot service would hand over: the exchanges of a conversation where the bot leaked."""
    bot = StubTarget("shop", StubBehaviour(leak="email", leak_on="order"))
    case = LoadedCase(path=path, line=1, tags=(), system=None, turn_expects=(),
                      case=Case(id="prod", turns=[Turn(user="Hello"), Turn(user="Where is my order 12345?")]))
    transcript = replay_case(case, bot)
    assert LEAKED_EMAIL in transcript.exchanges[1].reply and LEAKED_EMAIL not in transcript.exchanges[0].reply
    path.write_text(json.dumps([exchange.to_dict() for exchange in transcript.exchanges]))


def test_pii_leak_feedback_becomes_a_case_that_fails_until_the_leak_is_fixed(make_project) -> None:
    pytester: pytest.Pytester = make_project({"returns.yaml": RETURNS}, LEAKY_TARGET)
    project = pytester.path
    production_conversation(project / "transcript.json")

    llmops(project, "feedback", "--user-id", "u-1042", "--type", "pii_leak", "--turn", "2",
           "--message", f"The bot showed me {LEAKED_EMAIL}", "--conversation", "transcript.json", check=True)
    converted = llmops(project, "cases", "from-feedback", "feedback.jsonl", "--out", "eval_cases/regressions/",
                       check=True)
    assert "1 case file(s) written" in converted.stdout
    [generated] = (project / "eval_cases" / "regressions").glob("*.yaml")
    assert LEAKED_EMAIL not in generated.read_text() and "u-1042" not in generated.read_text()
    assert LEAKED_EMAIL not in (project / "feedback.jsonl").read_text()

    for workers in ([], ["-n", "2"]):  # the same outcome with and without pytest-xdist
        leaky = pytester.runpytest("--llmops", "-p", "no:cacheprovider", *workers)
        leaky.assert_outcomes(passed=1, failed=1)
        leaky.stdout.fnmatch_lines([f"FAILED eval_cases/regressions/{generated.name}::{generated.stem}*"])
        leaky.stdout.fnmatch_lines(["*FAILED no_pii: expected no personal data; got found EMAIL in reply*"])
        assert LEAKED_EMAIL not in leaky.stdout.str()

    (project / "pyproject.toml").write_text("[tool.llmops]\n" + FIXED_TARGET)
    pytester.runpytest("--llmops", "-p", "no:cacheprovider").assert_outcomes(passed=2)

    again = llmops(project, "cases", "from-feedback", "feedback.jsonl", "--out", "eval_cases/regressions/",
                   check=True)
    assert "0 case file(s) written, 1 already present" in again.stdout


# --- a bot that echoes its input: the regression case must be able to fail -----------------------

ECHO_BOTS = '''
import random

def echo(messages):
    """Repeats what it was told: it leaks whatever personal data the user gave."""
    return "You said: " + messages[-1]["content"]

def polite(messages):
    return "Thanks, a colleague will call you back about your refund."

WRONG = ["You have 14 days to return an item.", "Returns are accepted within 14 days of delivery.",
         "You've got 14 Days from delivery to send it back.", "Our return window is 14 days, no longer."]

def wrong(messages):
    """A sampling model that keeps making the same wrong claim in other words."""
    return random.choice(WRONG)

def right(messages):
    return random.choice(WRONG).replace("14", "30")
'''
BOTS_TOML = """
target = "echo"
[tool.llmops.targets.echo]
type = "python"
callable = "echo_bots:echo"
[tool.llmops.targets.polite]
type = "python"
callable = "echo_bots:polite"
[tool.llmops.targets.wrong]
type = "python"
callable = "echo_bots:wrong"
[tool.llmops.targets.right]
type = "python"
callable = "echo_bots:right"
"""
PHONE = "415-555-0142"


def _regressions(project: Path) -> list[Path]:
    return sorted((project / "eval_cases" / "regressions").glob("*.yaml"))


def _run_regressions(pytester: pytest.Pytester, target: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest("--llmops", "-p", "no:cacheprovider", "--llmops-target", target,
                              "eval_cases/regressions", *args)


def test_an_echoing_bot_fails_the_cases_made_from_its_leaks_until_it_stops_echoing(make_project) -> None:
    pytester = make_project({}, BOTS_TOML)
    pytester.makepyfile(echo_bots=ECHO_BOTS)
    project = pytester.path
    said = f"Call me back at {PHONE} about my refund."
    # the leak as production saw it: once reported as feedback, once flagged by the monitor
    (project / "chat.txt").write_text(f"user: {said}\nbot: You said: {said}\n")
    llmops(project, "feedback", "--user-id", "u-1042", "--type", "pii_leak", "--message", "it read my number out",
           "--conversation", "chat.txt", check=True)
    with Monitor(load_settings(project), console=False) as monitor:
        monitor.record(said, f"You said: {said}", 20.0, conversation_id="c-1")
    llmops(project, "cases", "from-feedback", check=True)
    llmops(project, "cases", "from-monitor-log", check=True)
    generated = _regressions(project)
    assert [path.name[:4] for path in generated] == ["fb-n", "mon-"]
    for path in generated:
        text = path.read_text()
        assert PHONE not in text and "[PHONE]" not in text.split("cases:")[1]  # a stand-in, never the number
        [case] = load_case_file(path)
        assert [f.kind for f in PiiDetector().find(case.case.turns[-1].user)] == ["phone"]

    leaking = _run_regressions(pytester, "echo")
    leaking.assert_outcomes(failed=2)  # both cases catch the echo
    leaking.stdout.fnmatch_lines(["*FAILED no_pii: expected no personal data; got found PHONE in reply"])
    _run_regressions(pytester, "polite").assert_outcomes(passed=2)
    again = llmops(project, "cases", "from-feedback", check=True)  # a rerun writes the same case: nothing new
    assert "0 case file(s) written, 1 already present" in again.stdout
    assert _regressions(project) == generated


def test_generated_cases_keep_the_system_prompt_and_pinned_target_of_their_source(make_project) -> None:
    pytester = make_project({"support.yaml": """
defaults:
  system: "You are Acme's support assistant. Never read out contact details."
cases:
  - id: callback
    target: echo
    turns: [{user: "Call me back at 415-555-0142 about my refund."}]
"""}, BOTS_TOML.replace('target = "echo"', 'target = "polite"'))
    pytester.makepyfile(echo_bots=ECHO_BOTS)
    project = pytester.path
    pytester.runpytest("--llmops", "-p", "no:cacheprovider", "--llmops-results=results.json").assert_outcomes(
        failed=1)
    llmops(project, "feedback", "--user-id", "u-7", "--type", "pii_leak", "--message", "leak",
           "--conversation", "results.json", check=True)
    system = "You are Acme's support assistant. Never read out contact details."
    with Monitor(load_settings(project), console=False) as monitor:
        monitor.record("My mail is jane.doe@example.com", "You said: My mail is jane.doe@example.com", 20.0,
                       conversation_id="c-9", system=system, target="echo")
    llmops(project, "cases", "from-feedback", check=True)
    llmops(project, "cases", "from-monitor-log", check=True)
    generated = _regressions(project)
    assert len(generated) == 2
    for path in generated:
        [case] = load_case_file(path)
        assert (case.system, case.target) == (system, "echo"), path.name
    # they replay under those conditions: against the pinned echo bot, whatever the run's target
    _run_regressions(pytester, "polite").assert_outcomes(failed=2)


def test_a_wrong_answer_case_catches_a_sampling_model_that_rewords_the_same_wrong_claim(make_project) -> None:
    pytester = make_project({}, BOTS_TOML)
    pytester.makepyfile(echo_bots=ECHO_BOTS)
    project = pytester.path
    reply = ("Thanks for asking! You can return any item within 14 days of delivery for a full refund. Please "
             "start the return from the Orders page and keep the original packaging if you can.")
    (project / "chat.txt").write_text(f"user: How long do I have to return an item?\nbot: {reply}\n")
    llmops(project, "feedback", "--user-id", "u-1042", "--type", "wrong_answer", "--message", "policy is 30 days",
           "--conversation", "chat.txt", check=True)
    llmops(project, "cases", "from-feedback", check=True)
    [path] = _regressions(project)
    [case] = load_case_file(path)
    assert case.turn_expects[0].not_contains is None  # not the 170-character reply, which is never said again
    # five runs each: the reworded wrong claim fails every one, the right answer passes every one
    wrong = _run_regressions(pytester, "wrong", "--llmops-repeat", "5", "--llmops-results=wrong.json")
    wrong.assert_outcomes(failed=1)
    assert json.loads((project / "wrong.json").read_text())["cases"][0]["repeat"]["passed_runs"] == 0
    right = _run_regressions(pytester, "right", "--llmops-repeat", "5")
    right.assert_outcomes(passed=1)

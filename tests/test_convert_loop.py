"""The whole feedback loop: a leak seen in a conversation becomes a case that fails until the bot is fixed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmops.cases import Case, LoadedCase, Turn
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

"""Variables between turns (`save`, `{name}`) and per-file `vars` that parametrise cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_llmops.cases import load_case_file
from pytest_llmops.checks.checker import Checker
from pytest_llmops.errors import CaseFileError
from pytest_llmops.replay import replay_case
from pytest_llmops.targets.base import Message, Target
from pytest_llmops.transcript import Reply
from pytest_llmops.variables import capture, fill, literal, references


class EchoTarget(Target):
    """A real target that repeats the user's message and keeps every request it got."""

    kind = "echo"

    def __init__(self, replies: dict[str, str] | None = None):
        super().__init__("echo")
        self.requests: list[list[Message]] = []
        self.replies = replies or {}

    def send(self, messages: list[Message], session: dict[str, Any]) -> Reply:
        self.requests.append([dict(m) for m in messages])
        user = messages[-1]["content"]
        return Reply(self.replies.get(user, f"You said: {user}"))


def _load(tmp_path: Path, text: str):
    path = tmp_path / "case.yaml"
    path.write_text(text)
    return load_case_file(path)


def test_fill_references_and_literal_braces():
    assert references("Order {order_id} for {name}, not {{this}} or {1,3}") == ["order_id", "name"]
    assert fill("Order {order_id}, {{literal}}", {"order_id": "48212"}) == "Order 48212, {literal}"
    assert fill("a.b {x}", {"x": "1.5"}, escape=True) == r"a.b 1\.5"


def test_capture_takes_first_group_or_whole_match_and_reports_misses():
    found = capture({"order": r"Order (\d+)", "ticket": r"T-\d+", "missing": r"Refund (\d+)"},
                    "Order 48212 shipped. Ticket T-12345.")
    assert found.saved == {"order": "48212", "ticket": "T-12345"}
    assert found.missing == {"missing": r"Refund (\d+)"}


def test_saved_value_is_sent_in_later_turns_and_checked_in_expectations(tmp_path):
    [case] = _load(tmp_path, r"""
cases:
  - id: ticket
    system: "Ticket desk for {shop}"
    vars: {shop: Acme}
    turns:
      - user: "open a ticket"
        save: {ticket: 'ticket (T-\d+)'}
      - user: "What is the status of {ticket}?"
        expect: {contains: ["{ticket}"], matches: "status of {ticket}\\?"}
""")
    target = EchoTarget({"open a ticket": "Done: ticket T-40417 is open."})
    transcript = replay_case(case, target)
    assert target.requests[0][0] == {"role": "system", "content": "Ticket desk for Acme"}
    assert target.requests[1][-1]["content"] == "What is the status of T-40417?"
    assert target.requests[1][-2] == {"role": "assistant", "content": "Done: ticket T-40417 is open."}
    turns = Checker().check_transcript(transcript, case.turn_expects)
    assert all(not turn.failed for turn in turns), [t.failed for t in turns]
    assert [c.actual for c in turns[0].checks if c.check == "save"] == ["saved ticket = 'T-40417'"]


def test_regex_expectations_escape_the_value(tmp_path):
    [case] = _load(tmp_path, r"""
cases:
  - id: escaped
    turns:
      - user: "price"
        save: {price: 'costs (\S+) dollars'}
      - user: "again {price}"
        expect: {matches: "^You said: again {price}$"}
""")
    # "1.5" must match only itself: an unescaped "." would also accept "1x5".
    target = EchoTarget({"price": "It costs 1.5 dollars", "again 1.5": "You said: again 1x5"})
    transcript = replay_case(case, target)
    turns = Checker().check_transcript(transcript, case.turn_expects)
    assert [c.check for c in turns[1].failed] == ["matches"]


FAILED_SAVE = r"""
cases:
  - id: lost-ticket
    turns:
      - user: "Where is my order #48212?"
        save: {ticket: 'ticket number is (T-\d+)'}
      - user: "What is the status of {ticket}?"
      - user: "thanks"
"""


def test_failed_capture_fails_that_turn_clearly_and_stops_the_conversation(make_project):
    result = make_project({"t.yaml": FAILED_SAVE}).runpytest("--llmops")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "turn 1: user: 'Where is my order #48212?'" in out
    assert "FAILED save: expected reply matches 'ticket number is (T-\\d+)' to save {ticket}; got no match" in out
    assert "2 later turn(s) not sent" in out
    assert "{ticket}?" not in out.split("short test summary")[0].split("FAILED save")[1]


def test_saved_values_flow_end_to_end_through_the_stub(make_project):
    result = make_project({"t.yaml": r"""
cases:
  - id: escalate-then-quote-ticket
    turns:
      - user: "I want to speak to a human"
        save: {ticket: 'ticket number is (T-\d+)'}
      - user: "My name is Ann, my ticket is {ticket}"
        expect: {contains: ["Ann", "{ticket}"]}
"""}).runpytest("--llmops", "-rA")
    # The stub does not echo the ticket in turn 2, so contains "{ticket}" fails and shows the filled-in value.
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "turn 2: user: 'My name is Ann, my ticket is T-" in out
    assert 'FAILED contains: expected reply contains "Ann", "T-' in out


def test_saved_personal_data_is_masked_in_failure_text(make_project):
    result = make_project({"t.yaml": r"""
cases:
  - id: leaks
    expect: {no_pii: false}
    turns:
      - user: "What is my phone number?"
        save: {mail: '(\S+@\S+\.com)'}
      - user: "send it to {mail}"
        expect: {contains: ["never"]}
""", }, llmops_toml="""
[tool.llmops.targets.leaky]
type = "stub"
leak = "email"
""").runpytest("--llmops", "--llmops-target", "leaky")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "jane.doe@example.com" not in out
    assert "send it to [EMAIL]" in out


BAD_VARIABLES = {
    "unknown-name": ("cases:\n  - id: a\n    turns:\n      - user: hi\n      - user: \"order {order}\"\n",
                     "case.yaml:5: cases[0].turns[1].user: unknown variable {order} (no variables are defined here"),
    "saved-later": ("cases:\n  - id: a\n    turns:\n      - user: \"use {x}\"\n      - user: hi\n        save: {x: '(a)'}\n",
                    "case.yaml:4: cases[0].turns[0].user: unknown variable {x} (it is saved by a later turn"),
    "in-expect": ("vars: {shop: Acme}\ncases:\n  - id: a\n    turns:\n      - user: hi\n"
                  "        expect: {contains: [\"{shpo}\"]}\n",
                  "case.yaml:6: cases[0].turns[0].expect.contains[0]: unknown variable {shpo} (known: shop"),
    "bad-save-regex": ("cases:\n  - id: a\n    turns:\n      - user: hi\n        save: {x: '(unclosed'}\n",
                       "case.yaml:5: cases[0].turns[0].save: invalid regular expression '(unclosed'"),
    "bad-save-name": ("cases:\n  - id: a\n    turns:\n      - user: hi\n        save: {1x: '(a)'}\n",
                      "case.yaml:5: cases[0].turns[0].save: variable name '1x' must be letters"),
    "bad-var-name": ("vars: {\"my var\": 1}\ncases:\n  - id: a\n    turns: [{user: hi}]\n",
                     "case.yaml:1: vars: variable name 'my var' must be letters"),
    "empty-var-list": ("vars: []\ncases:\n  - id: a\n    turns: [{user: hi}]\n",
                       "case.yaml:1: vars: a list of vars needs at least one set of values"),
    "var-not-in-every-set": ("vars:\n  - {order: 1}\n  - {other: 2}\ncases:\n  - id: a\n    turns: [{user: \"{order}\"}]\n",
                             "case.yaml:6: cases[0].turns[0].user: unknown variable {order} (known: other"),
    "system-in-defaults": ("defaults: {system: \"for {brand}\"}\ncases:\n  - id: a\n    turns: [{user: hi}]\n",
                           "case.yaml:1: defaults.system: unknown variable {brand}"),
    "nested-value": ("vars: {order: [1, 2]}\ncases:\n  - id: a\n    turns: [{user: hi}]\n", "case.yaml:1: vars"),
}


@pytest.mark.parametrize("kind", sorted(BAD_VARIABLES))
def test_bad_variables_are_line_numbered_load_errors(tmp_path, kind):
    text, message = BAD_VARIABLES[kind]
    with pytest.raises(CaseFileError) as raised:
        _load(tmp_path, text)
    assert any(message in str(problem).replace(str(tmp_path) + "/", "") for problem in raised.value.problems), \
        raised.value.problems


PARAMETRISED = """
vars:
  - {order: 48212, word: shipped}
  - {order: 48213, word: packed}
cases:
  - id: status
    turns:
      - user: "Where is my order #{order}?"
        expect: {contains: ["{order}", "{word}"]}
  - id: fixed
    vars: {order: 55120, word: cancel}
    turns:
      - user: "Please cancel order {order}"
        expect: {contains: ["{order}", "{word}"]}
"""


def test_a_vars_list_runs_every_case_once_per_set_with_its_own_id(make_project):
    result = make_project({"orders.yaml": PARAMETRISED}).runpytest("--llmops", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*orders.yaml::status?48212-shipped? PASSED*",
                                 "*orders.yaml::status?48213-packed? PASSED*",
                                 "*orders.yaml::fixed?48212-shipped? PASSED*",
                                 "*orders.yaml::fixed?48213-packed? PASSED*"])


def test_one_variant_can_be_selected_with_k(make_project):
    result = make_project({"orders.yaml": PARAMETRISED}).runpytest("--llmops", "-k", "status and 48213")
    result.assert_outcomes(passed=1, deselected=3)


def test_variant_ids_fall_back_to_indexes_when_values_clash(tmp_path):
    cases = _load(tmp_path, "vars: [{a: x}, {a: x}]\ncases:\n  - id: c\n    turns: [{user: \"{a}\"}]\n")
    assert [case.id for case in cases] == ["c[0]", "c[1]"]


def test_a_vars_mapping_fills_without_changing_ids(tmp_path):
    [case] = _load(tmp_path, "vars: {a: 1}\ncases:\n  - id: c\n    turns: [{user: \"n{a} {{a}}\"}]\n")
    assert case.id == "c" and case.variables == {"a": "1"}
    target = EchoTarget()
    replay_case(case, target)
    assert target.requests[0][-1]["content"] == "n1 {a}"


def test_generated_regression_cases_keep_braces_literal(tmp_path):
    from pytest_llmops.convert.core import PlannedCase, Provenance, RegressionCandidate, render_case_file
    from pytest_llmops.pii import PiiDetector

    candidate = RegressionCandidate(users=("Why does {order} show up in my reply?",), rule="wrong_answer",
                                    expect={"not_contains": ["{order}"]},
                                    source=Provenance("feedback", "fb-1", "2026-11-25T10:00:00Z"))
    planned = PlannedCase(candidate, [candidate.source])
    path = tmp_path / "generated.yaml"
    path.write_text(render_case_file(planned, PiiDetector()))
    [case] = load_case_file(path)  # no "unknown variable {order}"
    target = EchoTarget()
    transcript = replay_case(case, target)
    assert target.requests[0][-1]["content"] == "Why does {order} show up in my reply?"
    [turn] = Checker().check_transcript(transcript, case.turn_expects)
    assert [c.check for c in turn.failed] == ["not_contains"]  # the echo repeats the literal "{order}"


@given(st.text(alphabet=st.sampled_from("ab{}_1 \\\\."), max_size=30),
       st.dictionaries(st.sampled_from(["a", "b", "_1"]), st.text(max_size=5), max_size=3))
def test_literal_text_comes_back_unchanged_whatever_the_variables(text, values):
    assert references(literal(text)) == []
    assert fill(literal(text), values) == text

"""The json check: replies that must be JSON, and JSON of a schema (jsonschema), with the error path shown."""

from __future__ import annotations

import pytest
from meaning_support import case_file_problems, check_of

from target_servers import RECORDER_CONFTEST, read_records

ORDER_SCHEMA = """{type: object, required: [status, items],
                   properties: {status: {enum: [packed, shipped]},
                                items: {type: array, items: {type: object, properties: {sku: {type: string}}}}}}"""
CASES = f"""
cases:
  - id: valid
    turns:
      - user: "good"
        expect: {{json: {{schema: {ORDER_SCHEMA}}}}}
  - id: wrong-shape
    turns:
      - user: "wrong"
        expect: {{json: {{schema: {ORDER_SCHEMA}}}}}
  - id: not-json
    turns:
      - user: "prose"
        expect: {{json: true}}
  - id: json-off
    expect: {{json: true}}
    turns:
      - user: "prose"
        expect: {{json: false}}
"""
BOT = """
import json
REPLIES = {
    "good": {"status": "shipped", "items": [{"sku": "A-1"}]},
    "wrong": {"status": "lost", "items": [{"sku": 1}, {"sku": 2}], "email": "x"},
}
def reply(messages):
    text = messages[-1]["content"]
    return json.dumps(REPLIES[text]) if text in REPLIES else "Sure! Here it is: {status: shipped}"
"""


def test_json_and_schema_checks_end_to_end(make_project):
    project = make_project({"structured.yaml": CASES},
                           'target = "bot"\n[tool.llmops.targets.bot]\ntype = "python"\ncallable = "bot:reply"\n')
    project.makepyfile(bot=BOT)
    project.makeconftest(RECORDER_CONFTEST)
    result = project.runpytest("--llmops", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=2)
    records = read_records(project.path)
    assert check_of(records["valid"], "json")["actual"] == "valid JSON, matches the schema"
    assert check_of(records["wrong-shape"], "json")["actual"] == (
        "3 schema error(s): at $.items[0].sku: 1 is not of type 'string'; at $.items[1].sku: 2 is not of type "
        "'string'; at $.status: 'lost' is not one of ['packed', 'shipped']")
    assert check_of(records["not-json"], "json")["actual"] == "not JSON (Expecting value at line 1 column 1)"
    assert all(check["check"] != "json" for check in records["json-off"]["turns"][0]["checks"])
    assert ("FAILED json: expected reply is JSON matching the schema; got 3 schema error(s): at $.items[0].sku: "
            in result.stdout.str())


def test_schema_errors_are_masked(make_project):
    cases = """
cases:
  - id: leak
    expect: {no_pii: false}
    turns:
      - user: "x"
        expect: {json: {schema: {properties: {contact: {type: integer}}}}}
"""
    project = make_project({"s.yaml": cases},
                           'target = "bot"\n[tool.llmops.targets.bot]\ntype = "python"\ncallable = "bot:reply"\n')
    project.makepyfile(bot='def reply(messages):\n    return \'{"contact": "ann.lee@example.org"}\'\n')
    result = project.runpytest("--llmops", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*got 1 schema error(s): at $.contact: '[[]EMAIL]' is not of type 'integer'"])
    assert "ann.lee@example.org" not in result.stdout.str().split("FAILED json")[1]


@pytest.mark.parametrize("value, message", [
    ("{schema: {type: nope}}", "expect.json: schema is not a valid JSON Schema: 'nope' is not valid"),
    ("yes please", "expect.json: json must be true, false or {schema: {...a JSON Schema...}}"),
    ("{schema: {}, strict: true}", "expect.json: json must be true, false"),
])
def test_a_bad_json_expectation_is_a_line_numbered_error(tmp_path, value, message):
    problems = case_file_problems(tmp_path / "j.yaml", "cases:\n  - id: a\n    turns:\n      - user: hi\n"
                                                       f"        expect:\n          json: {value}\n")
    assert f"j.yaml:6: cases[0].turns[0].{message}" in problems

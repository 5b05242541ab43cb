"""Tool calls end to end: the bot (serve-stub over the openai target) calls tools, canned results go back."""

from __future__ import annotations

import pytest
from meaning_support import (bodies, case_file_problems, check_of, openai_target, serve_stub,  # noqa: F401
                             validate_results)

from target_servers import RECORDER_CONFTEST, read_records

LOOKUP = """
tools:
  - name: lookup_order
    description: Look up an order by its number
    parameters: {type: object, properties: {order_id: {type: string}}, required: [order_id]}
"""
ROUNDS = f"""
cases:
  - id: looks-it-up
{LOOKUP.replace(chr(10), chr(10) + "    ").rstrip()}
    tool_results:
      lookup_order: {{status: shipped, carrier: UPS}}
    turns:
      - user: "Where is my order #48213?"
        expect:
          tool_calls: [{{name: lookup_order, args: {{order_id: "48213"}}}}]
          contains: ["shipped", "UPS"]
      - user: "Thanks!"
        expect: {{no_tool_calls: true}}
"""


def run(make_project, cases: str, toml: str, *args: str):
    project = make_project({"tools.yaml": cases}, toml)
    project.makeconftest(RECORDER_CONFTEST)
    return project, project.runpytest("--llmops", "-p", "no:cacheprovider", "--llmops-target", "bot", *args)


def test_a_tool_round_sends_the_canned_result_and_the_final_reply_is_checked(make_project, serve_stub):
    server = serve_stub(latency_ms=30)
    project, result = run(make_project, ROUNDS, openai_target("bot", server), "--llmops-results=out.json")
    result.assert_outcomes(passed=1)
    assert validate_results(project.path / "out.json")["cases"][0]["turns"][0]["tool_calls"]
    first_turn, second_turn = read_records(project.path)["looks-it-up"]["turns"]
    assert first_turn["reply"] == "Order 48213: status: shipped, carrier: UPS."  # from the canned result
    assert first_turn["tool_calls"] == [{"name": "lookup_order", "arguments": '{"order_id": "48213"}'}]
    assert first_turn["latency_ms"] >= 60  # both of the bot's replies, 30 ms each: the user waited for both
    assert second_turn["tool_calls"] == []
    assert check_of(read_records(project.path)["looks-it-up"], "no_tool_calls", turn=2)["actual"] == "none made"
    call, answer, thanks = bodies(server)
    assert call["tools"][0]["function"]["name"] == "lookup_order" and len(call["messages"]) == 1
    assert answer["messages"][1]["role"] == "assistant" and answer["messages"][1]["content"] is None
    assert answer["messages"][2] == {"role": "tool", "tool_call_id": answer["messages"][1]["tool_calls"][0]["id"],
                                     "content": '{"status": "shipped", "carrier": "UPS"}'}
    # the next turn's history is what production keeps: the call, its result, the final reply
    assert [m["role"] for m in thanks["messages"]] == ["user", "assistant", "tool", "assistant", "user"]
    usage = first_turn["tokens"]["bot"]
    assert usage["prompt_tokens"] == sum(len(str(m.get("content") or "").split())
                                         for body in (call, answer) for m in body["messages"])


def test_the_tool_call_request_bodies_validate_against_the_official_openai_types(make_project, serve_stub):
    pytest.importorskip("openai")
    from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming
    from pydantic import TypeAdapter

    server = serve_stub()
    run(make_project, ROUNDS, openai_target("bot", server))[1].assert_outcomes(passed=1)
    adapter = TypeAdapter(CompletionCreateParamsNonStreaming)
    sent = bodies(server)
    assert len(sent) == 3
    for body in sent:
        checked = adapter.validate_python(body)
        assert [tool["function"]["name"] for tool in checked["tools"]] == ["lookup_order"]
    roles = [m["role"] for m in adapter.validate_python(sent[1])["messages"]]
    assert roles == ["user", "assistant", "tool"]


def test_wrong_arguments_or_a_missing_call_fail_naming_what_was_made(make_project, serve_stub):
    server = serve_stub()
    cases = ROUNDS.replace('args: {order_id: "48213"}', 'args: {order_id: "48212"}').replace(
        "no_tool_calls: true", "tool_calls: [{name: lookup_order}]")
    _, result = run(make_project, cases, openai_target("bot", server))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "  tool calls: lookup_order({\"order_id\": \"48213\"})",
        '  FAILED tool_calls: expected calls lookup_order({"order_id": "48212"}); got missing '
        'lookup_order({"order_id": "48212"}); made lookup_order({"order_id": "48213"})',
        "*turn 2*",
        "  FAILED tool_calls: expected calls lookup_order(); got missing lookup_order(); made no tool calls",
    ])


def test_without_a_canned_result_the_turn_ends_with_the_call(make_project, serve_stub):
    server = serve_stub()
    cases = ROUNDS.replace("    tool_results:\n      lookup_order: {status: shipped, carrier: UPS}\n", "").replace(
        'contains: ["shipped", "UPS"]', "no_error: true")
    project, result = run(make_project, cases, openai_target("bot", server))
    result.assert_outcomes(passed=1)
    turn = read_records(project.path)["looks-it-up"]["turns"][0]
    assert turn["reply"] == "" and turn["tool_calls"][0]["name"] == "lookup_order"
    assert len(bodies(server)) == 2  # one reply per turn: nothing was sent back


def test_a_bot_that_keeps_calling_tools_is_stopped_after_max_tool_rounds(make_project, serve_stub):
    server = serve_stub(tool_loop=True)
    project, result = run(make_project, ROUNDS, "max_tool_rounds = 2\n" + openai_target("bot", server))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*FAILED reply: expected a reply from the chatbot; got tool_rounds: the bot still "
                                 "called tools after 2 round(s) of results (max_tool_rounds in [[]tool.llmops])",
                                 "*1 later turn(s) not sent*"])
    assert len(bodies(server)) == 3  # the first reply and two rounds of results
    assert len(read_records(project.path)["looks-it-up"]["turns"][0]["tool_calls"]) == 3


def test_tools_from_the_target_and_the_case_are_both_offered(make_project, serve_stub):
    server = serve_stub()
    escalate = [{"type": "function", "function": {"name": "escalate_to_human", "description": "Hand over"}}]
    run(make_project, ROUNDS, openai_target("bot", server, tools=escalate))[1].assert_outcomes(passed=1)
    assert [t["function"]["name"] for t in bodies(server)[0]["tools"]] == ["escalate_to_human", "lookup_order"]


def test_streamed_tool_calls_are_put_together(make_project, serve_stub):
    server = serve_stub(token_ms=1)
    project, result = run(make_project, ROUNDS, openai_target("bot", server, stream=True))
    result.assert_outcomes(passed=1)
    turn = read_records(project.path)["looks-it-up"]["turns"][0]
    assert turn["tool_calls"] == [{"name": "lookup_order", "arguments": '{"order_id": "48213"}'}]
    assert turn["ttft_ms"] is None  # the first reply only called a tool: no content token came


def test_a_target_that_cannot_report_tool_calls_fails_those_checks(make_project, serve_stub):
    server = serve_stub()
    toml = (f'[tool.llmops.targets.bot]\ntype = "http"\nurl = "{server.url}/chat"\n')
    _, result = run(make_project, ROUNDS, toml)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*FAILED tool_calls: expected calls lookup_order(*); got the target reports no tool "
                                 "calls (openai and stub targets do)",
                                 "*FAILED no_tool_calls: expected no tool calls; got the target reports no tool calls*"])


@pytest.mark.parametrize("tools, message", [
    ("[{name: 'has space'}]", "tools: tool name 'has space' must be 1-64 letters"),
    ("[{name: a, parameters: {type: nope}}]", "tools: tool 'a': parameters is not a valid JSON Schema"),
    ("[{name: a}, {type: function, function: {name: a}}]", "tools: tool 'a' is defined twice"),
    ("[{name: a, colour: red}]", "tools: unknown tool key(s) 'colour'"),
])
def test_bad_tool_definitions_are_line_numbered_errors(tmp_path, tools, message):
    problems = case_file_problems(tmp_path / "t.yaml", f"cases:\n  - id: a\n    tools: {tools}\n    turns: [{{user: hi}}]\n")
    assert f"t.yaml:3: cases[0].{message}" in problems


def test_bad_tool_call_expectations_are_line_numbered_errors(tmp_path):
    problems = case_file_problems(tmp_path / "t.yaml", "cases:\n  - id: a\n    turns:\n      - user: hi\n"
                                                       "        expect:\n          tool_calls: [{name: a, arg: {x: 1}}]\n")
    assert "t.yaml:6: cases[0].turns[0].expect.tool_calls[0]: unknown key 'arg'" in problems

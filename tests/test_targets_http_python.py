"""The http target (templates, reply paths, session ids, GET) and the python target (sync, async, faults)."""

from __future__ import annotations

import textwrap

import pytest

from pytest_llmops.config import load_settings
from pytest_llmops.errors import ConfigError
from pytest_llmops.targets.stub_server import StubServer
from pytest_llmops.targets import build_target
from pytest_llmops.targets.http import render
from target_servers import RECORDER_CONFTEST, RawServer, read_records, respond

MEMORY_CASES = """
cases:
  - id: remembers-name
    turns:
      - user: "Hello, my name is Ann"
      - user: "What is my name?"
        expect: {contains: ["your name is Ann"]}
"""


@pytest.fixture
def server():
    stub = StubServer().start()
    yield stub
    stub.stop()


def test_render_places_values_whole_or_inside_text():
    values = {"message": "hi", "history": [{"role": "user", "content": "a"}], "session_id": None, "turn": 2}
    template = {"q": "{message}", "h": "{history}", "s": "{session_id}", "text": "turn {turn}: {message}",
                "nested": [{"m": "{message}"}], "keep": 3}
    assert render(template, values) == {"q": "hi", "h": [{"role": "user", "content": "a"}], "s": None,
                                        "text": "turn 2: hi", "nested": [{"m": "hi"}], "keep": 3}


def test_history_in_the_body_carries_the_conversation(make_project, server):
    toml = f"""
    [tool.llmops.targets.api]
    type = "http"
    url = "{server.url}/chat"
    body = {{message = "{{message}}", history = "{{history}}"}}
    reply_path = "reply"
    """
    result = make_project({"m.yaml": MEMORY_CASES}, textwrap.dedent(toml)).runpytest("--llmops", "--llmops-target",
                                                                                      "api")
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("carry", ['session_header = "X-Session-Id"', 'session_path = "session_id"'])
def test_a_session_id_from_the_bot_is_carried_to_the_next_turn(make_project, server, carry):
    # No history in the body: the server remembers the conversation only under its session id.
    body = '{message = "{message}"}' if "header" in carry else '{message = "{message}", session_id = "{session_id}"}'
    toml = f"""
    [tool.llmops.targets.api]
    type = "http"
    url = "{server.url}/chat"
    body = {body}
    {carry}
    """
    result = make_project({"m.yaml": MEMORY_CASES}, textwrap.dedent(toml)).runpytest("--llmops", "--llmops-target",
                                                                                      "api")
    result.assert_outcomes(passed=1)
    assert len(server.sessions) == 1


def test_without_carrying_the_session_the_bot_forgets(make_project, server):
    toml = f'[tool.llmops.targets.api]\ntype = "http"\nurl = "{server.url}/chat"\nbody = {{message = "{{message}}"}}\n'
    result = make_project({"m.yaml": MEMORY_CASES}, toml).runpytest("--llmops", "--llmops-target", "api")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*FAILED contains: expected reply contains \"your name is Ann\"*"])


def test_get_with_query_parameters_and_a_nested_reply_path(make_project):
    raw = RawServer(lambda conn, srv: respond(conn, 200, b'{"data": {"answers": [{"text": "We ship in 2 days."}]}}'))
    try:
        toml = f"""
        [tool.llmops.targets.api]
        type = "http"
        method = "get"
        url = "{raw.url}/ask?lang=en"
        body = {{q = "{{message}}", turn = "{{turn}}"}}
        reply_path = "data.answers.0.text"
        headers = {{X-Team = "qa"}}
        """
        cases = "cases:\n  - id: ship\n    turns: [{user: 'when do you ship?', expect: {contains: ['2 days']}}]\n"
        result = make_project({"g.yaml": cases}, textwrap.dedent(toml)).runpytest("--llmops", "--llmops-target", "api")
        result.assert_outcomes(passed=1)
        request = raw.requests[0].decode()
        assert request.startswith("GET /ask?lang=en&q=when+do+you+ship%3F&turn=1 HTTP/1.1")
        assert "x-team: qa" in request.lower()
    finally:
        raw.close()


def test_api_key_header_for_the_http_target_and_unknown_placeholders(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPPORT_KEY", "secret-123")
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.llmops.targets.api]
        type = "http"
        url = "http://127.0.0.1:9/chat"
        api_key_env = "SUPPORT_KEY"
        api_key_header = "X-Api-Key"
        api_key_prefix = ""

        [tool.llmops.targets.typo]
        type = "http"
        url = "http://127.0.0.1:9/chat"
        body = {text = "{mesage}"}
        """))
    settings = load_settings(tmp_path)
    target = build_target("api", settings)
    assert target.headers["X-Api-Key"] == "secret-123"
    assert "secret-123" not in str(target.describe())
    target.close()
    with pytest.raises(ConfigError, match=r"unknown placeholder\(s\) \{mesage\}"):
        build_target("typo", settings)


PYTHON_BOT = '''
import asyncio

def sync_bot(messages):
    return "echo: " + messages[-1]["content"] + f" ({len(messages)} messages)"

async def async_bot(messages):
    await asyncio.sleep(0.01)
    return {"text": "async echo: " + messages[-1]["content"]}

def broken_bot(messages):
    raise RuntimeError("model crashed for jane.doe@example.com")

def slow_bot(messages):
    import time
    time.sleep(5)
    return "too late"

def empty_bot(messages):
    return ""

def number_bot(messages):
    return 42
'''


def test_python_target_sync_async_and_each_fault(make_project):
    toml = "".join(f'[tool.llmops.targets.{name}]\ntype = "python"\ncallable = "chatbot:{name}_bot"\n'
                   + ("timeout_s = 0.3\n" if name == "slow" else "") for name in
                   ("sync", "async", "broken", "slow", "empty", "number"))
    cases = "cases:\n" + "".join(
        f"  - id: {name}\n    target: {name}\n    turns:\n      - user: 'hello'\n      - user: 'again'\n"
        for name in ("sync", "async", "broken", "slow", "empty", "number"))
    project = make_project({"py.yaml": cases}, toml)
    project.makepyfile(chatbot=PYTHON_BOT)
    project.makeconftest(RECORDER_CONFTEST)
    result = project.runpytest("--llmops")
    result.assert_outcomes(passed=2, failed=4)
    records = read_records(project.path)
    assert records["sync"]["turns"][1]["reply"] == "echo: again (3 messages)"
    assert records["async"]["turns"][0]["reply"] == "async echo: hello"
    result.stdout.fnmatch_lines(["*got target_error: chatbot:broken_bot raised RuntimeError: model crashed for [[]EMAIL]*"])
    result.stdout.fnmatch_lines(["*got timeout: chatbot:slow_bot did not return within 0.3 s*"])
    result.stdout.fnmatch_lines(["*got bad_response: chatbot:empty_bot returned an empty reply*"])
    result.stdout.fnmatch_lines(["*got bad_response: chatbot:number_bot returned int, expected str or a dict*"])
    assert "jane.doe@example.com" not in result.stdout.str()
    assert records["slow"]["turns"][0]["latency_ms"] < 2000


@pytest.mark.parametrize("spec, message", [
    ("no_such_module:bot", "cannot import 'no_such_module'"),
    ("chatbot:missing", "'chatbot' has no attribute 'missing'"),
    ("chatbot", "String should match pattern"),
])
def test_python_target_config_errors_are_usage_errors(make_project, spec, message):
    project = make_project({"p.yaml": "cases:\n  - id: a\n    turns: [{user: hi}]\n"},
                           f'[tool.llmops.targets.bot]\ntype = "python"\ncallable = "{spec}"\n')
    project.makepyfile(chatbot="def bot(messages):\n    return 'hi'\n")
    result = project.runpytest("--llmops", "--llmops-target", "bot")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*target 'bot'*{message}*"])


def test_a_case_pinning_an_unknown_target_is_a_collection_error_naming_the_file(make_project, server):
    cases = "defaults:\n  target: nope\ncases:\n  - id: a\n    turns: [{user: hi}]\n"
    result = make_project({"pinned.yaml": cases}).runpytest("--llmops")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*eval_cases/pinned.yaml:*case 'a': unknown target 'nope'; known targets: stub*"])
    assert server.requests == 0


def test_cases_pinned_to_different_targets_in_one_run(make_project, server):
    toml = (f'[tool.llmops.targets.api]\ntype = "http"\nurl = "{server.url}/chat"\n'
            '[tool.llmops.targets.leaky]\ntype = "stub"\nleak = "email"\n')
    cases = """
    cases:
      - id: over-http
        target: api
        turns: [{user: "How long do I have to return an item?", expect: {contains: ["30 days"]}}]
      - id: leaks
        target: leaky
        turns: [{user: "hello"}]
      - id: default-stub
        turns: [{user: "hello"}]
    """
    project = make_project({"mix.yaml": cases}, toml)
    project.makeconftest(RECORDER_CONFTEST)
    result = project.runpytest("--llmops")
    result.assert_outcomes(passed=2, failed=1)
    records = read_records(project.path)
    assert {k: r["target"]["name"] for k, r in records.items()} == {"over-http": "api", "leaks": "leaky",
                                                                    "default-stub": "stub"}
    assert server.received == ["How long do I have to return an item?"]

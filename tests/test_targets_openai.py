"""The openai target against the stub server on 127.0.0.1: multi-turn, keys, streaming, parameters."""

from __future__ import annotations

import json

import pytest

from pytest_llmops.config import load_settings
from pytest_llmops.errors import ConfigError, TargetHTTPError
from pytest_llmops.targets.stub_server import ServerFaults, StubServer
from pytest_llmops.targets import build_target
from pytest_llmops.targets.stub import StubBehaviour
from pytest_llmops.transcript import Conversation
from target_servers import RECORDER_CONFTEST, read_records
from tooling import missing_module, require

OPENAI_HOW = "the official client, in the test extra: pip install -e '.[test]'"

MEMORY_CASE = """
cases:
  - id: remembers-name
    system: "You are Acme's support assistant."
    turns:
      - user: "Hello, my name is Ann"
        expect: {contains: ["Ann"]}
      - user: "What is my name?"
        expect: {contains: ["your name is Ann"]}
  - id: return-window
    turns:
      - user: "How long do I have to return an item?"
        expect: {contains: ["30 days"]}
"""


@pytest.fixture
def stub_server():
    servers = []

    def start(**options) -> StubServer:
        behaviour = StubBehaviour(**{k: v for k, v in options.items() if k in StubBehaviour.model_fields})
        faults = ServerFaults(**{k: v for k, v in options.items() if k in ServerFaults.model_fields})
        server = StubServer(behaviour, faults).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def openai_toml(server: StubServer, **extra: str) -> str:
    lines = ["[tool.llmops.targets.bot]", 'type = "openai"', f'base_url = "{server.url}/v1"', 'model = "acme-1"']
    lines += [f"{key} = {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def test_multi_turn_conversation_sends_the_whole_history(make_project, stub_server):
    server = stub_server()
    project = make_project({"memory.yaml": MEMORY_CASE}, openai_toml(server))
    project.makeconftest(RECORDER_CONFTEST)
    result = project.runpytest("--llmops", "--llmops-target", "bot")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*llmops: target bot (openai)*"])
    assert sorted(server.received) == sorted(["Hello, my name is Ann", "What is my name?",
                                              "How long do I have to return an item?"])
    record = read_records(project.path)["remembers-name"]
    assert record["target"] == {"name": "bot", "kind": "openai", "url": None, "base_url": f"{server.url}/v1",
                                "model": "acme-1", "stream": False}  # as the results file shows it
    assert all(turn["status"] == 200 and turn["latency_ms"] > 0 for turn in record["turns"])


def test_request_body_carries_model_messages_and_parameters(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.llmops.targets.bot]\ntype = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\n'
        'temperature = 0.2\nmax_tokens = 64\nparams = {seed = 7, top_p = 0.9}\n')
    target = build_target("bot", load_settings(tmp_path))
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "a"},
                {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]
    assert target.request_body(messages) == {"model": "m", "messages": messages, "temperature": 0.2,
                                             "max_tokens": 64, "seed": 7, "top_p": 0.9}
    target.close()


def test_api_key_comes_from_the_env_var_and_never_shows(make_project, stub_server, monkeypatch):
    monkeypatch.setenv("STUB_SERVER_KEY", "sk-test-right-0123456789")
    server = stub_server(api_key_env="STUB_SERVER_KEY")
    monkeypatch.setenv("BOT_KEY", "sk-test-right-0123456789")
    project = make_project({"memory.yaml": MEMORY_CASE}, openai_toml(server, api_key_env='"BOT_KEY"'))
    project.runpytest("--llmops", "--llmops-target", "bot").assert_outcomes(passed=2)

    monkeypatch.setenv("BOT_KEY", "sk-test-wrong-9876543210")
    result = project.runpytest("--llmops", "--llmops-target", "bot", "--junitxml=junit.xml")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*FAILED reply: expected a reply from the chatbot; got http_status: HTTP 401*"])
    everything = result.stdout.str() + result.stderr.str() + (project.path / "junit.xml").read_text()
    assert "sk-test-wrong" not in everything and "sk-test-right" not in everything


def test_missing_key_env_var_is_a_usage_error_before_anything_is_sent(make_project, stub_server, monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    server = stub_server()
    project = make_project({"memory.yaml": MEMORY_CASE}, openai_toml(server, api_key_env='"NO_SUCH_KEY_VAR"'))
    result = project.runpytest("--llmops", "--llmops-target", "bot")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*target 'bot': environment variable NO_SUCH_KEY_VAR (api_key_env) is not set*"])
    assert server.requests == 0


@pytest.mark.parametrize("base_url, message", [
    ("ftp://127.0.0.1/v1", "not an http(s) URL"),
    ("127.0.0.1:8000/v1", "not an http(s) URL"),
    ("http://", "not"),
])
def test_bad_base_url_is_a_usage_error(make_project, base_url, message):
    project = make_project({"memory.yaml": MEMORY_CASE},
                           f'[tool.llmops.targets.bot]\ntype = "openai"\nbase_url = "{base_url}"\nmodel = "m"\n')
    result = project.runpytest("--llmops", "--llmops-target", "bot")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*target 'bot': base_url*{message}*"])


def test_streaming_measures_time_to_first_token_and_checks_max_ttft(make_project, stub_server):
    server = stub_server(latency_ms=30, token_ms=15)
    cases = """
    cases:
      - id: fast-first-token
        turns:
          - user: "How long do I have to return an item?"
            expect: {contains: ["30 days"], max_ttft_ms: 2000}
      - id: first-token-too-slow
        turns:
          - user: "How long does a refund take?"
            expect: {max_ttft_ms: 1}
    """
    project = make_project({"stream.yaml": cases}, openai_toml(server, stream="true"))
    project.makeconftest(RECORDER_CONFTEST)
    result = project.runpytest("--llmops", "--llmops-target", "bot", "--junitxml=junit.xml")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*FAILED max_ttft_ms: expected first token <= 1 ms; got * ms*"])
    assert '<property name="llmops_turn_1_ttft_ms"' in (project.path / "junit.xml").read_text()
    turn = read_records(project.path)["fast-first-token"]["turns"][0]
    # the bot waits 30 ms, then streams ~20 words 15 ms apart: the first token comes well before the last
    assert 25 <= turn["ttft_ms"] < turn["latency_ms"]
    assert turn["latency_ms"] - turn["ttft_ms"] > 100


def test_max_ttft_on_a_target_that_does_not_stream_fails_clearly(make_project):
    cases = """
    cases:
      - id: needs-streaming
        turns:
          - user: "hello"
            expect: {max_ttft_ms: 500}
    """
    result = make_project({"t.yaml": cases}).runpytest("--llmops")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*FAILED max_ttft_ms: expected first token <= 500 ms; got no time to first "
                                 "token measured (the target does not stream*"])


def test_the_official_openai_client_accepts_serve_stub_answers(stub_server):
    require(missing_module("openai", OPENAI_HOW))
    import openai
    server = stub_server()
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
    assert [model.id for model in client.models.list()] == ["llmops-stub"]
    completion = client.chat.completions.create(
        model="acme-1", messages=[{"role": "user", "content": "How long do I have to return an item?"}])
    assert "30 days" in completion.choices[0].message.content
    chunks = list(client.chat.completions.create(
        model="acme-1", messages=[{"role": "user", "content": "hello"}], stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).startswith("Hello!")


def test_our_request_body_validates_against_the_official_openai_types(tmp_path):
    require(missing_module("openai", OPENAI_HOW))
    from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming
    from pydantic import TypeAdapter

    (tmp_path / "pyproject.toml").write_text(
        '[tool.llmops.targets.bot]\ntype = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\n'
        'temperature = 0\nmax_tokens = 10\n')
    target = build_target("bot", load_settings(tmp_path))
    body = target.request_body([{"role": "system", "content": "s"}, {"role": "user", "content": "hi"},
                                {"role": "assistant", "content": "hello"}, {"role": "user", "content": "bye"}])
    adapter = TypeAdapter(CompletionCreateParamsNonStreaming)
    checked = adapter.validate_python(json.loads(json.dumps(body)))
    assert list(checked["messages"])[2] == {"role": "assistant", "content": "hello"}
    assert checked["model"] == "m" and checked["max_tokens"] == 10
    with pytest.raises(Exception):  # the adapter really validates: a made-up role is refused
        list(adapter.validate_python({**body, "messages": [{"role": "bot", "content": "x"}]})["messages"])
    target.close()


def test_send_raises_target_errors_not_tracebacks(tmp_path, stub_server):
    server = stub_server(http_error_on="boom", http_error_status=502)
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.llmops.targets.bot]\ntype = "openai"\nbase_url = "{server.url}/v1"\nmodel = "m"\n')
    target = build_target("bot", load_settings(tmp_path))
    with pytest.raises(TargetHTTPError) as caught:
        target.send([{"role": "user", "content": "boom"}], Conversation())
    assert caught.value.status == 502 and "HTTP 502 Bad Gateway" in str(caught.value)
    target.close()


def test_unknown_option_in_target_table_is_a_config_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.llmops.targets.bot]\ntype = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\ntemprature = 1\n')
    with pytest.raises(ConfigError, match=r"unknown option 'temprature' in \[tool.llmops.targets.bot\]; "
                                          r"did you mean 'temperature'\?"):
        build_target("bot", load_settings(tmp_path))

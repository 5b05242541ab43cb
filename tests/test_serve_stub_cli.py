"""``llmops serve-stub`` as a real subprocess: serves both APIs on 127.0.0.1, misbehaves on request, stops cleanly."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys

import httpx
import pytest

COMMAND = [sys.executable, "-m", "pytest_llmops.cli", "serve-stub"]


def start(*options: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([*COMMAND, "--port", "0", *options], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+", line)
    if not match:
        process.kill()
        raise AssertionError(f"no URL in {line!r}; stderr: {process.stderr.read()}")
    return process, match.group(0)


def test_serves_openai_and_plain_json_until_sigterm():
    process, url = start("--latency-ms", "5", "--leak", "email", "--leak-on", "refund", "--http-error-on", "crash")
    try:
        completion = httpx.post(f"{url}/v1/chat/completions", json={
            "model": "any", "messages": [{"role": "user", "content": "How long does a refund take?"}]}).json()
        text = completion["choices"][0]["message"]["content"]
        assert "business days" in text and "jane.doe@example.com" in text  # the leak switch works
        plain = httpx.post(f"{url}/chat", json={"message": "hello"})
        assert plain.json()["reply"].startswith("Hello!") and plain.headers["X-Session-Id"]
        assert httpx.post(f"{url}/chat", json={"message": "crash now"}).status_code == 500
        assert httpx.get(f"{url}/health").json()["status"] == "ok"
        bad = httpx.post(f"{url}/v1/chat/completions", json={"messages": []})
        assert bad.status_code == 400 and "model" in bad.json()["error"]["message"]
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    assert "stopped" in process.stderr.read()


@pytest.mark.parametrize("options, message", [
    (["--error-mode", "explode"], "--error-mode: Input should be 'reply' or 'raise'"),
    (["--http-error-status", "200"], "--http-error-status: Input should be greater than or equal to 400"),
    (["--port", "70000"], "--port 70000 is not a port number"),
    (["--api-key-env", "LLMOPS_SURELY_UNSET_VAR"], "environment variable LLMOPS_SURELY_UNSET_VAR is not set"),
])
def test_bad_options_are_clear_usage_errors(options, message):
    done = subprocess.run([*COMMAND, *options], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_port_in_use_is_a_clear_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = subprocess.run([*COMMAND, "--port", str(port)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


def test_serves_a_judge_an_embedder_and_tool_calls():
    from pytest_llmops.checks.judge import judge_messages, parse_verdict

    process, url = start("--judge-verdict", "fail", "--judge-score", "0.2", "--judge-fenced")
    try:
        judged = httpx.post(f"{url}/v1/chat/completions", json={
            "model": "judge", "messages": judge_messages("Answers politely.", [{"role": "user", "content": "hi"}],
                                                         "Hello!")}).json()
        answer = judged["choices"][0]["message"]["content"]
        assert answer.startswith("```json") and parse_verdict(answer).score == 0.2
        assert not parse_verdict(answer).passed and judged["usage"]["prompt_tokens"] > 0
        vectors = httpx.post(f"{url}/v1/embeddings", json={"model": "e", "input": ["a refund", "a refund"]}).json()
        assert [item["index"] for item in vectors["data"]] == [0, 1]
        assert vectors["data"][0]["embedding"] == vectors["data"][1]["embedding"] and vectors["usage"]["prompt_tokens"] == 4
        called = httpx.post(f"{url}/v1/chat/completions", json={
            "model": "bot", "messages": [{"role": "user", "content": "Where is my order 48213?"}],
            "tools": [{"type": "function", "function": {"name": "lookup_order"}}]}).json()["choices"][0]
        assert called["finish_reason"] == "tool_calls" and called["message"]["content"] is None
        assert called["message"]["tool_calls"][0]["function"] == {"name": "lookup_order",
                                                                  "arguments": '{"order_id": "48213"}'}
        bad = httpx.post(f"{url}/v1/embeddings", json={"model": "e", "input": []})
        assert bad.status_code == 400
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0


def test_a_bad_judge_option_is_a_clear_usage_error():
    done = subprocess.run([*COMMAND, "--judge-malformed", "sometimes"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "--judge-malformed: Input should be 'never', 'once' or 'always'" in done.stderr

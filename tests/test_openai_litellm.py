"""The openai target against LiteLLM's proxy: a real OpenAI-compatible server, written by others.

LiteLLM's proxy is too heavy for the test extra, so it lives in a virtual environment of
its own and the tests are pointed at its ``litellm`` command. ``.ci/run`` installs the
pinned ``litellm[proxy]==1.108.7`` (constraints in ``.ci/litellm-constraints.txt``) and
sets ``LLMOPS_LITELLM_BIN``, so these tests run on every CI run; elsewhere, without the
variable, they are skipped (tests/tooling.py). To run them here::

    python3 -m venv /tmp/litellm && /tmp/litellm/bin/pip install 'litellm[proxy]==1.108.7' -c .ci/litellm-constraints.txt
    LLMOPS_LITELLM_BIN=/tmp/litellm/bin/litellm pytest tests/test_openai_litellm.py

One proxy serves two models: ``acme-1`` answers from LiteLLM's own ``mock_response``
(no upstream at all: the proxy still parses, authenticates and routes our requests), and
``support-bot`` is a real model entry that LiteLLM forwards, with its own upstream key, to
the stub server (serve-stub) on 127.0.0.1. Nothing leaves loopback.
"""

from __future__ import annotations

import os
import socket
import subprocess
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from pytest_llmops.targets.stub_server import StubServer
from target_servers import RECORDER_CONFTEST, read_records
from test_targets_openai import MEMORY_CASE
from tooling import require

LITELLM_ENV = "LLMOPS_LITELLM_BIN"
MASTER_KEY = "sk-llmops-local-test-key-0123456789abcdef"  # what our target sends to the proxy
UPSTREAM_KEY = "sk-llmops-upstream-key-fedcba9876543210"  # what the proxy sends on to serve-stub
START_TIMEOUT_S = 180


def litellm_command() -> str:
    """The ``litellm`` executable named by LLMOPS_LITELLM_BIN; a skip (a failure in CI) without it."""
    __tracebackhide__ = True
    command = os.environ.get(LITELLM_ENV, "")
    require(None if command and os.access(command, os.X_OK) else
            f"needs LiteLLM's proxy: set {LITELLM_ENV} to the litellm command of a venv with "
            "litellm[proxy]==1.108.7 (.ci/run installs it; see this file's docstring)")
    return command


@pytest.fixture(scope="module")
def serve_stub():
    """serve-stub on 127.0.0.1, the upstream LiteLLM forwards ``support-bot`` to; it insists on the upstream key."""
    server = StubServer(model="llmops-stub").start()
    server.api_key = UPSTREAM_KEY
    yield server
    server.stop()


def proxy_config(upstream: StubServer) -> str:
    return textwrap.dedent(f"""
        model_list:
          - model_name: acme-1
            litellm_params:
              model: openai/acme-1
              api_key: not-used
              mock_response: "You can return any item within 30 days of delivery."
          - model_name: support-bot
            litellm_params:
              model: openai/llmops-stub
              api_base: {upstream.url}/v1
              api_key: {UPSTREAM_KEY}
              max_retries: 0
        litellm_settings:
          telemetry: false
        """)


@pytest.fixture(scope="module")
def litellm_proxy(tmp_path_factory, serve_stub):
    command = litellm_command()
    folder: Path = tmp_path_factory.mktemp("litellm")
    (folder / "config.yaml").write_text(proxy_config(serve_stub))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # LITELLM_LOCAL_MODEL_COST_MAP: use the cost map shipped in the package instead of fetching it from GitHub.
    env = {**os.environ, "LITELLM_MASTER_KEY": MASTER_KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    log = (folder / "proxy.log").open("wb")
    process = subprocess.Popen([command, "--config", str(folder / "config.yaml"), "--host", "127.0.0.1",
                                "--port", str(port)], cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"{url}/health/liveliness", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"LiteLLM's proxy did not start within {START_TIMEOUT_S} s (exit code "
                            f"{process.poll()}):\n{(folder / 'proxy.log').read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


def litellm_target(name: str, proxy: str, model: str, **extra: str) -> str:
    lines = [f"[tool.llmops.targets.{name}]", 'type = "openai"', f'base_url = "{proxy}/v1"', f'model = "{model}"',
             'api_key_env = "LITELLM_KEY"']
    return "\n".join(lines + [f"{key} = {value}" for key, value in extra.items()]) + "\n"


def test_openai_target_against_litellm_proxy(make_project, litellm_proxy, monkeypatch):
    monkeypatch.setenv("LITELLM_KEY", MASTER_KEY)
    toml = ('target = "litellm"\n'
            + litellm_target("litellm", litellm_proxy, "acme-1", temperature="0", max_tokens="50",
                             params="{seed = 1}")
            + litellm_target("litellm-stream", litellm_proxy, "acme-1", stream="true"))
    cases = """
    cases:
      - id: multi-turn
        system: "You are Acme's support assistant."
        turns:
          - user: "How long do I have to return an item?"
            expect: {contains: ["30 days"]}
          - user: "And for store credit?"
            expect: {contains: ["30 days"]}
      - id: streamed
        target: litellm-stream
        turns:
          - user: "How long?"
            expect: {contains: ["30 days"], max_ttft_ms: 10000}
    """
    project = make_project({"litellm.yaml": cases}, toml)
    project.makeconftest(RECORDER_CONFTEST)
    project.runpytest("--llmops").assert_outcomes(passed=2)
    assert read_records(project.path)["streamed"]["turns"][0]["ttft_ms"] is not None

    monkeypatch.setenv("LITELLM_KEY", "sk-wrong-key-000")
    result = project.runpytest("--llmops")
    result.assert_outcomes(failed=2)
    assert "sk-wrong-key-000" not in result.stdout.str()


def test_openai_target_through_litellm_forwarding_to_serve_stub(make_project, litellm_proxy, serve_stub,
                                                                  monkeypatch):
    """LiteLLM as a gateway in front of a real model server: the whole conversation goes through and back.

    This is the path an LLM judge takes when its target is a LiteLLM gateway: once the
    judge lands (issue #17), its case goes here, as a judged case whose judge target is a
    ``support-bot``-style entry of this proxy, asserting the judge's request reached
    serve-stub through LiteLLM with personal data masked (see ``serve_stub.received``).
    """
    monkeypatch.setenv("LITELLM_KEY", MASTER_KEY)
    toml = ('target = "gateway"\n'
            + litellm_target("gateway", litellm_proxy, "support-bot", temperature="0")
            + litellm_target("gateway-stream", litellm_proxy, "support-bot", stream="true"))
    streamed = """
    cases:
      - id: streamed-through
        target: gateway-stream
        turns:
          - user: "How long do I have to return an item?"
            expect: {contains: ["30 days"], max_ttft_ms: 10000}
    """
    serve_stub.received.clear()
    project = make_project({"memory.yaml": MEMORY_CASE, "streamed.yaml": streamed}, toml)
    project.makeconftest(RECORDER_CONFTEST)
    project.runpytest("--llmops").assert_outcomes(passed=3)
    # serve-stub answered every turn (with the history LiteLLM passed on: it remembered the name) ...
    assert sorted(serve_stub.received) == ["Hello, my name is Ann", "How long do I have to return an item?",
                                           "How long do I have to return an item?", "What is my name?"]
    records = read_records(project.path)
    assert records["remembers-name"]["turns"][1]["reply"] == "You told me your name is Ann."
    assert records["streamed-through"]["turns"][0]["ttft_ms"] is not None
    # ... and serve-stub answers only UPSTREAM_KEY (401 otherwise): the proxy sent its own key upstream.

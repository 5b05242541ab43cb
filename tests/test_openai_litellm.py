"""The openai target against LiteLLM's proxy (a real OpenAI-compatible server, written by others) in mock mode.

LiteLLM's proxy is too heavy for the test extra, so this runs only where it is installed:
``LLMOPS_LITELLM_BIN=/path/to/venv/bin/litellm pytest tests/test_openai_litellm.py``
(``pip install 'litellm[proxy]'`` into any venv). Its ``mock_response`` mode answers
without any model or network; the proxy still parses and routes our requests.
"""

from __future__ import annotations

import os
import socket
import subprocess
import textwrap
import time

import httpx
import pytest

from target_servers import RECORDER_CONFTEST, read_records

LITELLM = os.environ.get("LLMOPS_LITELLM_BIN")
pytestmark = pytest.mark.skipif(not LITELLM, reason="set LLMOPS_LITELLM_BIN to a litellm[proxy] executable")
MASTER_KEY = "sk-llmops-local-test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def litellm_proxy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("litellm")
    (folder / "config.yaml").write_text(textwrap.dedent("""
        model_list:
          - model_name: acme-1
            litellm_params:
              model: openai/acme-1
              api_key: not-used
              mock_response: "You can return any item within 30 days of delivery."
        litellm_settings:
          telemetry: false
        """))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "LITELLM_MASTER_KEY": MASTER_KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    process = subprocess.Popen([LITELLM, "--config", str(folder / "config.yaml"), "--host", "127.0.0.1",
                                "--port", str(port)], cwd=folder, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health/liveliness", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("LiteLLM proxy did not start within 120 s")
        yield url
    finally:
        process.terminate()
        process.wait(10)


def test_openai_target_against_litellm_proxy(make_project, litellm_proxy, monkeypatch):
    monkeypatch.setenv("LITELLM_KEY", MASTER_KEY)
    toml = f"""
    target = "litellm"
    [tool.llmops.targets.litellm]
    type = "openai"
    base_url = "{litellm_proxy}/v1"
    model = "acme-1"
    api_key_env = "LITELLM_KEY"
    temperature = 0
    max_tokens = 50
    params = {{seed = 1}}
    [tool.llmops.targets.litellm-stream]
    type = "openai"
    base_url = "{litellm_proxy}/v1"
    model = "acme-1"
    api_key_env = "LITELLM_KEY"
    stream = true
    """
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
    project = make_project({"litellm.yaml": cases}, textwrap.dedent(toml))
    project.makeconftest(RECORDER_CONFTEST)
    project.runpytest("--llmops").assert_outcomes(passed=2)
    assert read_records(project.path)["streamed"]["turns"][0]["ttft_ms"] is not None

    monkeypatch.setenv("LITELLM_KEY", "sk-wrong-key-000")
    result = project.runpytest("--llmops")
    result.assert_outcomes(failed=2)
    assert "sk-wrong-key-000" not in result.stdout.str()

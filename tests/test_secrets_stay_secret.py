"""Secrets that stay secret: planted keys, header values and URL credentials, echoed back by a real
server on 127.0.0.1 in good replies and in error bodies, never reach any output of a run."""

from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from monitor_support import cli, interaction, write_jsonl

API_KEY = "Kq7Zr2Lp9Xw4Tn6Vb8Mc1Hd3Jf5Gs0Ay-apikey"  # 40 characters, no well-known shape
HEADER_TOKEN = "Hx8Wq3Ez5Rt7Yu9Io2Pa4Sd6-customtoken"
URL_USER, URL_PASSWORD = "alice", "Pw4Qe6Rt8Yu0"
SK_TOKEN = "sk-proj-Zz9Yy8Xx7Ww6Vv5Uu4"  # a key the bot says, known only by its shape
BASIC = base64.b64encode(f"{URL_USER}:{URL_PASSWORD}".encode()).decode()
#: what must never appear, not even in part: the first 10 characters of each secret
PLANTED = {"api key": API_KEY, "header value": HEADER_TOKEN, "URL password": URL_PASSWORD,
           "URL credentials": f"{URL_USER}:{URL_PASSWORD}", "Basic auth": BASIC, "sk- token": SK_TOKEN}

CASES = """
cases:
  - id: echo
    turns:
      - user: "Please echo my request headers"
        expect: {contains: ["a phrase the bot never says"]}
  - id: fails
    turns:
      - user: "Please fail"
"""


class EchoHandler(BaseHTTPRequestHandler):
    """Echoes every request header back: in a 200 reply, or (asked to fail) in a long 500 body."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        headers = " ".join(f"{name}={value}" for name, value in self.headers.items())
        if "fail" in body["message"]:
            # padding puts the API key across the 200-character cut of an error excerpt
            status, payload = 500, ("x" * 178 + " X-Api-Key=" + self.headers["X-Api-Key"] + " " + headers).encode()
        else:
            decoded = base64.b64decode(self.headers["Authorization"].split()[1]).decode()
            reply = f"I see {headers}; you are {decoded}; and here is a key: {SK_TOKEN}"
            status, payload = 200, json.dumps({"reply": reply}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{URL_USER}:{URL_PASSWORD}@127.0.0.1:{server.server_address[1]}/chat"
    server.shutdown()
    server.server_close()


def target_toml(url: str) -> str:
    return f"""
target = "bot"
[tool.llmops.targets.bot]
type = "http"
url = "{url}"
api_key_env = "PLANTED_BOT_KEY"
api_key_header = "X-Api-Key"
api_key_prefix = ""
headers = {{"X-Custom-Token" = "{HEADER_TOKEN}", "X-Team" = "support"}}
"""


def leaks(text: str) -> list[str]:
    """The planted secrets found in ``text``, whole or by their first 10 characters."""
    return [name for name, secret in PLANTED.items() if secret[:10] in text]


def test_every_output_of_a_run_is_free_of_the_planted_secrets(make_project, echo_server, monkeypatch):
    monkeypatch.setenv("PLANTED_BOT_KEY", API_KEY)
    project = make_project({"echo.yaml": CASES}, target_toml(echo_server))
    result = project.runpytest("--llmops", "-vv", "-p", "no:cacheprovider", "--junitxml=junit.xml",
                               "--html=report.html", "--self-contained-html", "--llmops-results=results.json",
                               "--llmops-record=cassettes")
    result.assert_outcomes(failed=2)
    terminal = result.stdout.str() + result.stderr.str()
    assert "I see" in terminal and "HTTP 500" in terminal  # the echoes did reach the outputs, scrubbed
    assert "[REDACTED]" in terminal
    outputs = {"terminal -vv": terminal}
    for name in ("junit.xml", "report.html", "results.json"):
        outputs[name] = (project.path / name).read_text()
    for cassette in (project.path / "cassettes").rglob("*.yaml"):
        outputs[cassette.name] = cassette.read_text()
    assert len(outputs) == 6
    replayed = project.runpytest("--llmops", "-vv", "-p", "no:cacheprovider", "--llmops-replay=cassettes")
    outputs["terminal -vv, replayed"] = replayed.stdout.str() + replayed.stderr.str()

    records = json.loads(outputs["results.json"])["cases"]
    echo = next(case for case in records if case["case_id"] == "echo")["turns"][0]["reply"]
    assert "X-Team=support" in echo  # a short, plain header value is no secret: the echo stays readable
    assert "Authorization=Basic [REDACTED]" in echo and "you are [REDACTED]" in echo
    error = next(case for case in records if case["case_id"] == "fails")["turns"][0]["error"]
    assert error.startswith("HTTP 500 Internal Server Error: xxx") and "X-Api-Key=[REDACTED]" in error

    # the monitor's log: a production bot echoing the same secrets
    write_jsonl(project.path / "traffic.jsonl", [
        interaction(1, reply=echo.replace("[REDACTED]", API_KEY) + f" {HEADER_TOKEN} {URL_USER}:{URL_PASSWORD}"),
        interaction(2, reply=None, error=f"upstream said: Authorization: Basic {BASIC}, key {API_KEY}")])
    monitored = cli(project.path, "monitor", "traffic.jsonl", env={"PLANTED_BOT_KEY": API_KEY})
    assert monitored.returncode == 0, monitored.stderr.decode()
    outputs["monitor stdout"] = monitored.stdout.decode() + monitored.stderr.decode()
    outputs["monitor log"] = (project.path / "chatbot_monitoring.log").read_text()
    assert "[REDACTED]" in outputs["monitor log"]

    assert {name: leaks(text) for name, text in outputs.items() if leaks(text)} == {}


@pytest.mark.parametrize("option, url", [("base_url", f"ftp://admin:{URL_PASSWORD}@127.0.0.1/v1"),
                                         ("base_url", f"http://admin:{URL_PASSWORD}@/v1")])
def test_a_config_error_never_prints_url_credentials(make_project, option, url):
    project = make_project({"c.yaml": "cases:\n  - id: c\n    turns: [{user: hi}]\n"},
                           f'[tool.llmops.targets.bot]\ntype = "openai"\n{option} = "{url}"\nmodel = "m"\n')
    result = project.runpytest("--llmops", "--llmops-target", "bot")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    error = result.stderr.str()
    assert "target 'bot': base_url" in error and "127.0.0.1" in error or "not an http(s) URL with a host" in error
    assert URL_PASSWORD not in error and not re.search(r"admin:\S*@", error)

"""Webhook alerts against a real HTTP server on 127.0.0.1: delivery, retries, failures that never crash."""

from __future__ import annotations

import json
import socket

import pytest

from monitor_support import LEAKED_EMAIL, Webhook, cli, interaction, make_project, read_log, write_jsonl
from pytest_llmops.config import load_settings
from pytest_llmops.monitor.service import Monitor
from pytest_llmops.monitor.alerts import WebhookAlerter


@pytest.fixture
def webhook():
    server = Webhook()
    yield server
    server.close()


def traffic(root):
    return write_jsonl(root / "traffic.jsonl", [
        interaction(1),
        interaction(2, reply=f"Contact {LEAKED_EMAIL}"),
        interaction(3, reply=None, error="upstream 503"),
        interaction(4, latency_ms=9000),  # latency is not alertable by default
    ])


def test_findings_are_posted_as_one_masked_json_alert(tmp_path, webhook):
    root = make_project(tmp_path / "p")
    traffic(root)
    result = cli(root, "monitor", "traffic.jsonl", "-q", "--alert-webhook", webhook.url)
    assert result.returncode == 0, result.stderr.decode()
    # the first finding goes out at once; the other may ride along or follow at shutdown
    totals: dict[str, int] = {}
    for body in webhook.bodies:
        for name, count in body["counts"].items():
            totals[name] = totals.get(name, 0) + count
    assert totals == {"pii": 1, "error": 1} and len(webhook.bodies) <= 2
    alert = webhook.bodies[0]
    assert alert["text"].startswith(f"llmops monitor: {sum(alert['counts'].values())} alertable finding(s)")
    assert alert["example"]["reply"] == "Contact [EMAIL]"
    assert webhook.bodies[-1]["summary"]["interactions"] == 4
    assert LEAKED_EMAIL not in json.dumps(webhook.bodies)
    everything = result.stdout.decode() + result.stderr.decode() + (root / "chatbot_monitoring.log").read_text()
    assert "secret-token-123" not in everything  # the webhook URL holds a token: never printed


def test_failed_deliveries_are_logged_and_retried(tmp_path):
    server = Webhook(fail_first=2)
    try:
        root = make_project(tmp_path / "p")
        traffic(root)
        result = cli(root, "monitor", "traffic.jsonl", "-q", "--alert-webhook", server.url)
    finally:
        server.close()
    stderr = result.stderr.decode()
    assert result.returncode == 0
    assert server.attempts == 3 and len(server.bodies) == 1
    assert "delivery failed (attempt 1 of 4, retrying): HTTP 500" in stderr
    assert "delivery failed (attempt 2 of 4, retrying): HTTP 500" in stderr


def test_a_dead_webhook_never_crashes_the_monitor_or_loses_log_lines(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = make_project(tmp_path / "p", "[tool.llmops.monitor]\nalert_retries = 1\nfail_on = [\"pii\"]\n")
    traffic(root)
    result = cli(root, "monitor", "traffic.jsonl", "-q", "--alert-webhook", f"http://127.0.0.1:{port}/hook")
    stderr = result.stderr.decode()
    assert result.returncode == 1  # from --fail-on pii, not from the dead webhook
    assert "attempt 1 of 2, retrying): ConnectError" in stderr
    assert "attempt 2 of 2, giving up" in stderr
    assert "dropped at shutdown" in stderr
    assert len(read_log(root / "chatbot_monitoring.log")) == 4
    assert "Traceback" not in stderr


def test_alerts_within_the_cooldown_are_sent_together(tmp_path, webhook):
    root = make_project(tmp_path / "p")
    alerter = WebhookAlerter(webhook.url, ["pii"], cooldown_s=30)
    with Monitor(load_settings(root), console=False, listeners=[alerter]) as monitor:
        monitor.record("a", f"mail {LEAKED_EMAIL}", 5.0)
        assert webhook.received.wait(5)  # the first one goes out at once
        for _ in range(5):
            monitor.record("b", f"mail {LEAKED_EMAIL}", 5.0)
        monitor.record("c", "fine", 5.0)
        assert len(webhook.bodies) == 1  # the others wait for the cooldown ...
    assert [body["counts"] for body in webhook.bodies] == [{"pii": 1}, {"pii": 5}]  # ... or for shutdown


def test_bad_input_can_be_alerted_on(tmp_path, webhook):
    root = make_project(tmp_path / "p")
    write_jsonl(root / "t.jsonl", [b"garbage\n", interaction(2)])
    result = cli(root, "monitor", "t.jsonl", "-q", "--alert-webhook", webhook.url, "--alert-on", "bad_input")
    assert result.returncode == 0
    assert webhook.bodies[0]["counts"] == {"bad_input": 1}


def test_the_webhook_url_can_come_from_an_environment_variable(tmp_path, webhook):
    root = make_project(tmp_path / "p", '[tool.llmops.monitor]\nalert_webhook_env = "TEST_LLMOPS_HOOK"\n')
    traffic(root)
    missing = cli(root, "monitor", "traffic.jsonl", "-q", env={"TEST_LLMOPS_HOOK": ""})
    assert missing.returncode == 2 and "TEST_LLMOPS_HOOK" in missing.stderr.decode()
    result = cli(root, "monitor", "traffic.jsonl", "-q", env={"TEST_LLMOPS_HOOK": webhook.url})
    assert result.returncode == 0 and webhook.bodies
    assert "secret-token-123" not in result.stdout.decode() + result.stderr.decode()

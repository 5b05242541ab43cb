"""Prometheus metrics (the ``monitor`` extra), scraped over real HTTP from a running monitor."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import httpx
import pytest

from monitor_support import LEAKED_EMAIL, interaction, make_project, spawn, stderr_so_far, write_jsonl
from tooling import missing_module, require


def require_prometheus_client() -> None:
    __tracebackhide__ = True
    require(missing_module("prometheus_client", "pip install -e '.[test]' or '.[monitor]'"))


def scrape(url: str) -> dict[str, float]:
    samples = {}
    for line in httpx.get(url, timeout=5).text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_counters_and_latency_histogram_are_served_for_scraping(tmp_path):
    require_prometheus_client()
    root = make_project(tmp_path / "p", "max_latency_ms = 1000\n")
    write_jsonl(root / "app.jsonl", [
        interaction(1, latency_ms=40),
        interaction(2, reply=f"mail {LEAKED_EMAIL}", latency_ms=300),
        interaction(3, latency_ms=2500),
        b"not json\n",
    ])
    process = spawn(root, "monitor", "--follow", "app.jsonl", "-q", "--metrics-port", "0")
    try:
        deadline = time.monotonic() + 15
        while not (match := re.search(r"metrics on (http://127\.0\.0\.1:\d+/metrics)", stderr_so_far(root))):
            assert time.monotonic() < deadline and process.poll() is None, stderr_so_far(root)
            time.sleep(0.05)
        url = match.group(1)
        while (samples := scrape(url)).get("llmops_monitor_interactions_total", 0) < 3:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        process.terminate()
        process.communicate(timeout=15)
    assert samples["llmops_monitor_interactions_total"] == 3
    assert samples["llmops_monitor_flagged_interactions_total"] == 2
    assert samples['llmops_monitor_findings_total{category="pii",check="no_pii"}'] == 1
    assert samples['llmops_monitor_findings_total{category="latency",check="max_latency_ms"}'] == 1
    assert samples['llmops_monitor_pii_findings_total{kind="email"}'] == 1
    assert samples["llmops_monitor_bad_input_lines_total"] == 1
    assert samples["llmops_monitor_latency_seconds_count"] == 3
    assert samples['llmops_monitor_latency_seconds_bucket{le="0.05"}'] == 1
    assert samples['llmops_monitor_latency_seconds_bucket{le="0.5"}'] == 2
    assert samples['llmops_monitor_latency_seconds_bucket{le="3.0"}'] == 3
    assert samples["llmops_monitor_latency_seconds_sum"] == pytest.approx(2.84)


def test_without_the_extra_metrics_are_a_clear_error(tmp_path):
    root = make_project(tmp_path / "p")
    write_jsonl(root / "app.jsonl", [interaction(1)])
    code = ("import sys; sys.modules['prometheus_client'] = None; from pytest_llmops.cli import main; "
            "sys.exit(main(['monitor', 'app.jsonl', '--metrics-port', '0']))")
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, timeout=60)
    assert result.returncode == 2
    assert "pip install 'pytest-llmops[monitor]'" in result.stderr.decode()


def test_a_port_in_use_is_a_clear_error(tmp_path):
    import socket

    require_prometheus_client()  # without it the run stops earlier, at the missing library
    root = make_project(tmp_path / "p")
    write_jsonl(root / "app.jsonl", [interaction(1)])
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "monitor", "app.jsonl",
                                 "--metrics-port", str(port)], cwd=root, capture_output=True, timeout=60)
    assert result.returncode == 2
    assert f"cannot serve metrics on 127.0.0.1:{port}" in result.stderr.decode()

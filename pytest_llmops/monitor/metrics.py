"""Prometheus metrics for the monitor (the ``monitor`` extra: ``pip install 'pytest-llmops[monitor]'``).

Counters per finding and per kind of personal data, bad input lines, and a latency
histogram, in a registry of the monitor's own (no global state), served over HTTP for
Prometheus to scrape. Bound to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError

LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 30, 60)


class PrometheusMetrics:
    """A monitor listener that exposes what it hears as Prometheus metrics on ``host:port``."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        try:
            import prometheus_client as prom
        except ImportError:
            raise ConfigError("metrics need the prometheus-client library: "
                              "pip install 'pytest-llmops[monitor]'") from None
        self.registry = prom.CollectorRegistry(auto_describe=True)
        self.interactions = prom.Counter("llmops_monitor_interactions", "Interactions checked by the monitor.",
                                         registry=self.registry)
        self.flagged = prom.Counter("llmops_monitor_flagged_interactions",
                                    "Interactions with at least one finding.", registry=self.registry)
        self.findings = prom.Counter("llmops_monitor_findings", "Failed checks, by category and check.",
                                     ["category", "check"], registry=self.registry)
        self.pii = prom.Counter("llmops_monitor_pii_findings", "Replies with personal data, by kind.",
                                ["kind"], registry=self.registry)
        self.bad_lines = prom.Counter("llmops_monitor_bad_input_lines",
                                      "Input lines that were not usable interaction records.",
                                      registry=self.registry)
        self.latency = prom.Histogram("llmops_monitor_latency_seconds", "Reply latency.",
                                      buckets=LATENCY_BUCKETS_S, registry=self.registry)
        try:
            self._server, self._thread = prom.start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise ConfigError(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}") from None
        self.host = host
        self.port = int(self._server.server_port)
        self._finding_children: dict[tuple[str, str], Any] = {}

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def interaction(self, entry: dict[str, Any], categories: set[str], latency_ms: float | None) -> None:
        self.interactions.inc()
        if latency_ms is not None:
            self.latency.observe(latency_ms / 1000)
        findings = entry["findings"]
        if not findings:
            return
        self.flagged.inc()
        for finding in findings:
            key = (finding["category"], finding["check"])
            child = self._finding_children.get(key)
            if child is None:
                child = self._finding_children[key] = self.findings.labels(*key)
            child.inc()
            for kind in finding.get("pii_kinds", ()):
                self.pii.labels(kind).inc()

    def bad_input(self, where: str, reason: str) -> None:
        self.bad_lines.inc()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

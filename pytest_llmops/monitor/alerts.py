"""Alerts: POST a JSON message to a webhook when the monitor sees findings worth waking someone for.

Delivery happens on a background thread, so a slow or dead webhook never holds up the
monitor. The first alertable finding is sent at once; more within ``cooldown_s`` are
counted and sent together afterwards. A failed delivery is logged and retried with
backoff; counts that could not be delivered are kept for the next alert, and whatever
is still pending when the monitor stops gets a last try. Alert bodies carry only
masked text (the logged entry), and the webhook URL, which often holds a token, is
never written anywhere.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

import httpx

from .log import DIAGNOSTICS_LOGGER_NAME

USER_AGENT = "pytest-llmops-monitor"


class WebhookAlerter:
    """A monitor listener that turns alertable findings into webhook POSTs."""

    def __init__(self, url: str, alert_on: list[str], *, cooldown_s: float = 60, retries: int = 3,
                 timeout_s: float = 5, backoff_s: float = 0.5,
                 summary: Callable[[], dict[str, Any]] | None = None) -> None:
        self._url = url
        self.alert_on = set(alert_on)
        self.cooldown_s = cooldown_s
        self.retries = retries
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s
        self.summary = summary
        self.sent = 0
        self.failed_deliveries = 0
        self.log = logging.getLogger(DIAGNOSTICS_LOGGER_NAME)
        self._lock = threading.Lock()
        self._pending: dict[str, int] = {}
        self._example: dict[str, Any] | None = None
        self._last_sent: float | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._client = httpx.Client(timeout=timeout_s, headers={"user-agent": USER_AGENT})
        self._worker = threading.Thread(target=self._run, name="llmops-monitor-alerts", daemon=True)
        self._worker.start()

    def __repr__(self) -> str:  # the URL may hold a token
        return f"WebhookAlerter(alert_on={sorted(self.alert_on)}, sent={self.sent})"

    # -- listener ---------------------------------------------------------------------------------

    def _wanted(self, categories: set[str]) -> set[str]:
        return set(categories) if "any" in self.alert_on else categories & self.alert_on

    def interaction(self, entry: dict[str, Any], categories: set[str], latency_ms: float | None) -> None:
        wanted = self._wanted(categories)
        if not wanted:
            return
        with self._lock:
            for category in wanted:
                self._pending[category] = self._pending.get(category, 0) + 1
            if self._example is None:
                self._example = entry
        self._wake.set()

    def bad_input(self, where: str, reason: str) -> None:
        if not self.alert_on & {"bad_input", "any"}:
            return
        with self._lock:
            self._pending["bad_input"] = self._pending.get("bad_input", 0) + 1
        self._wake.set()

    def close(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._worker.join(timeout=(self.retries + 1) * (self.timeout_s + self.backoff_s * 4) + 1)
        self._client.close()

    # -- delivery ---------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(timeout=0.5)
            self._wake.clear()
            stopping = self._stopping.is_set()
            if self._due(stopping):
                self._send_pending(final=stopping)
            if stopping:
                return

    def _due(self, stopping: bool) -> bool:
        with self._lock:
            if not self._pending:
                return False
        if stopping or self._last_sent is None:
            return True
        return time.monotonic() - self._last_sent >= self.cooldown_s

    def _send_pending(self, final: bool) -> None:
        with self._lock:
            counts, self._pending = self._pending, {}
            example, self._example = self._example, None
        payload = self._payload(counts, example)
        self._last_sent = time.monotonic()
        if self._deliver(payload):
            self.sent += 1
            return
        if final:
            self.log.error("alert not delivered; %s finding(s) dropped at shutdown", sum(counts.values()))
            return
        with self._lock:  # keep them for the next alert
            for category, count in counts.items():
                self._pending[category] = self._pending.get(category, 0) + count
            if self._example is None:
                self._example = example

    def _payload(self, counts: dict[str, int], example: dict[str, Any] | None) -> dict[str, Any]:
        total = sum(counts.values())
        names = ", ".join(f"{count} {name}" for name, count in sorted(counts.items()))
        payload: dict[str, Any] = {
            "source": "pytest-llmops monitor",
            "text": f"llmops monitor: {total} alertable finding(s): {names}",
            "sent_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "counts": counts,
            "example": example,
        }
        if self.summary is not None:
            payload["summary"] = self.summary()
        return payload

    def _deliver(self, payload: dict[str, Any]) -> bool:
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                response = self._client.post(self._url, json=payload)
                if 200 <= response.status_code < 300:
                    return True
                problem = f"HTTP {response.status_code}"
                retryable = response.status_code >= 500 or response.status_code in (408, 429)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {self._scrub(str(exc))}"
                retryable = True
            self.failed_deliveries += 1
            if not retryable or attempt == attempts:
                self.log.error("alert webhook delivery failed (attempt %d of %d, giving up): %s",
                               attempt, attempts, problem)
                return False
            self.log.warning("alert webhook delivery failed (attempt %d of %d, retrying): %s",
                             attempt, attempts, problem)
            time.sleep(self.backoff_s * 2 ** (attempt - 1))
        return False  # pragma: no cover

    def _scrub(self, text: str) -> str:
        return text.replace(self._url, "<webhook>")

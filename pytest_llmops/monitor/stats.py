"""Counting what the monitor saw, in memory that does not grow with traffic.

A monitor may run for weeks over millions of interactions, so latencies go into a
log-bucketed histogram (fixed size, about 1% relative error on percentiles) rather
than a list. Counters are plain dicts keyed by finding name.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from ..checks.names import CATEGORIES, category_of

class LatencyHistogram:
    """Latencies in log-spaced buckets: fixed memory, percentiles within ~1%."""

    GROWTH = 1.02  # each bucket is 2% wider than the one before: half of that is the error
    LOWEST_MS = 0.01
    BUCKETS = 1400  # 0.01 ms * 1.02**1400 is about 1e10 ms: anything above lands in the last bucket
    HIGHEST_MS = LOWEST_MS * GROWTH ** BUCKETS

    def __init__(self) -> None:
        self.counts = [0] * self.BUCKETS
        self.count = 0
        self.total_ms = 0.0
        self.min_ms = math.inf
        self.max_ms = 0.0
        self._log_growth = math.log(self.GROWTH)

    def add(self, latency_ms: float) -> None:
        if latency_ms <= self.LOWEST_MS:
            index = 0
        elif latency_ms >= self.HIGHEST_MS:  # including infinity, whose logarithm is no index
            index = self.BUCKETS - 1
        else:
            index = min(int(math.log(latency_ms / self.LOWEST_MS) / self._log_growth) + 1, self.BUCKETS - 1)
        self.counts[index] += 1
        self.count += 1
        self.total_ms += latency_ms
        if latency_ms < self.min_ms:
            self.min_ms = latency_ms
        if latency_ms > self.max_ms:
            self.max_ms = latency_ms

    def percentile(self, fraction: float) -> float | None:
        """The latency below which ``fraction`` of the values lie (None when empty)."""
        if not self.count:
            return None
        rank = max(1, math.ceil(fraction * self.count))
        seen = 0
        for index, bucket in enumerate(self.counts):
            seen += bucket
            if seen >= rank:
                if index == 0:
                    return self.min_ms
                # the middle of the bucket, clamped to what was really seen
                low = self.LOWEST_MS * self.GROWTH ** (index - 1)
                middle = low * (1 + self.GROWTH) / 2
                return min(max(middle, self.min_ms), self.max_ms)
        return self.max_ms  # pragma: no cover - counts always add up to count

    def summary(self) -> dict[str, float | None]:
        return {
            "p50": _round(self.percentile(0.50)),
            "p95": _round(self.percentile(0.95)),
            "p99": _round(self.percentile(0.99)),
            "max": _round(self.max_ms if self.count else None),
            "mean": _round(self.total_ms / self.count if self.count else None),
        }


def _round(value: float | None) -> float | None:
    if value is None:
        return None
    return round(value, 1 if value >= 10 else 3)


@dataclass
class Stats:
    """What one stretch of monitoring saw: interactions, findings, bad input, latencies."""

    started: float = field(default_factory=time.time)
    interactions: int = 0
    flagged: int = 0  # interactions with at least one finding
    bad_lines: int = 0
    checks_failed: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    pii_kinds: dict[str, int] = field(default_factory=dict)
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)

    def add(self, latency_ms: float | None, failed_checks: list[str], pii_kinds: list[str]) -> None:
        self.interactions += 1
        if latency_ms is not None:
            self.latency.add(latency_ms)
        if failed_checks:
            self.flagged += 1
            seen_categories = set()
            for check in failed_checks:
                self.checks_failed[check] = self.checks_failed.get(check, 0) + 1
                seen_categories.add(category_of(check))
            for category in seen_categories:
                self.categories[category] += 1
            for kind in pii_kinds:
                self.pii_kinds[kind] = self.pii_kinds.get(kind, 0) + 1

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary: counts, the rate of each category, latency percentiles."""
        total = self.interactions
        return {
            "interactions": total,
            "flagged": self.flagged,
            "bad_lines": self.bad_lines,
            "findings": dict(self.categories),
            "rates": {name: round(count / total, 4) if total else 0.0 for name, count in self.categories.items()},
            "checks_failed": dict(sorted(self.checks_failed.items())),
            "pii_kinds": dict(sorted(self.pii_kinds.items())),
            "latency_ms": self.latency.summary(),
            "seconds": round(time.time() - self.started, 3),
        }


def format_summary(summary: dict[str, Any], title: str = "summary") -> str:
    """The summary as a few human lines for the console."""
    latency = summary["latency_ms"]

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:g} ms"

    rates = ", ".join(f"{name} {summary['findings'][name]} ({summary['rates'][name]:.1%})" for name in CATEGORIES)
    lines = [
        f"llmops monitor {title}: {summary['interactions']} interaction(s), {summary['flagged']} flagged, "
        f"{summary['bad_lines']} bad line(s) in {summary['seconds']:g} s",
        f"  findings: {rates}",
        f"  latency: p50 {ms(latency['p50'])}, p95 {ms(latency['p95'])}, p99 {ms(latency['p99'])}, "
        f"max {ms(latency['max'])}",
    ]
    if summary["pii_kinds"]:
        lines.append("  personal data: " + ", ".join(f"{k} {v}" for k, v in summary["pii_kinds"].items()))
    return "\n".join(lines)

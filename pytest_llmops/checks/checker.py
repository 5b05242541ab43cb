"""Turning one exchange plus its expectations into check results.

Every check runs and reports, passed or failed, so a failure lists all that went
wrong, not only the first thing. Text in a result is masked: it may go anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..cases import Expect
from ..pii import PiiDetector
from ..transcript import CheckResult, Exchange, Transcript, TurnResult
from ..text import quote_list, stored_excerpt
from ..variables import fill_expect, save_checks
from . import names
from .names import DEFAULT_ERROR_PHRASES

if TYPE_CHECKING:
    from ..config import Settings


def ttft_check(limit_ms: float, ttft_ms: float | None) -> CheckResult:
    """Time to first token within ``limit_ms``; a target that does not stream cannot pass it."""
    if ttft_ms is None:
        return CheckResult(names.MAX_TTFT_MS, False, f"first token <= {limit_ms:g} ms",
                           "no time to first token measured (the target does not stream; "
                           "set stream = true on an openai target)")
    return CheckResult(names.MAX_TTFT_MS, ttft_ms <= limit_ms, f"first token <= {limit_ms:g} ms", f"{ttft_ms:.0f} ms")


@dataclass
class Checker:
    """The project-wide check settings: defaults every reply gets, error phrases, the PII detector."""

    base: Expect = field(default_factory=lambda: Expect(max_latency_ms=5000, no_pii=True, no_error=True))
    error_phrases: tuple[str, ...] = tuple(DEFAULT_ERROR_PHRASES)
    detector: PiiDetector = field(default_factory=PiiDetector)

    @classmethod
    def from_settings(cls, settings: "Settings") -> "Checker":
        return cls(
            base=Expect(max_latency_ms=settings.max_latency_ms, no_pii=True, no_error=True),
            error_phrases=tuple(settings.error_phrases),
            detector=PiiDetector.from_settings(settings.pii),
        )

    def check_exchange(self, exchange: Exchange, expect: Expect | None = None) -> list[CheckResult]:
        """Every check that applies to this exchange, in a fixed order."""
        rule = self.base.merged(expect)
        if exchange.reply is None:
            return [CheckResult(names.REPLY, False, "a reply from the chatbot",
                                f"{exchange.error_kind or 'error'}: "
                                f"{stored_excerpt(self.detector.mask(exchange.error or ''))}")]
        reply = exchange.reply
        results: list[CheckResult] = []
        if rule.no_error:
            lowered = reply.lower()
            phrase = next((p for p in self.error_phrases if p.lower() in lowered), None)
            results.append(CheckResult(names.NO_ERROR, phrase is None, "no error in the reply",
                                       f"error phrase {phrase!r} in reply" if phrase else "no error"))
        if rule.max_latency_ms is not None and exchange.latency_ms is not None:
            results.append(CheckResult(names.MAX_LATENCY_MS, exchange.latency_ms <= rule.max_latency_ms,
                                       f"<= {rule.max_latency_ms:g} ms", f"{exchange.latency_ms:.0f} ms"
                                       + (" (recorded)" if exchange.latency_recorded else "")))
        if rule.max_ttft_ms is not None:
            results.append(ttft_check(rule.max_ttft_ms, exchange.ttft_ms))
        if rule.no_pii:
            findings = self.detector.with_allowlist(rule.allow_pii or ()).find(reply)
            kinds = sorted({f.kind for f in findings})
            actual = f"found {', '.join(k.upper() for k in kinds)} in reply" if findings else "none found"
            results.append(CheckResult(names.NO_PII, not findings, "no personal data", actual, pii_kinds=kinds))
        results.extend(self._content_checks(rule, reply))
        results.extend(save_checks(exchange, self.detector.mask))
        return results

    def _content_checks(self, rule: Expect, reply: str) -> list[CheckResult]:
        results = []
        lowered = reply.lower()
        if rule.contains:
            missing = [s for s in rule.contains if s.lower() not in lowered]
            results.append(CheckResult(names.CONTAINS, not missing, f"reply contains {quote_list(rule.contains)}",
                                       f"missing {quote_list(missing)}" if missing else "all present"))
        if rule.not_contains:
            present = [s for s in rule.not_contains if s.lower() in lowered]
            results.append(CheckResult(names.NOT_CONTAINS, not present,
                                       f"reply does not contain {quote_list(rule.not_contains)}",
                                       f"found {quote_list(present)}" if present else "none present"))
        if rule.matches:
            unmatched = [p for p in rule.matches if not re.search(p, reply)]
            results.append(CheckResult(names.MATCHES, not unmatched, f"reply matches {quote_list(rule.matches)}",
                                       f"no match for {quote_list(unmatched)}" if unmatched else "all match"))
        if rule.not_matches:
            matched = [p for p in rule.not_matches if re.search(p, reply)]
            results.append(CheckResult(names.NOT_MATCHES, not matched,
                                       f"reply does not match {quote_list(rule.not_matches)}",
                                       f"{quote_list(matched)} matched" if matched else "none match"))
        if rule.equals is not None:
            same = reply.strip() == rule.equals.strip()
            results.append(CheckResult(names.EQUALS, same, f"reply equals {self.detector.mask(rule.equals)!r}",
                                       "equal" if same else "a different reply"))
        return results

    def check_transcript(self, transcript: Transcript, expects: tuple[Expect, ...]) -> list[TurnResult]:
        """Check every exchange of a replayed conversation against its turn's expectations."""
        # {name} in a case's expectations takes the values the turn was sent with ({{ is a literal brace)
        return [TurnResult(exchange, self.check_exchange(exchange, fill_expect(expects[exchange.turn - 1],
                                                                               exchange.variables)))
                for exchange in transcript.exchanges]

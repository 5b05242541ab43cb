"""Turning one exchange plus its expectations into check results.

Every check runs and reports, passed or failed, so a failure lists all that went
wrong, not only the first thing. Text in a result is masked: it may go anywhere.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ..cases import Expect
from ..pii import PiiDetector, SecretDetector
from ..pii.conversation import ConversationMasker
from ..redaction import Scrubber, configured_secrets
from ..text import quote_list, stored_excerpt
from ..transcript import CheckResult, Conversation, Exchange, Transcript, TurnResult
from ..variables import fill_expect, save_checks
from . import names
from .judge import Judge, judge_check
from .leaks import system_prompt_leak_check
from .names import DEFAULT_ERROR_PHRASES
from .refusal import PhraseRefusalDetector, RefusalDetector, refusal_check, refusal_detector
from .secrets import no_secrets_check
from .similarity import Embedder, similar_check
from .structured import json_check
from .tokens import max_tokens_check
from .tools import no_tool_calls_check, tool_calls_check

if TYPE_CHECKING:
    from ..config import Settings

CLEAN_CACHE = 4096  # short texts kept cleaned per checker ...
CLEAN_CACHE_CHARS = 200  # ... up to this long (replies are not worth keeping)


def ttft_check(limit_ms: float, ttft_ms: float | None, recorded: bool = False) -> CheckResult:
    """Time to first token within ``limit_ms``; a reply without one (not streamed) cannot pass it.

    ``recorded``: the reply was replayed from a cassette, so a missing time says how it was
    recorded, not what the target can do today.
    """
    if ttft_ms is None:
        why = ("the cassette was recorded without streaming, so it holds no first-token time; re-record it "
               "with stream = true on the target: pytest --llmops --llmops-record=DIR" if recorded else
               "the target does not stream; set stream = true on an openai target")
        return CheckResult(names.MAX_TTFT_MS, False, f"first token <= {limit_ms:g} ms",
                           f"no time to first token measured ({why})")
    return CheckResult(names.MAX_TTFT_MS, ttft_ms <= limit_ms, f"first token <= {limit_ms:g} ms", f"{ttft_ms:.0f} ms")


def error_phrase(reply: str, user: str, phrases: tuple[str, ...]) -> str | None:
    """The first error phrase the reply says on its own account, if any.

    A reply that quotes the user ("I got an error: something went wrong") is not an
    error reply for that: a phrase counts only where the reply holds it more often than
    the user's message of the same turn does.
    """
    lowered, said = reply.lower(), user.lower()
    for phrase in phrases:
        wanted = phrase.lower()
        if wanted in lowered and lowered.count(wanted) > said.count(wanted):
            return phrase
    return None


def default_expect(max_latency_ms: float = 5000) -> Expect:
    """What every reply is checked for unless a case or turn turns it off."""
    return Expect(max_latency_ms=max_latency_ms, no_pii=True, no_error=True, no_secrets=True,
                  no_system_prompt_leak=True)


@dataclass(frozen=True)
class TurnContext:
    """What the checks that look beyond the reply need: the conversation up to it, and which run it was.

    ``history`` is what the bot had seen (system prompt, earlier turns, this turn's user
    message); ``conversation`` names the case and run for the judge's and embedder's cassettes.
    """

    history: list[dict[str, Any]]
    conversation: Conversation


@dataclass
class Checker:
    """The project-wide check settings: defaults every reply gets, error phrases, the PII and secret
    detector, the scrubber that keeps the run's secrets out of what the checks say, how long a leaked
    run of the system prompt is, what counts as a refusal, and the judge and embedder when the run has
    them (built by the front that owns the targets)."""

    base: Expect = field(default_factory=default_expect)
    error_phrases: tuple[str, ...] = tuple(DEFAULT_ERROR_PHRASES)
    detector: PiiDetector = field(default_factory=PiiDetector)
    scrubber: Scrubber = field(default_factory=Scrubber)
    leak_min_words: int = 8
    refusal: RefusalDetector = field(default_factory=PhraseRefusalDetector)
    refusal_judged: bool = False  # [tool.llmops.refusal] judge = true: the judge decides what phrases do not
    judge: Judge | None = None
    embedder: Embedder | None = None

    @classmethod
    def from_settings(cls, settings: "Settings") -> "Checker":
        """The checker ``[tool.llmops]`` describes; ConfigError for settings it cannot honour."""
        return cls(
            base=default_expect(settings.max_latency_ms),
            error_phrases=tuple(settings.error_phrases),
            detector=PiiDetector.from_settings(settings.pii, SecretDetector.from_settings(settings.secrets)),
            scrubber=Scrubber(configured_secrets(settings.targets)),
            leak_min_words=settings.leaks.min_words,
            refusal=refusal_detector(settings.refusal),
            refusal_judged=settings.refusal.judge,
        )

    def __post_init__(self) -> None:
        # check texts repeat ("none found", "<= 5000 ms"): short ones are cleaned once each
        self._clean_short = functools.lru_cache(maxsize=CLEAN_CACHE)(self._clean_alone)

    def _clean_alone(self, text: str) -> str:
        return self.detector.mask(self.scrubber.text(text))

    def clean(self, text: str, masker: ConversationMasker | None = None) -> str:
        """``text`` as it may be shown anywhere: secrets scrubbed, then personal data masked (fragments of what
        ``masker``'s conversation said before included). The one way chatbot and check text leaves the engine."""
        if masker is None:
            return self._clean_text(text, None)
        if masker.has_seen(text):  # a user message or reply the checks looked at: found already
            return masker.mask(self.scrubber.text(text))
        return self._clean_text(text, masker.mask_fragments)

    def check_exchange(self, exchange: Exchange, expect: Expect | None = None, context: "TurnContext | None" = None,
                       masker: ConversationMasker | None = None) -> list[CheckResult]:
        """Every check that applies to this exchange, in a fixed order (the judge's last: it costs most), its
        texts cleaned (:meth:`clean`).

        ``masker`` remembers the personal data of the turns before (one per conversation, see
        :meth:`check_transcript`); the turn's user message is added to it first. ``context``: the
        conversation up to this reply, for the judge and the embedder.
        """
        masker = masker or self.detector.conversation()
        masker.find(exchange.user)  # the reply must not give it back, not even in part
        rule = self.base.merged(expect)
        if context is None and (rule.refusal is not None or rule.similar is not None or rule.judge is not None):
            context = TurnContext([{"role": "user", "content": exchange.user}], Conversation())
        results = self._checks(exchange, rule, masker, context)  # context: only the checks above read it
        # made just now: cleaned in place, as clean() would (check texts are never a message the checks saw)
        fragments = masker.mask_fragments if masker.remembers else None
        for result in results:
            result.expected = self._clean_text(result.expected, fragments)
            result.actual = self._clean_text(result.actual, fragments)
        return results

    def _clean_text(self, text: str, fragments: Callable[[str], str] | None) -> str:
        cleaned = self._clean_short(text) if len(text) <= CLEAN_CACHE_CHARS else self._clean_alone(text)
        return fragments(cleaned) if fragments is not None else cleaned

    def _checks(self, exchange: Exchange, rule: Expect, masker: ConversationMasker,
                context: "TurnContext | None") -> list[CheckResult]:
        if exchange.reply is None:
            return [CheckResult(names.REPLY, False, "a reply from the chatbot",
                                f"{exchange.error_kind or 'error'}: "
                                f"{stored_excerpt(self.detector.mask(exchange.error or ''))}")]
        reply = exchange.reply
        results: list[CheckResult] = []
        if rule.no_error:
            phrase = error_phrase(reply, exchange.user, self.error_phrases)
            results.append(CheckResult(names.NO_ERROR, phrase is None, "no error in the reply",
                                       f"error phrase {phrase!r} in reply" if phrase else "no error"))
        if rule.max_latency_ms is not None and exchange.latency_ms is not None:
            results.append(CheckResult(names.MAX_LATENCY_MS, exchange.latency_ms <= rule.max_latency_ms,
                                       f"<= {rule.max_latency_ms:g} ms", f"{exchange.latency_ms:.0f} ms"
                                       + (" (recorded)" if exchange.latency_recorded else "")))
        if rule.max_ttft_ms is not None:
            results.append(ttft_check(rule.max_ttft_ms, exchange.ttft_ms, exchange.latency_recorded))
        if rule.no_pii:
            findings = masker.find(reply, self.detector.with_allowlist(rule.allow_pii or ()))
            kinds = sorted({f.kind for f in findings})
            actual = f"found {', '.join(k.upper() for k in kinds)} in reply" if findings else "none found"
            results.append(CheckResult(names.NO_PII, not findings, "no personal data", actual, pii_kinds=kinds))
        else:
            masker.find(reply)  # not judged, still remembered: later turns may give it back in part
        if rule.no_secrets:
            results.append(no_secrets_check(self.detector.secrets, reply))
        if rule.no_system_prompt_leak and (exchange.system or exchange.canary):
            results.append(system_prompt_leak_check(reply, exchange.system, exchange.canary, self.leak_min_words))
        if rule.refusal is not None and context is not None:
            results.append(refusal_check(self.refusal, reply, rule.refusal, judged=self.refusal_judged,
                                         judge=self.judge, history=context.history,
                                         conversation=context.conversation, mask=self.detector.mask))
        results.extend(self._content_checks(rule, reply))
        results.extend(self._structure_checks(rule, exchange))
        if context is not None:
            results.extend(self._meaning_checks(rule, reply, context))
        if exchange.saved or exchange.save_missing:
            results.extend(save_checks(exchange))
        return results

    def _structure_checks(self, rule: Expect, exchange: Exchange) -> list[CheckResult]:
        """The reply's shape, its tool calls and its tokens: deterministic, nothing sent anywhere."""
        mask = self.detector.mask
        results = []
        if rule.json_reply:
            results.append(json_check(rule.json_reply, exchange.reply or "", mask))
        if rule.tool_calls:
            results.append(tool_calls_check(rule.tool_calls, exchange.tool_calls, mask))
        if rule.no_tool_calls:
            results.append(no_tool_calls_check(exchange.tool_calls, mask))
        if rule.max_tokens is not None:
            results.append(max_tokens_check(rule.max_tokens, exchange.usage))
        return results

    def _meaning_checks(self, rule: Expect, reply: str, context: TurnContext) -> list[CheckResult]:
        """Similarity and the judge: these ask other models (cached, masked)."""
        results = []
        if rule.similar is not None:
            results.append(similar_check(self.embedder, rule.similar, reply, context.conversation, self.detector.mask))
        if rule.judge is not None:
            results.append(judge_check(self.judge, rule.judge, context.history, reply, context.conversation,
                                       self.detector.mask))
        return results

    def _content_checks(self, rule: Expect, reply: str) -> list[CheckResult]:
        results: list[CheckResult] = []
        if not (rule.contains or rule.not_contains or rule.matches or rule.not_matches or rule.equals is not None):
            return results
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
            results.append(CheckResult(names.EQUALS, same, f"reply equals {rule.equals!r}",
                                       "equal" if same else "a different reply"))
        return results

    def check_transcript(self, transcript: Transcript, expects: tuple[Expect, ...],
                         masker: ConversationMasker | None = None) -> list[TurnResult]:
        """Check every exchange of a replayed conversation against its turn's expectations, in order, with one
        masker for the conversation (pass your own to mask its turns afterwards with all it learned)."""
        masker = masker or self.detector.conversation()
        conversation = Conversation(case_key=transcript.case_key, run=transcript.run)
        try:
            # {name} in a case's expectations takes the values the turn was sent with ({{ is a literal brace)
            return [TurnResult(exchange, self.check_exchange(
                        exchange, fill_expect(expects[exchange.turn - 1], exchange.variables),
                        TurnContext(transcript.history_before(exchange), conversation), masker))
                    for exchange in transcript.exchanges]
        finally:
            for helper in (self.judge, self.embedder):
                if helper is not None:
                    helper.end(conversation)

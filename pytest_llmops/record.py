"""Building a case's record: every run checked, masked once, combined under the repeat threshold.

This is where chatbot text leaves the engine: user messages, replies, faults and saved
values are cleaned here, once (secrets scrubbed, personal data and fragments of it
masked: :meth:`Checker.clean`), and cut to a bounded excerpt (``text.STORED_TEXT_CHARS``,
saying so) so a huge reply is never copied whole into every output. Every output (failure
text, JUnit, summaries, HTML, results JSON, the gate) reads the
:class:`~pytest_llmops.results.CaseResult` built here. Tokens are counted here too, priced
per model, in three accounts: the bot's replies, and apart from them the judge's verdicts
and the embedder's vectors.
"""

from __future__ import annotations

import statistics
from typing import Any, Callable

from .cases import LoadedCase
from .checks import Checker
from .checks.names import TOKEN_ACCOUNT_OF_CHECK
from .checks.tokens import Pricing
from .redaction import public_description
from .repeat import RepeatPlan
from .results import (CaseResult, FailedCheck, LatencySpread, RepeatRecord, RunRecord, TargetInfo, TokenUsage, Tokens,
                      TurnRecord, sum_tokens)
from .text import stored_excerpt
from .transcript import Transcript, TurnResult, Usage
from .variables import fill


def target_info(description: dict[str, Any]) -> TargetInfo:
    """``Target.describe()`` as the record shows it: secrets dropped, URLs without credentials."""
    return TargetInfo.model_validate({"name": "?", "kind": "?", "url": None, **public_description(description)})


def token_usage(usages: list[Usage], pricing: Pricing) -> TokenUsage | None:
    """The usages summed and priced (each by its own model); None when there are none."""
    total = None
    for usage in usages:
        cost = pricing.cost(usage)
        priced = TokenUsage(prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                            total_tokens=usage.total_tokens, cost_usd=None if cost is None else round(cost, 9),
                            unpriced_models=[] if cost is not None else [usage.model or "unknown model"])
        total = priced if total is None else total + priced
    return total


def turn_tokens(result: TurnResult, pricing: Pricing) -> Tokens | None:
    """What one turn cost, per account: the bot's reply, the judge's verdicts, the embedder's vectors."""
    spent: dict[str, list[Usage]] = {"bot": [result.exchange.usage] if result.exchange.usage else []}
    for check in result.checks:
        account = TOKEN_ACCOUNT_OF_CHECK.get(check.check)
        if account is not None and check.usage is not None:
            spent.setdefault(account, []).append(check.usage)
    tokens = Tokens(**{account: token_usage(usages, pricing) for account, usages in spent.items()})
    return None if tokens.is_empty() else tokens


def turn_record(result: TurnResult, mask: Callable[[str], str], pricing: Pricing | None = None) -> TurnRecord:
    """One checked exchange as the record keeps it: every text through ``mask`` (:meth:`Checker.clean`), then cut.

    Masking comes first, on the whole text, so a cut never splits a value the detector
    would have recognised and leaves half of it readable.
    """
    exchange = result.exchange

    def kept(text: str) -> str:
        return stored_excerpt(mask(text))

    calls = None if exchange.tool_calls is None else [{"name": call.name, "arguments": kept(call.arguments)}
                                                      for call in exchange.tool_calls]
    return TurnRecord(
        turn=exchange.turn,
        user=kept(exchange.user),
        reply=None if exchange.reply is None else kept(exchange.reply),
        latency_ms=exchange.latency_ms,
        ttft_ms=exchange.ttft_ms,
        status=exchange.status,
        error=None if exchange.error is None else kept(exchange.error),
        error_kind=exchange.error_kind,
        retries=exchange.retries,
        latency_recorded=exchange.latency_recorded,
        saved={name: kept(value) for name, value in exchange.saved.items()},
        checks=result.checks,
        passed=not result.failed,
        tokens=turn_tokens(result, pricing or Pricing()),
        tool_calls=calls,
    )


def run_record(case: LoadedCase, transcript: Transcript, checker: Checker, pricing: Pricing | None = None) -> RunRecord:
    """One run of a case, checked (judge and embedder included): every turn against its expectations.

    One masker serves the whole conversation: by the time the turns are masked it knows
    all the personal data the conversation held, so a fragment of it is masked in any turn.
    """
    masker = checker.detector.conversation()
    results = checker.check_transcript(transcript, case.turn_expects, masker)
    turns = [turn_record(result, lambda text: checker.clean(text, masker), pricing) for result in results]
    passed = all(turn.passed for turn in turns) and transcript.skipped_turns == 0
    failed = [FailedCheck(turn=turn.turn, check=check.check, actual=check.actual)
              for turn in turns for check in turn.checks if not check.passed]
    return RunRecord(run=transcript.run, passed=passed, failed_checks=failed, skipped_turns=transcript.skipped_turns,
                     latency_ms=[turn.latency_ms for turn in turns], turns=turns)


def _spread(values: list[float]) -> LatencySpread:
    return LatencySpread(min=round(min(values), 3), median=round(statistics.median(values), 3),
                         max=round(max(values), 3), runs=len(values))


def _latency_spread(runs: list[RunRecord]) -> dict[str, LatencySpread]:
    """Per turn (a string key, as JSON needs): min, median and max latency over the runs that got there."""
    by_turn: dict[int, list[float]] = {}
    for run in runs:
        for turn in run.turns:
            if turn.latency_ms is not None:
                by_turn.setdefault(turn.turn, []).append(turn.latency_ms)
    return {str(turn): _spread(values) for turn, values in sorted(by_turn.items())}


def case_result(case: LoadedCase, nodeid: str, target: TargetInfo, runs: list[RunRecord],
                plan: RepeatPlan, probe_category: str | None = None,
                clean: Callable[[str], str] | None = None) -> CaseResult:
    """The case's record from its runs: passed when enough runs passed (every run, without a threshold).

    The turns shown are the first failing run's when the case failed, else the first
    passing run's; a repeated case keeps every run in ``repeat``. ``clean`` (the checker's)
    makes the system prompt fit to keep; without it, the record holds none.
    """
    passed_runs = sum(run.passed for run in runs)
    passed = passed_runs >= plan.required
    shown = next((index for index, run in enumerate(runs) if run.passed == passed), 0)
    repeat = None
    if plan.repeated:
        repeat = RepeatRecord(runs=plan.runs, min_pass=plan.required, passed_runs=passed_runs, shown_run=shown + 1,
                              results=runs, latency_ms=_latency_spread(runs))
    return CaseResult(nodeid=nodeid, case_id=case.id, file=str(case.path), line=case.line,
                      description=case.case.description, tags=list(case.tags), target=target,
                      target_pinned=case.target is not None, system=system_prompt(case, clean), passed=passed,
                      turns=runs[shown].turns, skipped_turns=runs[shown].skipped_turns,
                      outcome="passed" if passed else "failed", repeat=repeat, probe_category=probe_category,
                      tokens=sum_tokens(turn.tokens for run in runs for turn in run.turns))


def system_prompt(case: LoadedCase, clean: Callable[[str], str] | None) -> str | None:
    """The system prompt as the case sent it (its fixed variables filled in), cleaned: feedback about this
    conversation, and the regression case made of it, replay it under the same prompt."""
    if not case.system or clean is None:
        return None
    return clean(fill(case.system, case.variables))


def judged_case(case: LoadedCase, nodeid: str, target: TargetInfo, transcripts: list[Transcript],
                checker: Checker, plan: RepeatPlan, pricing: Pricing | None = None,
                probe_category: str | None = None) -> CaseResult:
    """Check every run's transcript and build the case's record (``probe_category``: a library probe's)."""
    return case_result(case, nodeid, target,
                       [run_record(case, transcript, checker, pricing) for transcript in transcripts], plan,
                       probe_category, checker.clean)


def unjudged_case(case: LoadedCase, nodeid: str, target: TargetInfo, outcome: str = "error",
                  probe_category: str | None = None) -> CaseResult:
    """The record of a case its checks never judged (skipped, setup error, crash): no turns."""
    return CaseResult(nodeid=nodeid, case_id=case.id, file=str(case.path), line=case.line,
                      description=case.case.description, tags=list(case.tags), target=target,
                      target_pinned=case.target is not None, passed=False, outcome=outcome,
                      probe_category=probe_category)

"""Building a case's record: every run checked, masked once, combined under the repeat threshold.

This is where chatbot text leaves the engine: user messages, replies, faults and saved
values are masked here, once, and cut to a bounded excerpt (``text.STORED_TEXT_CHARS``,
saying so) so a huge reply is never copied whole into every output. Every output
(failure text, JUnit, summaries, HTML, results JSON, the gate) reads the
:class:`~pytest_llmops.results.CaseResult` built here.
"""

from __future__ import annotations

import statistics
from typing import Any

from .cases import LoadedCase
from .checks import Checker
from .redaction import public_description
from .repeat import RepeatPlan
from .results import CaseResult, FailedCheck, LatencySpread, RepeatRecord, RunRecord, TargetInfo, TurnRecord
from .text import stored_excerpt
from .transcript import Transcript, TurnResult


def target_info(description: dict[str, Any]) -> TargetInfo:
    """``Target.describe()`` as the record shows it: secrets dropped, URLs without credentials."""
    return TargetInfo.model_validate({"name": "?", "kind": "?", "url": None, **public_description(description)})


def turn_record(result: TurnResult, mask: Any) -> TurnRecord:
    """One checked exchange as the record keeps it: personal data masked, then long text cut.

    Masking comes first, on the whole text, so a cut never splits a value the detector
    would have recognised and leaves half of it readable.
    """
    exchange = result.exchange

    def kept(text: str) -> str:
        return stored_excerpt(mask(text))

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
    )


def run_record(case: LoadedCase, transcript: Transcript, checker: Checker) -> RunRecord:
    """One run of a case, checked: every turn against its expectations."""
    mask = checker.detector.mask
    turns = [turn_record(result, mask) for result in checker.check_transcript(transcript, case.turn_expects)]
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
                plan: RepeatPlan) -> CaseResult:
    """The case's record from its runs: passed when enough runs passed (every run, without a threshold).

    The turns shown are the first failing run's when the case failed, else the first
    passing run's; a repeated case keeps every run in ``repeat``.
    """
    passed_runs = sum(run.passed for run in runs)
    passed = passed_runs >= plan.required
    shown = next((index for index, run in enumerate(runs) if run.passed == passed), 0)
    repeat = None
    if plan.repeated:
        repeat = RepeatRecord(runs=plan.runs, min_pass=plan.required, passed_runs=passed_runs, shown_run=shown + 1,
                              results=runs, latency_ms=_latency_spread(runs))
    return CaseResult(nodeid=nodeid, case_id=case.id, file=str(case.path), line=case.line,
                      description=case.case.description, tags=list(case.tags), target=target, passed=passed,
                      turns=runs[shown].turns, skipped_turns=runs[shown].skipped_turns,
                      outcome="passed" if passed else "failed", repeat=repeat)


def judged_case(case: LoadedCase, nodeid: str, target: TargetInfo, transcripts: list[Transcript],
                checker: Checker, plan: RepeatPlan) -> CaseResult:
    """Check every run's transcript and build the case's record."""
    return case_result(case, nodeid, target, [run_record(case, transcript, checker) for transcript in transcripts],
                       plan)


def unjudged_case(case: LoadedCase, nodeid: str, target: TargetInfo, outcome: str = "error") -> CaseResult:
    """The record of a case its checks never judged (skipped, setup error, crash): no turns."""
    return CaseResult(nodeid=nodeid, case_id=case.id, file=str(case.path), line=case.line,
                      description=case.case.description, tags=list(case.tags), target=target, passed=False,
                      outcome=outcome)

"""The record of one replayed case, as reports, the results JSON and the gate read it.

Replies and user messages are masked here, once, before they leave the engine.
"""

from __future__ import annotations

from typing import Any

from .cases import LoadedCase
from .pii import PiiDetector
from .transcript import Transcript, TurnResult


def case_record(case: LoadedCase, nodeid: str, target: dict[str, Any], transcript: Transcript,
                turns: list[TurnResult], detector: PiiDetector) -> dict[str, Any]:
    """A JSON-ready record of one case: every turn, its timing and every check, PII masked."""
    turn_records = []
    for result in turns:
        exchange = result.exchange
        turn_records.append({
            "turn": exchange.turn,
            "user": detector.mask(exchange.user),
            "reply": None if exchange.reply is None else detector.mask(exchange.reply),
            "latency_ms": exchange.latency_ms,
            "ttft_ms": exchange.ttft_ms,
            "status": exchange.status,
            "error": None if exchange.error is None else detector.mask(exchange.error),
            "error_kind": exchange.error_kind,
            "retries": exchange.retries,
            "latency_recorded": exchange.latency_recorded,  # replayed from a cassette, not measured now
            "saved": {name: detector.mask(value) for name, value in exchange.saved.items()},
            "checks": [check.to_dict() for check in result.checks],
            "passed": not result.failed,
        })
    return {
        "nodeid": nodeid,
        "case_id": case.id,
        "file": str(case.path),
        "line": case.line,
        "description": case.case.description,
        "tags": list(case.tags),
        "target": target,
        "passed": all(turn["passed"] for turn in turn_records) and transcript.skipped_turns == 0,
        "turns": turn_records,
        "skipped_turns": transcript.skipped_turns,
    }

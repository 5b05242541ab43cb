"""Monitor log lines with findings -> regression candidates for :mod:`pytest_llmops.convert.core`.

Each finding of a flagged interaction becomes a candidate: the user turns of that
conversation up to the flagged one (as logged, so already masked), its system prompt and
target when the log line has them, and the rule the finding broke (``no_pii``, ``no_error``, ``max_latency_ms``, or the monitor's own
content rule). Planning, deduplication, idempotent writing and provenance are the
convert core's, shared with ``from-feedback``.

Logs are read twice, streaming: once to find flagged interactions, once to collect the
earlier turns of just those conversations, so memory follows the findings, not the log. The
second read parses only the lines that can belong to those conversations (:func:`_may_be_in`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from pydantic_core import from_json

from ..checks.names import CATEGORIES, category_of
from ..jsonl import BadLine, Line, iter_raw_lines, parse_line
from ..monitor.settings import MonitorSettings
from ..text import excerpt
from .core import NOTE_CHARS, REVIEW_TAGS, Provenance, RegressionCandidate, Skipped

MONITOR_TAGS = ("from-monitor", *REVIEW_TAGS)
MAX_TURNS = 20  # earlier turns kept per conversation: enough context, bounded size


@dataclass
class _Flagged:
    position: tuple[int, int]  # (file index, line number): where the interaction stands in the logs
    where: str
    entry: dict[str, Any]


def _entries(paths: list[Path], bad: list[tuple[Path, BadLine]]) -> Iterable[tuple[tuple[int, int], dict]]:
    for index, path in enumerate(paths):
        for number, raw in iter_raw_lines(path):
            line = _parse(number, raw)
            if line.record is None:
                if line.bad is not None:
                    bad.append((path, line.bad))
                continue
            yield (index, number), line.record


def _parse(number: int, raw: bytes) -> Line:
    """:func:`~pytest_llmops.jsonl.parse_line`'s answer for a log line, in about half its time.

    pydantic's JSON parser reads an object line to the same dict as ``json.loads`` (it keeps
    Python's limit on integer digits too); what it refuses (lone surrogates, nesting past its
    depth, anything malformed) or reads as no object goes to ``parse_line``, which gives the
    record or the same reason as ever."""
    try:
        record = from_json(raw)
    except (ValueError, RecursionError):
        return parse_line(number, raw)
    return Line(number, record, None, raw) if isinstance(record, dict) else parse_line(number, raw)


#: a ``"conversation_id": "..."`` pair as it stands in a line without a backslash (so without escapes)
_CONVERSATION_ID = re.compile(rb'"conversation_id"\s*:\s*"([^"\\]*)"')


def _may_be_in(raw: bytes, conversations: set[bytes]) -> bool:
    """False only when the raw log line cannot hold a turn of ``conversations`` (ids UTF-8 encoded), so
    it need not be parsed: it has no backslash (no escape could hide a name or an id) and none of its
    ``"conversation_id"`` pairs, at any depth, names one of them."""
    if b"\\" in raw:
        return True
    return any(found in conversations for found in _CONVERSATION_ID.findall(raw))


def _rule(check: str, options: MonitorSettings, max_latency_ms: float) -> tuple[str, dict[str, Any]] | None:
    """The rule (name, expect fields) a failed check asks a regression case to enforce."""
    category = category_of(check)
    if category == "pii":
        return "no_pii", {"no_pii": True}
    if category == "secret":
        return "no_secrets", {"no_secrets": True}
    if category == "error":
        return "no_error", {"no_error": True}
    if category == "latency":
        return "max_latency_ms", {"max_latency_ms": max_latency_ms}
    value = getattr(options.expect, check, None) if options.expect is not None else None
    if value is None:
        return None
    return check, {check: value}


def candidates_from_monitor_log(paths: list[Path], options: MonitorSettings, max_latency_ms: float,
                                only: Iterable[str] = CATEGORIES
                                ) -> tuple[list[RegressionCandidate], list[Skipped], list[tuple[Path, BadLine]]]:
    """Candidates from the flagged lines of monitor logs (oldest file first), skips, and malformed lines."""
    wanted = set(only)
    bad: list[tuple[Path, BadLine]] = []
    flagged: list[_Flagged] = []
    for position, entry in _entries(paths, bad):
        findings = entry.get("findings")
        if findings and isinstance(findings, list) and any(
                isinstance(f, dict) and category_of(str(f.get("check"))) in wanted for f in findings):
            flagged.append(_Flagged(position, f"{paths[position[0]].name}:{position[1]}", entry))
    history = _earlier_turns(paths, flagged)
    candidates: list[RegressionCandidate] = []
    skipped: list[Skipped] = []
    for item in flagged:
        entry = item.entry
        conversation = entry.get("conversation_id")
        source_id = f"{conversation} ({item.where})" if conversation else item.where
        user = entry.get("user")
        date = str(entry.get("timestamp") or "")
        for finding in entry["findings"]:
            if not isinstance(finding, dict) or category_of(str(finding.get("check"))) not in wanted:
                continue
            check = str(finding.get("check"))
            note = " ".join(f"{check}: {excerpt(str(finding.get('actual', '')), NOTE_CHARS)}".split())
            source = Provenance("monitor", source_id, date, note)
            if not isinstance(user, str) or not user.strip():
                skipped.append(Skipped(source, "no user message in the log line"))
                continue
            rule = _rule(check, options, max_latency_ms)
            if rule is None:
                skipped.append(Skipped(source, f"check {check!r} has no rule in [tool.llmops.monitor] expect"))
                continue
            name, expect = rule
            users = tuple(history.get(id(item), ())) + (user,)
            candidates.append(RegressionCandidate(users=users, rule=name, expect=expect, source=source,
                                                  tags=(*MONITOR_TAGS, category_of(check)), id_prefix="mon",
                                                  system=_text(entry.get("system")), target=_text(entry.get("target"))))
    return candidates, skipped, bad


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _earlier_turns(paths: list[Path], flagged: list[_Flagged]) -> dict[int, list[str]]:
    """For each flagged interaction, the user messages of its conversation logged before it."""
    by_conversation: dict[str, list[_Flagged]] = {}
    for item in flagged:
        conversation = item.entry.get("conversation_id")
        if isinstance(conversation, str) and conversation:
            by_conversation.setdefault(conversation, []).append(item)
    if not by_conversation:
        return {}
    turns: dict[str, list[tuple[tuple[int, int], str]]] = {key: [] for key in by_conversation}
    encoded = {key.encode("utf-8", "surrogatepass") for key in by_conversation}
    for index, path in enumerate(paths):
        for number, raw in iter_raw_lines(path):
            if not _may_be_in(raw, encoded):  # most lines: no need to parse them again
                continue
            entry = _parse(number, raw).record
            conversation = entry.get("conversation_id") if entry is not None else None
            if isinstance(conversation, str) and conversation in turns and isinstance(entry.get("user"), str):
                turns[conversation].append(((index, number), entry["user"]))
    history: dict[int, list[str]] = {}
    for conversation, items in by_conversation.items():
        for item in items:
            earlier = [text for position, text in turns[conversation] if position < item.position]
            history[id(item)] = earlier[-(MAX_TURNS - 1):]
    return history

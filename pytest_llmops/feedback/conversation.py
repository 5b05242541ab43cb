"""Finding the conversation a piece of feedback is about, in the files people have at hand.

Accepted (from a file, or ``-`` for standard input): pasted text (``user: ...`` /
``bot: ...`` lines), a JSON list of turns, a
transcript or results JSON written by pytest-llmops (one conversation per case record,
picked by case id or node id), or a YAML case file (user turns only, picked by case id).
Everything is turned into plain ``{"user", "reply", ...}`` turn dicts for
:func:`pytest_llmops.feedback.conversation_turns`, with the system prompt and pinned
target when the file says (a case file, a results record).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

from ..cases import is_case_file_name
from ..errors import FeedbackError

USER_ROLES = ("user", "you", "customer", "human")
BOT_ROLES = ("bot", "assistant", "reply", "agent", "chatbot")
ROLE_RE = re.compile(rf"^\s*({'|'.join(USER_ROLES + BOT_ROLES)})\s*:\s?(.*)$", re.I)
ID_KEYS = ("case_id", "nodeid", "id")
MAX_DEPTH = 6
STDIN = "-"


def parse_pasted(text: str) -> list[dict[str, Any]]:
    """Turns from ``user: ...`` / ``bot: ...`` lines; other lines continue the message above them."""
    turns: list[dict[str, Any]] = []
    key = None  # the field that continuation lines extend
    for number, line in enumerate(text.splitlines(), start=1):
        match = ROLE_RE.match(line)
        if match:
            content = match.group(2).strip()
            if match.group(1).lower() in USER_ROLES:
                turns.append({"user": content})
                key = "user"
                continue
            if not turns:
                raise FeedbackError(f"line {number}: a bot reply before any user message")
            key = "reply"
            earlier = turns[-1].get("reply")
            turns[-1]["reply"] = f"{earlier}\n{content}" if earlier else content
        elif not line.strip():
            continue
        elif key is None:
            raise FeedbackError(f"line {number}: expected 'user: ...' or 'bot: ...'")
        else:
            turns[-1][key] = f"{turns[-1][key]}\n{line.strip()}"
    if not turns:
        raise FeedbackError("no turns found; write one 'user: ...' line per message and 'bot: ...' per reply")
    return turns


@dataclass
class FoundConversation:
    """A conversation found in a file: the names it can be picked by, its turns, and what it ran with."""

    names: set[str]
    turns: list[dict[str, Any]]
    system: str | None = None  # the system prompt (a case file's, or a results record's)
    target: str | None = None  # the target the case pinned, if it did


def _is_turn_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(t, dict) and "user" in t for t in value)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _context(record: dict[str, Any], inherited: dict[str, str | None]) -> dict[str, str | None]:
    """The system prompt and pinned target of a case (case file) or case record (results JSON)."""
    system = _text(record.get("system")) or inherited.get("system")
    target = record.get("target")
    if isinstance(target, dict):  # a results record: the target it ran on, pinned or not
        target = target.get("name") if record.get("target_pinned") else None
    return {"system": system, "target": _text(target) or inherited.get("target")}


def _conversations(data: Any, depth: int = 0,
                   inherited: dict[str, str | None] | None = None) -> Iterator[FoundConversation]:
    """Every conversation inside parsed JSON/YAML: case records, transcripts, case files (whose ``defaults``
    give every case their system prompt and target)."""
    inherited = inherited or {}
    if depth > MAX_DEPTH:
        return
    if _is_turn_list(data):
        yield FoundConversation(set(), data)
    elif isinstance(data, dict):
        turns = data.get("turns", data.get("exchanges"))
        if _is_turn_list(turns):
            context = _context(data, inherited)
            yield FoundConversation({str(data[k]) for k in ID_KEYS if isinstance(data.get(k), str)}, turns,
                                    context["system"], context["target"])
            return
        if isinstance(data.get("defaults"), dict):
            inherited = _context(data["defaults"], inherited)
        for value in data.values():
            yield from _conversations(value, depth + 1, inherited)
    elif isinstance(data, list):
        for item in data:
            yield from _conversations(item, depth + 1, inherited)


def _matches(names: set[str], wanted: str) -> bool:
    return wanted in names or any(name.endswith("::" + wanted) for name in names)


def conversation_choices(path: Path) -> list[FoundConversation]:
    """Every conversation in the file at ``path`` (``-``: standard input) with the names it can be picked by."""
    if str(path) == STDIN:
        text, path = sys.stdin.read(), Path("<stdin>")
        kind = ".json" if text.lstrip()[:1] in ("[", "{") else ".txt"
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise FeedbackError(f"{path}: cannot read conversation file: {exc}") from None
        kind = path.suffix
    if kind == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FeedbackError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    elif is_case_file_name(kind):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise FeedbackError(f"{path}: not valid YAML ({exc.__class__.__name__})") from None
    else:
        try:
            return [FoundConversation(set(), parse_pasted(text))]
        except FeedbackError as exc:
            raise FeedbackError(f"{path}: {exc}") from None
    found = list(_conversations(data))
    if not found:
        raise FeedbackError(f"{path}: no conversation found (expected turns with a 'user' field)")
    return found


def load_conversation(path: Path | str, case: str | None = None) -> FoundConversation:
    """The conversation in ``path``; ``case`` picks one when the file holds several."""
    path = Path(path)
    found = conversation_choices(path)
    if case is not None:
        chosen = [conversation for conversation in found if _matches(conversation.names, case)]
        if not chosen:
            raise FeedbackError(f"{path}: no conversation for case {case!r}; cases in the file: "
                                f"{', '.join(case_names(found)) or '(none named)'}")
        return chosen[0]
    if len(found) > 1:
        raise FeedbackError(f"{path} holds {len(found)} conversations; choose one with --case "
                            f"({', '.join(case_names(found)[:10])})")
    return found[0]


def case_names(found: list[FoundConversation]) -> list[str]:
    """The shortest name of each conversation, for messages and prompts."""
    return [min(conversation.names, key=len) for conversation in found if conversation.names]

"""Where this tool stores data about people, found from ``[tool.llmops.privacy]``.

Two kinds of place: JSON Lines stores holding one record per line with a top-level
``user_id`` (feedback, the monitor log and its rotated siblings), which privacy
commands may rewrite; and documents that must hold no user id at all (results JSON,
generated case files), which are only checked.
"""

from __future__ import annotations

import glob
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

from ..cases import case_files_in
from ..config import Settings
from ..monitor.rotation import rotated_siblings
from .settings import monitor_log_patterns

COMMENT_RE = re.compile(r"(?:^|\s)#(.*)$")
MIN_MENTION_CHARS = 4  # shorter ids ("42") would "occur" in any text; only exact values count for them


@dataclass(frozen=True)
class StoreFile:
    """One JSON Lines file holding records about people: which store it belongs to, and where it is."""

    store: str  # "feedback" or "monitor_log"
    path: Path

    def display(self, root: Path) -> str:
        return display_path(self.path, root)


def display_path(path: Path, root: Path) -> str:
    """``path`` relative to the project root when it lies inside, else as it is."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


@dataclass
class StoreLayout:
    """Every place of one project, resolved against its root."""

    root: Path
    jsonl_files: list[StoreFile]
    compressed: list[Path]  # rotated logs we cannot search or rewrite; reported, never ignored silently
    result_files: list[Path]
    case_files: list[Path]
    audit_log: Path


def _resolve(root: Path, pattern: str) -> list[Path]:
    """Files matching ``pattern`` (a path or a glob, relative to ``root`` or absolute), sorted."""
    if any(char in pattern for char in "*?["):
        matches = glob.glob(os.path.join(glob.escape(str(root)), pattern), recursive=True)
        return sorted(Path(p) for p in matches if os.path.isfile(p))
    path = root / pattern
    return [path] if path.is_file() else []


def layout(settings: Settings) -> StoreLayout:
    """Resolve the configured stores of ``settings.root``."""
    privacy = settings.privacy
    root = Path(settings.root)
    jsonl_files: list[StoreFile] = []
    compressed: list[Path] = []
    for pattern in privacy.feedback:
        jsonl_files.extend(StoreFile("feedback", p) for p in _resolve(root, pattern))
    for pattern in monitor_log_patterns(settings):
        bases = _resolve(root, pattern) if any(c in pattern for c in "*?[") else [root / pattern]
        for base in bases:
            if base.is_file():
                jsonl_files.append(StoreFile("monitor_log", base))
            plain, packed = rotated_siblings(base)
            jsonl_files.extend(StoreFile("monitor_log", p) for p in plain)
            compressed.extend(packed)
    audit_log = root / privacy.audit_log
    seen: set[Path] = {audit_log.resolve()}  # a broad glob must never make the audit log a store to purge
    unique = [f for f in jsonl_files if not (f.path.resolve() in seen or seen.add(f.path.resolve()))]
    result_files = sorted({p for pattern in privacy.results for p in _resolve(root, pattern)})
    if privacy.cases is None:
        case_files = case_files_in(settings.cases_path)
    else:
        case_files = sorted({p for pattern in privacy.cases for p in _resolve(root, pattern)})
    return StoreLayout(root, unique, sorted(set(compressed)), result_files, case_files, audit_log)


@dataclass
class DocumentCheck:
    """Whether one results or case file holds a user id: where (JSON paths), or why it could not be read."""

    path: Path
    kind: str  # "results" or "cases"
    places: list[str] = field(default_factory=list)
    unreadable: str | None = None

    @property
    def clean(self) -> bool:
        return not self.places and self.unreadable is None


def _walk(value: Any, where: str = "$") -> Iterator[tuple[str, str]]:
    """Every string in a parsed document, keys included, with its path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{where}.{key}", str(key)
            yield from _walk(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{where}[{index}]")
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        yield where, str(value)


def _mention_pattern(identities: Iterable[str]) -> re.Pattern[str] | None:
    long_ids = [re.escape(i) for i in identities if len(i) >= MIN_MENTION_CHARS]
    if not long_ids:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(long_ids) + r")(?![\w-])")


def user_id_places(document: Any, identities: set[str]) -> list[str]:
    """Paths in ``document`` whose value is one of ``identities`` or mentions one as a word."""
    mention = _mention_pattern(identities)
    return [where for where, text in _walk(document)
            if text in identities or (mention is not None and mention.search(text))]


def any_user_id_places(document: Any) -> list[str]:
    """Paths of ``user_id`` keys (any user): results and case files should hold none."""
    return [where for where, _ in _walk(document) if where.rsplit(".", 1)[-1] == "user_id"]


def check_document(path: Path, identities: set[str], kind: str) -> DocumentCheck:
    """Look for any ``user_id`` field and for ``identities`` (values or word mentions) in a JSON or YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        return DocumentCheck(path, kind, unreadable=f"{type(exc).__name__}: cannot parse")
    places = any_user_id_places(document)
    places += [where for where in user_id_places(document, identities) if where not in places]
    if path.suffix != ".json":
        places += comment_places(text, identities)  # generated cases name their source in comments
    return DocumentCheck(path, kind, places)


def comment_places(text: str, identities: set[str]) -> list[str]:
    """``line N (comment)`` for each YAML comment that mentions one of ``identities``."""
    mention = _mention_pattern(identities)
    places = []
    for number, line in enumerate(text.splitlines(), start=1):
        comment = COMMENT_RE.search(line)
        if comment and (mention is not None and mention.search(comment.group(1))
                        or comment.group(1).strip() in identities):
            places.append(f"line {number} (comment)")
    return places

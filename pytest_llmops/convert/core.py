"""Turning production evidence (feedback, monitor findings) into regression cases.

The reusable core is source-agnostic:

* a :class:`RegressionCandidate` is a masked conversation (user turns up to and
  including the turn at fault), the rule its last reply must satisfy, the tags and
  where it came from (:class:`Provenance`);
* :func:`plan_cases` merges candidates that ask for the same thing (same conversation,
  same rule) into one :class:`PlannedCase`, keeping every source;
* :func:`write_cases` writes one case file per planned case, atomically, never
  overwriting an existing file unless ``force`` is given, and can do a dry run.

The case id and file name derive from a hash of the conversation and the rule, so a
second run finds its own earlier files and writes nothing new. Feedback-specific
parts (which feedback type implies which rule) live in :mod:`.from_feedback`; the
monitor's converter (:mod:`.from_monitor`) builds candidates its own way and reuses the rest.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import ValidationError

from .. import jsonl
from ..cases import CaseFile, Expect, case_files_in
from ..errors import ConvertError, StorageError
from ..pii import PiiDetector
from ..pii.detector import LABEL_RE
from ..pii.stand_ins import with_stand_ins
from ..variables import literal

REVIEW_TAGS = ("needs-review",)
SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when installed: same output, faster
KEY_CHARS = 12
#: the smallest piece of a masked wrong reply still worth forbidding
MIN_FRAGMENT_CHARS = 12
NOTE_CHARS = 80
MAX_SOURCES_LISTED = 20  # in a file's header; the rest are counted
GENERATED_ID_RE = re.compile(rf"\bid:\s*['\"]?([A-Za-z0-9]+-[a-z-]+-[0-9a-f]{{{KEY_CHARS}}})\b")
MASK_LABEL_RE = LABEL_RE


@dataclass(frozen=True)
class Provenance:
    """Where a candidate came from: the kind of source, its record id and date, and a short note."""

    kind: str  # "feedback", "monitor", ...
    id: str
    date: str  # ISO 8601
    note: str = ""  # short (e.g. the feedback type and description); masked wherever it is written

    def describe(self) -> str:
        text = f"{self.kind} {self.id} ({self.date})"
        return f"{text}: {self.note}" if self.note else text


@dataclass(frozen=True)
class RegressionCandidate:
    """One regression case to be: masked user turns, the rule on the last reply, tags, provenance.

    ``users`` must already be free of personal data (the writer masks again anyway, and
    puts realistic stand-ins where the labels are). ``expect`` holds
    :class:`~pytest_llmops.cases.Expect` fields for the last turn.
    """

    users: tuple[str, ...]
    rule: str
    expect: dict[str, Any]
    source: Provenance
    tags: tuple[str, ...] = ()
    id_prefix: str = "regression"
    system: str | None = None  # the system prompt the conversation had (masked)
    target: str | None = None  # the target the source case was pinned to (or the interaction's)

    @cached_property
    def key(self) -> str:
        """Identity of what the case asks for: the same conversation, rule (and target) give the same key."""
        identity: list[Any] = [self.system, list(self.users), self.rule, self.expect]
        if self.target:  # only when set: keys of cases without one stay what they were
            identity.append(self.target)
        canonical = json.dumps(identity, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:KEY_CHARS]

    @property
    def case_id(self) -> str:
        return f"{self.id_prefix}-{self.rule.replace('_', '-')}-{self.key}"

    def with_source(self, source: Provenance) -> "RegressionCandidate":
        """The same case asked for by another source; its key is carried over, not worked out again."""
        self.key  # worked out once, before the copy: cached_property keeps it in __dict__, which is copied
        twin = object.__new__(RegressionCandidate)  # one copy per feedback record: dataclasses.replace is 5x slower
        twin.__dict__.update(self.__dict__, source=source)
        return twin


@dataclass
class PlannedCase:
    """A case to write: the first candidate with that key, and every source that asked for it."""

    candidate: RegressionCandidate
    sources: list[Provenance] = field(default_factory=list)

    @property
    def case_id(self) -> str:
        return self.candidate.case_id

    @property
    def file_name(self) -> str:
        return f"{self.case_id}.yaml"


@dataclass
class Skipped:
    """A source record that gives no case, and why."""

    source: Provenance
    reason: str


@dataclass
class WriteResult:
    """What :func:`write_cases` did (or, in a dry run, would do), path by path."""

    written: list[tuple[Path, PlannedCase]] = field(default_factory=list)
    overwritten: list[tuple[Path, PlannedCase]] = field(default_factory=list)
    existing: list[tuple[Path, PlannedCase]] = field(default_factory=list)
    dry_run: bool = False
    removed_temp_files: list[Path] = field(default_factory=list)  # left by a killed run, cleaned up


def plan_cases(candidates: Iterable[RegressionCandidate]) -> list[PlannedCase]:
    """One planned case per distinct (conversation, rule), in first-seen order, sources merged."""
    planned: dict[str, PlannedCase] = {}
    seen: set[tuple[str, Provenance]] = set()
    with jsonl.collector_paused():  # many small objects, no cycles
        for candidate in candidates:
            entry = planned.get(candidate.key)
            if entry is None:
                entry = planned[candidate.key] = PlannedCase(candidate)
            if (candidate.key, candidate.source) not in seen:
                seen.add((candidate.key, candidate.source))
                entry.sources.append(candidate.source)
    return list(planned.values())


def _masked(value: Any, detector: PiiDetector) -> Any:
    if isinstance(value, str):
        return literal(detector.mask(value))  # braces doubled: {x} in a case file is a variable
    if isinstance(value, list):
        return [_masked(item, detector) for item in value]
    return value


def case_document(planned: PlannedCase, detector: PiiDetector) -> dict[str, Any]:
    """The case file's YAML data: every string masked once more, last turn carrying the rule.

    What is sent to the bot (the system prompt and the user turns) carries realistic
    stand-ins where personal data was masked (``[PHONE]`` becomes a fictional 555-01xx
    number): a bot that echoes its input then echoes personal data, and ``no_pii`` fails
    as it should. They derive from the case's key, so a rerun writes the same values.
    """
    candidate = planned.candidate
    first = planned.sources[0]
    more = f" and {len(planned.sources) - 1} more" if len(planned.sources) > 1 else ""
    description = detector.mask(f"Regression from {first.describe()}{more}")
    expect = Expect.model_validate({key: _masked(value, detector) for key, value in candidate.expect.items()})
    conversation = detector.conversation()

    def sent(text: str) -> str:
        return literal(with_stand_ins(conversation.mask(text), candidate.key, detector))

    case: dict[str, Any] = {"id": planned.case_id, "description": description,
                            "tags": list(dict.fromkeys(candidate.tags))}
    if candidate.system:
        case["system"] = sent(candidate.system)
    if candidate.target:
        case["target"] = candidate.target
    turns: list[dict[str, Any]] = [{"user": sent(text)} for text in candidate.users]
    turns[-1]["expect"] = expect.model_dump(exclude_none=True, by_alias=True)
    case["turns"] = turns
    return {"cases": [case]}


def _one_line(text: str) -> str:
    """``text`` safe inside a YAML comment: a newline would end the comment and start YAML."""
    return " ".join(text.split())


def render_case_file(planned: PlannedCase, detector: PiiDetector) -> str:
    """The text of one generated case file: a provenance header, then the case."""
    header = ["# Generated by pytest-llmops from production evidence; review before relying on it.",
              "# Remove the needs-review tag once a person has checked the rule.",
              f"# key: {planned.candidate.key}",
              *(f"# source: {_one_line(detector.mask(source.describe()))}"
                for source in planned.sources[:MAX_SOURCES_LISTED])]
    if len(planned.sources) > MAX_SOURCES_LISTED:
        header.append(f"# ... and {len(planned.sources) - MAX_SOURCES_LISTED} more source(s)")
    document = case_document(planned, detector)
    try:
        CaseFile.model_validate(document)  # an invalid case never lands in the suite
    except ValidationError as exc:  # a bug in a converter, never the user's input
        raise ConvertError(f"generated case {planned.case_id} is invalid: {exc}") from None
    body = yaml.dump(document, Dumper=SafeDumper, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(header) + "\n" + body


def write_cases(planned: list[PlannedCase], out_dir: Path | str, detector: PiiDetector, *,
                dry_run: bool = False, force: bool = False, suite_dirs: Iterable[Path] = ()) -> WriteResult:
    """Write one file per planned case into ``out_dir``.

    An existing file of the same name is kept as it is (a reviewer may have edited it)
    unless ``force``; so running twice writes nothing new. A case whose id already stands
    in a case file under ``suite_dirs`` (a reviewer moved it into the suite proper) is not
    written again either. ``dry_run`` writes nothing and reports what would happen.
    Temporary files a killed run left in ``out_dir`` are removed first. Each file is written
    whole or not at all: every file goes to a temporary file first, then one sync makes them all
    durable and they are renamed into place (:class:`~pytest_llmops.jsonl.FileBatch`). A full
    disk or read-only folder raises StorageError saying how many files were written before it
    (the files before the one that failed are still put in place, whole).
    """
    out_dir = Path(out_dir)
    elsewhere = {} if force else case_ids_in(suite_dirs)
    result = WriteResult(dry_run=dry_run)
    if not dry_run:
        result.removed_temp_files = jsonl.remove_orphaned_temp_files(out_dir)
    present = set(os.listdir(out_dir)) if out_dir.is_dir() else set()  # one listing, not a stat per case
    to_write: list[tuple[bool, Path, PlannedCase]] = []
    with jsonl.FileBatch(mode=0o644) as batch:
        for case in planned:
            path = out_dir / case.file_name
            exists = case.file_name in present or path.exists()
            if exists and not force:
                result.existing.append((path, case))
                continue
            if case.case_id in elsewhere:
                result.existing.append((elsewhere[case.case_id], case))
                continue
            if not dry_run:
                try:
                    batch.add(path, render_case_file(case, detector).encode("utf-8"))
                except StorageError as exc:
                    done = _commit(batch)
                    raise StorageError(f"{exc}; {done} case file(s) written before it, each whole") from None
            to_write.append((exists, path, case))
        if not dry_run:
            _commit(batch, raise_with_count=True)
    for exists, path, case in to_write:
        (result.overwritten if exists else result.written).append((path, case))
    return result


def _commit(batch: jsonl.FileBatch, raise_with_count: bool = False) -> int:
    """Put the batch's files in place; how many are. A failure is raised with that count when
    ``raise_with_count``, else only counted (an earlier error is being raised, and says more)."""
    try:
        batch.commit()
    except StorageError as exc:
        if raise_with_count:
            raise StorageError(f"{exc}; {len(batch.renamed)} case file(s) written before it, each whole") from None
    return len(batch.renamed)


def case_ids_in(folders: Iterable[Path]) -> dict[str, Path]:
    """Generated-looking case ids (``prefix-rule-<12 hex>``) found in the YAML files under ``folders``."""
    found: dict[str, Path] = {}
    for folder in folders:
        for path in case_files_in(Path(folder)):
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for case_id in GENERATED_ID_RE.findall(text):
                found.setdefault(case_id, path)
    return found


def forbidden_fragment(text: str, min_chars: int = MIN_FRAGMENT_CHARS) -> str | None:
    """The text a reply must not contain again, from a masked wrong reply.

    A masked label (``[EMAIL]``) never appears in a real reply, so a string holding one
    would be a check that cannot fail; the longest stretch between labels is used instead.
    """
    text = text.strip()
    if not MASK_LABEL_RE.search(text):
        return text or None
    pieces = [piece.strip(" \t\n.,;:") for piece in MASK_LABEL_RE.split(text)]
    best = max(pieces, key=len)
    return best if len(best) >= min_chars else None


__all__ = ["Provenance", "RegressionCandidate", "PlannedCase", "Skipped", "WriteResult", "ConvertError",
           "plan_cases", "write_cases", "render_case_file", "case_document", "forbidden_fragment",
           "REVIEW_TAGS", "NOTE_CHARS", "MASK_LABEL_RE"]

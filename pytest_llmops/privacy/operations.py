"""Data-subject rights and retention over every stored record: export, erase, rectify, purge.

Each operation walks the project's stores (see :mod:`.stores`): JSON Lines
files are read tolerantly and rewritten only through :func:`jsonl.rewrite` (temporary
file, fsync, rename, under the appenders' lock), so a crash leaves the old file or the
new one and appends made meanwhile wait rather than vanish. Corrupt lines are kept and
reported. Every change is audited (a ``started`` line, then ``done`` or ``failed``)
saying what was done, never the content.
"""

from __future__ import annotations

import getpass
import json
import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from pydantic import ValidationError

from .. import jsonl
from ..clock import from_epoch, iso_z, utc_now
from ..config import Settings, load_settings
from ..errors import LlmopsError, PrivacyError, StorageError
from ..feedback.store import FeedbackRecord, check_user_id, minimise
from ..pii import PiiDetector
from ..pii.storage import storage_detector
from ..pseudonym import Pseudonymizer, is_pseudonym
from ..validation import one_line
from .settings import PrivacySettings
from .stores import DocumentCheck, StoreFile, StoreLayout, check_document, display_path, layout

EXPORT_SCHEMA = 1
PROTECTED_FIELDS = ("id", "timestamp")  # provenance of a record: corrected never, erased only with it
AGE_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
AGE_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass
class PrivacyProject:
    """One project's stores and policies. Every operation finds the store files afresh (they appear and rotate)."""

    settings: Settings
    privacy: PrivacySettings
    stores: StoreLayout
    environ: Mapping[str, str] | None = None

    @classmethod
    def load(cls, root: Path | None = None, environ: Mapping[str, str] | None = None) -> "PrivacyProject":
        settings = load_settings(root)
        return cls(settings, settings.privacy, layout(settings), environ)

    def refresh(self) -> StoreLayout:
        """Find the store files again, as they are now."""
        self.stores = layout(self.settings)
        return self.stores

    def pseudonyms(self) -> Pseudonymizer:
        """The pseudonym policy; ConfigError when ids are hashed but the key is missing."""
        return Pseudonymizer.from_privacy(self.privacy, self.environ)

    def display(self, path: Path) -> str:
        return display_path(path, self.stores.root)


@dataclass
class FileOutcome:
    """What one operation found or did in one JSON Lines file."""

    store: str
    path: Path
    matched: int = 0  # records erased / exported / purged / rectified (or that would be, in a dry run)
    kept: int = 0
    bad_lines: list[jsonl.BadLine] = field(default_factory=list)
    bad_lines_mentioning: list[int] = field(default_factory=list)  # corrupt lines that contain the subject's id
    undated: int = 0  # purge: records without a usable timestamp, kept
    corrupt_erased: list[int] = field(default_factory=list)  # erase --include-corrupt: corrupt lines removed


@dataclass
class PrivacyReport:
    """The outcome of one privacy command over every store."""

    action: str
    dry_run: bool
    files: list[FileOutcome] = field(default_factory=list)
    documents: list[DocumentCheck] = field(default_factory=list)
    compressed: list[Path] = field(default_factory=list)
    audit: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(outcome.matched for outcome in self.files)

    @property
    def complete(self) -> bool:
        """True when nothing about the subject may remain in a place this command could not handle."""
        return (all(doc.clean for doc in self.documents) and not self.compressed
                and not any(outcome.bad_lines_mentioning for outcome in self.files))


# ---------------------------------------------------------------- matching helpers

def _user_matcher(identities: set[str]) -> Callable[[dict[str, Any]], bool]:
    def matches(record: dict[str, Any]) -> bool:
        value = record.get("user_id")
        return isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) in identities
    return matches


def _mentions(raw: bytes, identities: set[str]) -> bool:
    return any(identity.encode("utf-8") in raw for identity in identities)


def _note_bad(outcome: FileOutcome, line: jsonl.Line, identities: set[str]) -> None:
    assert line.bad is not None
    outcome.bad_lines.append(line.bad)
    if identities and _mentions(line.raw, identities):
        outcome.bad_lines_mentioning.append(line.number)


def _scan(store_file: StoreFile, visit: Callable[[jsonl.Line], None]) -> None:
    """Read a store lock-free (a rewrite replaces the file atomically, so a reader sees one version)."""
    if store_file.path.exists():
        for line in jsonl.iter_lines(store_file.path):
            visit(line)


LineRule = Callable[[FileOutcome, jsonl.Line], "bytes | None"]


def _apply(report: PrivacyReport, files: list[StoreFile], rule: LineRule) -> None:
    """Run ``rule`` over every line of each file: a dry run only reads, otherwise the file is rewritten.

    ``rule`` returns the bytes to keep for a line (None drops it) and counts into the file's outcome.
    """
    for store_file in files:
        outcome = FileOutcome(store_file.store, store_file.path)

        def keep(line: jsonl.Line) -> bytes | None:
            return rule(outcome, line)

        if report.dry_run:
            _scan(store_file, keep)  # type: ignore[arg-type]
        else:
            jsonl.rewrite(store_file.path, keep)  # an error inside rule leaves the file untouched
        report.files.append(outcome)


def _subject_identities(project: PrivacyProject, user_id: str) -> tuple[Pseudonymizer, set[str]]:
    """The pseudonym policy and every stored form of ``user_id`` (refusing an empty id, which would match junk)."""
    if not user_id.strip():
        raise PrivacyError("--user-id must not be empty")
    pseudonyms = project.pseudonyms()
    return pseudonyms, pseudonyms.identities(user_id)


def _subject(pseudonyms: Pseudonymizer, user_id: str) -> str | None:
    """How the audit log names the subject: the pseudonym when a key is known, never the raw id."""
    if is_pseudonym(user_id):
        return user_id
    return sorted(pseudonyms.identities(user_id) - {user_id})[0] if pseudonyms.key else None


def _audit(project: PrivacyProject, entry: dict[str, Any]) -> dict[str, Any]:
    try:
        operator = getpass.getuser()
    except (KeyError, OSError):
        operator = None
    line = {"timestamp": iso_z(), "operator": operator, **entry}
    jsonl.append_record(project.stores.audit_log, line)
    return line


@contextmanager
def _audited(project: PrivacyProject, report: PrivacyReport,
             entry: dict[str, Any]) -> Iterator[Callable[[dict[str, Any]], None]]:
    """Audit one change: a ``started`` line first, then ``done`` (with counts) or ``failed``.

    A process killed mid-way leaves ``started`` alone, which tells the operator the
    request must be run again. Dry runs change nothing and are not audited.
    """
    if report.dry_run:
        yield lambda extra: None
        return
    request = {"request": uuid.uuid4().hex[:12], **entry}
    _audit(project, {**request, "status": "started"})

    def finish(extra: dict[str, Any]) -> None:
        report.audit = _audit(project, {**request, "status": "done", **extra})

    try:
        yield finish
    except Exception as exc:
        reason = str(exc) if isinstance(exc, LlmopsError) else f"{type(exc).__name__}: {exc}"
        try:
            _audit(project, {**request, "status": "failed", "reason": reason})
        except StorageError:
            pass  # the disk that failed the change fails this line too: ``started`` alone says "run it again"
        raise


def _file_counts(project: PrivacyProject, report: PrivacyReport) -> dict[str, int]:
    return {project.display(outcome.path): outcome.matched for outcome in report.files}


def _check_documents(project: PrivacyProject, identities: set[str]) -> list[DocumentCheck]:
    return ([check_document(path, identities, "results") for path in project.stores.result_files]
            + [check_document(path, identities, "cases") for path in project.stores.case_files])


# ---------------------------------------------------------------- export

def export_user(project: PrivacyProject, user_id: str, ticket: str | None = None,
                audit: bool = True) -> tuple[dict[str, Any], PrivacyReport]:
    """Every record about ``user_id`` from every store, as one JSON-ready document (subject access).

    With ``audit`` the export is audited at once; a caller that hands the document out
    itself passes ``audit=False`` and hands it out inside :func:`export_handover`.
    """
    pseudonyms, identities = _subject_identities(project, user_id)
    matches = _user_matcher(identities)
    project.refresh()
    report = PrivacyReport("export", dry_run=False, compressed=list(project.stores.compressed))
    stores: list[dict[str, Any]] = []
    for store_file in project.stores.jsonl_files:
        outcome = FileOutcome(store_file.store, store_file.path)
        records: list[dict[str, Any]] = []

        def visit(line: jsonl.Line) -> None:
            if line.record is None:
                _note_bad(outcome, line, identities)
            elif matches(line.record):
                records.append(line.record)
            else:
                outcome.kept += 1

        _scan(store_file, visit)
        outcome.matched = len(records)
        report.files.append(outcome)
        stores.append({
            "store": store_file.store,
            "path": project.display(store_file.path),
            "records": records,
            "corrupt_lines_mentioning_you": outcome.bad_lines_mentioning,
        })
    report.documents = _check_documents(project, identities)
    document = {
        "schema": EXPORT_SCHEMA,
        "kind": "pytest-llmops subject access export",
        "generated_at": iso_z(),
        "user_id": user_id,
        "stored_as": sorted(identities),
        "total_records": report.total,
        "stores": stores,
        "checked_without_user_ids": [
            {"path": project.display(doc.path), "holds_user_id": not doc.clean} for doc in report.documents],
        "not_searched": [project.display(path) for path in report.compressed],
    }
    if audit:
        with export_handover(project, report, user_id, ticket):
            pass
    return document, report


@contextmanager
def export_handover(project: PrivacyProject, report: PrivacyReport, user_id: str,
                    ticket: str | None = None) -> Iterator[None]:
    """Audit handing an export out (inside the ``with``): ``started`` first, then ``done`` with counts, or ``failed``.

    When the audit log cannot be written (a read-only folder, a full disk) StorageError
    comes before anything is handed out: no export leaves without its audit line.
    """
    entry = {"action": "export", "subject": _subject(project.pseudonyms(), user_id), "ticket": ticket}
    with _audited(project, report, entry) as finish:
        yield
        finish({"records": report.total, "stores": _file_counts(project, report)})


# ---------------------------------------------------------------- erase

def erase_user(project: PrivacyProject, user_id: str, dry_run: bool = False, ticket: str | None = None,
               include_corrupt: bool = False) -> PrivacyReport:
    """Remove every record about ``user_id`` from every JSON Lines store; check the other files hold none.

    Corrupt lines are kept and reported; those that contain the user's id are removed
    too only with ``include_corrupt`` (a person's decision, never a silent one).
    """
    pseudonyms, identities = _subject_identities(project, user_id)
    matches = _user_matcher(identities)
    project.refresh()
    report = PrivacyReport("erase", dry_run, compressed=list(project.stores.compressed))

    def rule(outcome: FileOutcome, line: jsonl.Line) -> bytes | None:
        if line.record is None:
            if include_corrupt and _mentions(line.raw, identities):
                outcome.matched += 1
                outcome.corrupt_erased.append(line.number)
                return None
            _note_bad(outcome, line, identities)
            return line.raw  # a corrupt line is kept, and reported
        if matches(line.record):
            outcome.matched += 1
            return None
        outcome.kept += 1
        return line.raw

    with _audited(project, report, {"action": "erase", "subject": _subject(pseudonyms, user_id),
                                     "ticket": ticket}) as finish:
        _apply(report, project.stores.jsonl_files, rule)
        report.documents = _check_documents(project, identities)
        finish({"records": report.total, "stores": _file_counts(project, report), "complete": report.complete,
                "corrupt_lines_erased": {project.display(o.path): o.corrupt_erased
                                         for o in report.files if o.corrupt_erased},
                "left_for_review": [project.display(doc.path) for doc in report.documents if not doc.clean]
                + [project.display(path) for path in report.compressed]
                + [f"{project.display(o.path)}:{n}" for o in report.files for n in o.bad_lines_mentioning]})
    return report


# ---------------------------------------------------------------- rectify

def parse_assignments(items: list[str]) -> dict[str, Any]:
    """``field=text`` sets a string; ``field:=json`` sets a JSON value (number, true, null, list...)."""
    changes: dict[str, Any] = {}
    for item in items:
        match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)(:?=)(.*)$", item, re.DOTALL)
        if not match:
            raise PrivacyError(f"--set {item!r}: expected field=value (or field:=json)")
        name, operator, value = match.groups()
        if operator == ":=":
            try:
                changes[name] = json.loads(value)
            except json.JSONDecodeError as exc:
                raise PrivacyError(f"--set {name}:=...: not valid JSON ({exc.msg})") from None
        else:
            changes[name] = value
    if not changes:
        raise PrivacyError("nothing to change: give at least one --set field=value")
    return changes


def _prepare_changes(project: PrivacyProject, changes: dict[str, Any], keep_pii: str | None) -> dict[str, Any]:
    """Apply the feedback store's own rules to new values: ids stay non-identifying and pseudonymous."""
    for name in changes:
        if name in PROTECTED_FIELDS:
            raise PrivacyError(f"field {name!r} cannot be rectified (it identifies the record)")
    prepared = dict(changes)
    if "user_id" in prepared:
        value = prepared["user_id"]
        if not isinstance(value, str):
            raise PrivacyError("user_id must be a string")
        try:
            check_user_id(value)
        except ValueError as exc:
            raise PrivacyError(f"user_id: {exc}") from None
        prepared["user_id"] = project.pseudonyms().for_storage(value)
    if keep_pii is not None:
        if not keep_pii.strip():
            raise PrivacyError("--keep-pii needs a reason")
        prepared["pii_kept_reason"] = keep_pii
    return prepared


def _rectified(record: dict[str, Any], prepared: dict[str, Any], detector: PiiDetector, where: str) -> bytes:
    """The corrected record as a line: validated and minimised as the feedback store would have written it."""
    try:
        FeedbackRecord.model_validate(record)
    except ValidationError:  # a record from before the schema (e.g. the prototype): change only what exists
        missing = sorted(set(prepared) - set(record))
        if missing:
            raise PrivacyError(f"{where} has no field(s) {', '.join(missing)}; "
                               f"its fields: {', '.join(sorted(record))}") from None
        keep_text = "pii_kept_reason" in prepared
        masked = {name: detector.mask(value) if isinstance(value, str) and name != "user_id" and not keep_text
                  else value for name, value in prepared.items()}
        return jsonl.dumps({**record, **masked}).encode("utf-8")
    try:
        corrected = FeedbackRecord.model_validate({**record, **prepared})
    except ValidationError as exc:
        raise PrivacyError(f"{where}: {one_line(exc, whole='record')}") from None
    return jsonl.dumps(minimise(corrected, detector).to_json_dict()).encode("utf-8")


def rectify_record(project: PrivacyProject, record_id: str, changes: dict[str, Any], *,
                   keep_pii: str | None = None, dry_run: bool = False, ticket: str | None = None) -> PrivacyReport:
    """Correct the feedback record ``record_id`` in place (atomically), as valid and minimised as when recorded."""
    prepared = _prepare_changes(project, changes, keep_pii)
    detector = storage_detector(project.settings)
    project.refresh()
    report = PrivacyReport("rectify", dry_run)

    def rule(outcome: FileOutcome, line: jsonl.Line) -> bytes | None:
        if line.record is None:
            _note_bad(outcome, line, set())
            return line.raw
        if str(line.record.get("id")) != record_id:
            outcome.kept += 1
            return line.raw
        outcome.matched += 1
        return _rectified(line.record, prepared, detector, f"record {record_id} in {project.display(outcome.path)}")

    report.details = {"record_id": record_id, "fields": sorted(prepared)}
    with _audited(project, report, {"action": "rectify", "ticket": ticket, **report.details}) as finish:
        _apply(report, [f for f in project.stores.jsonl_files if f.store == "feedback"], rule)
        if report.total == 0:
            searched = ", ".join(project.display(f.path) for f in report.files) or "no feedback file exists"
            raise PrivacyError(f"no feedback record with id {record_id!r} (searched: {searched})")
        finish({"records": report.total, "stores": _file_counts(project, report)})
    return report


# ---------------------------------------------------------------- purge (retention)

def parse_age(text: str) -> timedelta:
    """``30d``, ``12h``, ``2w``, ``90m``, ``45s`` as a timedelta."""
    match = AGE_RE.match(text)
    if not match or int(match.group(1)) == 0:
        raise PrivacyError(f"--older-than {text!r}: expected a positive number and a unit, e.g. 30d, 12h, 2w")
    return timedelta(**{AGE_UNITS[match.group(2)]: int(match.group(1))})


def record_time(record: dict[str, Any]) -> datetime | None:
    """The record's ``timestamp`` (ISO 8601, naive taken as UTC, or Unix seconds), or None."""
    value = record.get("timestamp")
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return from_epoch(value)
        if isinstance(value, str):
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
            return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def retention_age(project: PrivacyProject, older_than: str | None) -> tuple[timedelta, str]:
    """The age given on the command line, else ``retention_days`` from the config."""
    if older_than is not None:
        return parse_age(older_than), older_than
    if project.privacy.retention_days is None:
        raise PrivacyError("no retention period: pass --older-than (e.g. 30d) or set "
                           "retention_days in [tool.llmops.privacy]")
    return timedelta(days=project.privacy.retention_days), f"{project.privacy.retention_days}d"


def purge_older_than(project: PrivacyProject, age: timedelta, label: str, dry_run: bool = False,
                     now: datetime | None = None, ticket: str | None = None) -> PrivacyReport:
    """Drop records whose timestamp is older than ``age`` from every JSON Lines store."""
    cutoff = (now or utc_now()) - age
    project.refresh()
    report = PrivacyReport("purge", dry_run, compressed=list(project.stores.compressed))

    def rule(outcome: FileOutcome, line: jsonl.Line) -> bytes | None:
        if line.record is None:
            _note_bad(outcome, line, set())
            return line.raw
        stamp = record_time(line.record)
        if stamp is None:
            outcome.undated += 1
        elif stamp < cutoff:
            outcome.matched += 1
            return None
        outcome.kept += 1
        return line.raw

    report.details = {"older_than": label, "cutoff": iso_z(cutoff)}
    with _audited(project, report, {"action": "purge", "ticket": ticket, **report.details}) as finish:
        _apply(report, project.stores.jsonl_files, rule)
        finish({"records": report.total, "stores": _file_counts(project, report)})
    return report

"""``llmops privacy export|erase|rectify|purge``: data-subject rights and retention from the shell.

Parses arguments, calls :mod:`pytest_llmops.privacy`, prints what was done per store.
Exit codes: 0 done, 1 done but something needs a human (a file still holding a user
id, a corrupt line mentioning the user, a compressed log not searched), 2 bad request.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from .. import jsonl
from ..errors import StorageError
from ..text import terminal_safe_json, terminal_safe_lines
from ..privacy.operations import (PrivacyProject, PrivacyReport, erase_user, export_handover, export_user,
                                  parse_assignments, purge_older_than, rectify_record, retention_age)

EXIT_OK, EXIT_NEEDS_REVIEW = 0, 1
VERBS = {"export": ("exported", "exported"), "erase": ("erased", "to erase"),
         "purge": ("purged", "to purge"), "rectify": ("corrected", "to correct")}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "privacy", help="export, erase, rectify or purge stored personal data",
        description="Serve data-subject requests and retention over every store: feedback, "
                    "monitor logs (with rotated copies), results files and generated case files.")
    actions = parser.add_subparsers(dest="privacy_action", metavar="ACTION", required=True)

    def common(sub: argparse.ArgumentParser, dry_run: bool = True) -> None:
        sub.add_argument("--ticket", metavar="REF", help="request reference recorded in the audit line")
        sub.add_argument("--json", action="store_true", help="print the outcome as JSON")
        if dry_run:
            sub.add_argument("--dry-run", action="store_true", help="show what would change; change nothing")

    export = actions.add_parser("export", help="every record about a user, as one JSON document",
                                description="Subject access: every record about a user from every store.")
    export.add_argument("--user-id", required=True, help="the raw or pseudonymous user id")
    export.add_argument("--out", metavar="FILE", help="write the document here (mode 600) instead of stdout")
    common(export, dry_run=False)
    export.set_defaults(handler=run_export)

    erase = actions.add_parser("erase", help="remove every record about a user from every store",
                               description="Erasure: remove every record about a user; results and "
                                           "case files are checked to hold no user id.")
    erase.add_argument("--user-id", required=True, help="the raw or pseudonymous user id")
    erase.add_argument("--include-corrupt", action="store_true",
                       help="also remove corrupt (unparseable) lines that contain this user id")
    common(erase)
    erase.set_defaults(handler=run_erase)

    rectify = actions.add_parser("rectify", help="correct fields of one feedback record in place",
                                 description="Rectification: correct a feedback record atomically. "
                                             "field=text sets a string, field:=json any JSON value.")
    rectify.add_argument("--record-id", required=True, help="the feedback record's id")
    rectify.add_argument("--set", dest="assignments", action="append", required=True, metavar="FIELD=VALUE",
                         help="field to correct (repeatable)")
    rectify.add_argument("--keep-pii", metavar="REASON",
                         help="store new text as given instead of masking personal data in it, and why")
    common(rectify)
    rectify.set_defaults(handler=run_rectify)

    purge = actions.add_parser("purge", help="drop records older than the retention period",
                               description="Retention: drop records older than --older-than "
                                           "(default: retention_days from [tool.llmops.privacy]).")
    purge.add_argument("--older-than", metavar="AGE", help="e.g. 30d, 12h, 2w (units s m h d w)")
    common(purge)
    purge.set_defaults(handler=run_purge)


def _print_report(project: PrivacyProject, report: PrivacyReport, out: TextIO) -> None:
    out = _TerminalSafe(out)
    done, would = VERBS[report.action]
    verb = would if report.dry_run else done
    for outcome in report.files:
        line = f"{outcome.store:<12} {project.display(outcome.path)}: {outcome.matched} {verb}, {outcome.kept} kept"
        if outcome.undated:
            line += f" ({outcome.undated} without a usable timestamp, kept)"
        print(line, file=out)
        for bad in outcome.bad_lines:
            mention = " and mentions this user: inspect it by hand" if bad.line in outcome.bad_lines_mentioning else ""
            print(f"  {project.display(outcome.path)}:{bad.line}: corrupt line kept ({bad.reason}){mention}",
                  file=out)
        for number in outcome.corrupt_erased:
            print(f"  {project.display(outcome.path)}:{number}: corrupt line mentioning this user {verb}", file=out)
    if not report.files and report.action != "rectify":
        print("no JSON Lines store exists yet (nothing stored)", file=out)
    for path in report.compressed:
        print(f"not searched: {project.display(path)} is compressed; decompress it and run again", file=out)
    if report.action in ("export", "erase"):
        _print_documents(project, report, out)
    total = f"{report.total} record(s) {verb}"
    audit = f"; audit line in {project.display(project.stores.audit_log)}" if report.audit else ""
    dry = " (dry run: nothing changed)" if report.dry_run else ""
    print(f"total: {total}{dry}{audit}", file=out)


class _TerminalSafe:
    """A text stream that writes with control characters escaped (paths and reasons come from the stores)."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(terminal_safe_lines(text))


def _print_documents(project: PrivacyProject, report: PrivacyReport, out: TextIO) -> None:
    for name in ("results", "cases"):
        docs = [doc for doc in report.documents if doc.kind == name]
        dirty = [doc for doc in docs if not doc.clean]
        state = "no user ids" if not dirty else f"{len(dirty)} need review"
        print(f"{name:<12} {len(docs)} file(s) checked: {state}", file=out)
        for doc in dirty:
            why = doc.unreadable or "holds a user id at " + ", ".join(doc.places[:5])
            print(f"  {project.display(doc.path)}: {why}", file=out)


def _finish(project: PrivacyProject, report: PrivacyReport, args: argparse.Namespace,
            out: TextIO = sys.stdout) -> int:
    if args.json:
        json.dump(_report_json(project, report), out, indent=2)
        out.write("\n")
    else:
        _print_report(project, report, out)
    return EXIT_OK if report.complete else EXIT_NEEDS_REVIEW


def _report_json(project: PrivacyProject, report: PrivacyReport) -> dict:
    return {
        "action": report.action, "dry_run": report.dry_run, "total": report.total, "complete": report.complete,
        **report.details,
        "files": [{"store": o.store, "path": project.display(o.path), "matched": o.matched, "kept": o.kept,
                   "undated": o.undated, "corrupt_lines": [b.line for b in o.bad_lines],
                   "corrupt_lines_mentioning_user": o.bad_lines_mentioning,
                   "corrupt_lines_erased": o.corrupt_erased} for o in report.files],
        "documents": [{"path": project.display(d.path), "clean": d.clean, "places": d.places,
                       "unreadable": d.unreadable} for d in report.documents],
        "not_searched": [project.display(p) for p in report.compressed],
        "audited": report.audit is not None,
    }


def run_export(args: argparse.Namespace) -> int:
    """Hand the export out only with its audit line: no audit line, no export (and no file left behind)."""
    project = PrivacyProject.load()
    document, report = export_user(project, args.user_id, ticket=args.ticket, audit=False)
    data = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if not args.out:
        with export_handover(project, report, args.user_id, args.ticket):
            sys.stdout.write(terminal_safe_json(data))
        return _finish(project, report, args, out=sys.stderr)
    out = Path(args.out)
    existed = out.exists()
    try:
        with export_handover(project, report, args.user_id, args.ticket):
            jsonl.write_file_atomic(out, data.encode("utf-8"), mode=0o600)
    except StorageError:
        if not existed and out.exists():  # written, but its audit line could not be: take it back
            out.unlink()
        raise
    status = _finish(project, report, args)
    print(f"export written to {args.out}", file=sys.stdout if not args.json else sys.stderr)
    return status


def run_erase(args: argparse.Namespace) -> int:
    project = PrivacyProject.load()
    report = erase_user(project, args.user_id, dry_run=args.dry_run, ticket=args.ticket,
                        include_corrupt=args.include_corrupt)
    return _finish(project, report, args)


def run_rectify(args: argparse.Namespace) -> int:
    project = PrivacyProject.load()
    changes = parse_assignments(args.assignments)
    report = rectify_record(project, args.record_id, changes, keep_pii=args.keep_pii,
                            dry_run=args.dry_run, ticket=args.ticket)
    if not args.json:
        print(f"record {args.record_id}: field(s) {', '.join(report.details['fields'])}", file=sys.stdout)
    return _finish(project, report, args)


def run_purge(args: argparse.Namespace) -> int:
    project = PrivacyProject.load()
    age, label = retention_age(project, args.older_than)
    report = purge_older_than(project, age, label, dry_run=args.dry_run, ticket=args.ticket)
    if not args.json:
        print(f"retention: older than {label} (before {report.details['cutoff']})", file=sys.stdout)
    return _finish(project, report, args)

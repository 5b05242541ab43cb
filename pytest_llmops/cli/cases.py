"""``llmops cases ...``: generating regression cases from production evidence.

Each source is one subcommand registered in SUBCOMMANDS (``from-feedback`` here; the
monitor adds ``from-monitor-log``). They share the writer options (``--out``,
``--dry-run``, ``--force``, ``--strict``) and :func:`write_and_report`, which plans,
writes and prints the same way for every source.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Sequence

from .. import jsonl
from ..config import Settings, load_settings
from ..convert.core import ConvertError, RegressionCandidate, Skipped, plan_cases, render_case_file, write_cases
from ..convert.from_feedback import candidates_from_feedback
from ..feedback.store import default_feedback_file, read_feedback
from ..pii import PiiDetector
from ..pii.storage import storage_detector
from ..text import terminal_safe, terminal_safe_lines

EXIT_OK, EXIT_STRICT = 0, 1
LISTED = 50  # skipped records and kept files named one by one; the rest are counted
REGRESSIONS_DIR = "regressions"


def add_writer_options(parser: argparse.ArgumentParser) -> None:
    """The options every ``cases from-*`` subcommand takes."""
    parser.add_argument("--out", type=Path, default=None,
                        help=f"folder for the generated case files (default: <cases_dir>/{REGRESSIONS_DIR}/)")
    parser.add_argument("--dry-run", action="store_true", help="write nothing; show what would be written")
    parser.add_argument("--force", action="store_true",
                        help="regenerate case files that already exist (default: keep them untouched)")
    parser.add_argument("--strict", action="store_true",
                        help="fail, writing nothing, if any input line is malformed (default: report and skip it)")


def out_dir(args: argparse.Namespace, settings: Settings) -> Path:
    return args.out if args.out is not None else settings.cases_path / REGRESSIONS_DIR


def report_bad_lines(source: Path, bad: Sequence[Any], strict: bool) -> bool:
    """Print malformed input lines (``file:line: reason``); True when ``strict`` says to stop."""
    for item in bad:
        print(terminal_safe(f"{source}:{item.line}: {'error' if strict else 'skipped'}: {item.reason}"),
              file=sys.stderr)
    if bad and strict:
        print(f"llmops cases: {len(bad)} malformed line(s) in {source}; nothing written (--strict)", file=sys.stderr)
        return True
    return False


def write_and_report(candidates: list[RegressionCandidate], skipped: list[Skipped], args: argparse.Namespace,
                     settings: Settings, detector: PiiDetector, malformed: int = 0) -> int:
    """Plan, write (or dry-run) and print what happened; the exit code."""
    planned = plan_cases(candidates)
    result = write_cases(planned, out_dir(args, settings), detector, dry_run=args.dry_run, force=args.force,
                         suite_dirs=[settings.cases_path])
    for item in skipped[:LISTED]:  # an id may hold personal data (an old log's conversation id): masked
        print(terminal_safe(f"skipped {item.source.kind} {detector.mask(item.source.id)}: {item.reason}"))
    if len(skipped) > LISTED:
        reasons = Counter(item.reason for item in skipped[LISTED:])
        print(terminal_safe(f"... and {len(skipped) - LISTED} more skipped: "
                            + "; ".join(f"{count} x {reason}" for reason, count in reasons.most_common())))
    verb, done = ("would write", "would be written") if args.dry_run else ("wrote", "written")
    for label, entries in ((verb, result.written), (f"{verb} (--force)", result.overwritten)):
        for path, case in entries:
            sources = ", ".join(detector.mask(source.id) for source in case.sources[:5])
            sources += f" and {len(case.sources) - 5} more" if len(case.sources) > 5 else ""
            print(terminal_safe(f"{label} {path} (from {sources})"))
            if args.dry_run:
                rendered = render_case_file(case, detector).rstrip("\n")
                print(terminal_safe_lines("    " + rendered.replace("\n", "\n    ")))
    for path, case in result.existing[:LISTED]:
        print(terminal_safe(f"exists {path}: kept as it is (--force to regenerate)"))
    if len(result.existing) > LISTED:
        print(f"... and {len(result.existing) - LISTED} more already present, kept")
    merged = len(candidates) - len(planned)
    print(f"{len(result.written) + len(result.overwritten)} case file(s) {done}, {len(result.existing)} already "
          f"present, {merged} duplicate(s) merged, {len(skipped)} record(s) skipped, {malformed} malformed line(s)")
    return EXIT_OK


@jsonl.collector_paused()  # 100,000 records and their candidates, no cycles: no collection walks them all
def run_from_feedback(args: argparse.Namespace) -> int:
    settings = load_settings()
    records, malformed, stop = [], 0, False
    for source in args.feedback or [default_feedback_file(settings)]:
        found, bad = read_feedback(source)
        records.extend(found)
        malformed += len(bad)
        stop = report_bad_lines(source, bad, args.strict) or stop
    if stop:
        return EXIT_STRICT
    max_latency = args.max_latency_ms if args.max_latency_ms is not None else settings.max_latency_ms
    detector = storage_detector(settings)
    candidates, skipped = candidates_from_feedback(records, detector, max_latency)
    return write_and_report(candidates, skipped, args, settings, detector, malformed=malformed)


def register_from_feedback(group: argparse._SubParsersAction) -> None:
    parser = group.add_parser(
        "from-feedback", help="turn feedback records into regression cases",
        description="Write one regression case per distinct (conversation, rule) found in feedback records: "
                    "pii_leak -> no_pii, slow -> max_latency_ms, error -> no_error, wrong_answer -> "
                    "not_contains the wrong text (+ contains the right answer). Cases are tagged from-feedback "
                    "and needs-review; running twice writes nothing new.")
    parser.add_argument("feedback", nargs="*", type=Path, metavar="FEEDBACK",
                        help="feedback files (default: the first [tool.llmops.privacy] feedback entry, "
                             "i.e. feedback.jsonl)")
    add_writer_options(parser)
    parser.add_argument("--max-latency-ms", type=float, default=None, metavar="MS",
                        help="latency limit for cases from 'slow' feedback (default: max_latency_ms of the project)")
    parser.set_defaults(handler=run_from_feedback)


def register_from_monitor_log(group: argparse._SubParsersAction) -> None:
    from .cases_monitor import register as register_monitor  # imported here: it imports this module

    register_monitor(group)


#: one register function per ``llmops cases`` subcommand
SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [register_from_feedback, register_from_monitor_log]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("cases", help="generate regression cases from feedback and monitoring",
                                   description="Generate regression cases from production evidence.")
    group = parser.add_subparsers(dest="cases_command", metavar="SUBCOMMAND", required=True)
    for register_subcommand in SUBCOMMANDS:
        register_subcommand(group)


__all__ = ["register", "add_writer_options", "write_and_report", "report_bad_lines", "out_dir", "SUBCOMMANDS",
           "ConvertError"]

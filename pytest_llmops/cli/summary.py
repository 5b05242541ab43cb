"""``llmops summary RESULTS.json``: the run summary of a saved results file, as the terminal showed it.

For CI logs and for looking at a run after the fact. Exit 0 when the run passed, 1 when
it did not, 2 when the file is missing or not a valid results file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..report.summary import run_passed, terminal_lines
from ..results import load_results
from ..text import terminal_safe

EXIT_PASS, EXIT_FAIL = 0, 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("summary", help="print the summary of a results file",
                                   description="Print the run summary of a file written by "
                                               "pytest --llmops --llmops-results=PATH.")
    parser.add_argument("results", type=Path, help="the results JSON file")
    parser.add_argument("--failures", action="store_true",
                        help="also list every case that did not pass, with its failed checks")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    results = load_results(args.results)
    for line in terminal_lines(results):
        print(terminal_safe(line))
    if args.failures:
        for case in results.cases:
            if case.outcome in ("passed", "skipped"):
                continue
            failed = sorted({check.check for turn in case.turns for check in turn.checks if not check.passed})
            print(terminal_safe(f"  {case.outcome.upper()} {case.nodeid}: {', '.join(failed) or case.outcome}"))
        for error in results.collection_errors:
            first = error.message.splitlines()[0] if error.message else ""
            print(terminal_safe(f"  ERROR {error.nodeid}: {first}"))
    return EXIT_PASS if run_passed(results.summary) else EXIT_FAIL

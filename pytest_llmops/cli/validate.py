"""``llmops validate``: check case files against the contract without replaying anything."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..cases import START_HINT, CaseLimits, case_files_in, load_case_file, no_cases_reason
from ..config import load_settings
from ..errors import CaseFileError, ConfigError
from ..text import terminal_safe_lines


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("validate", help="check case files without replaying them",
                                   description="Check YAML case files against the case contract.")
    parser.add_argument("paths", nargs="*", type=Path,
                        help="case files or folders (default: cases_dir from [tool.llmops])")
    parser.set_defaults(handler=run)


def _case_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(case_files_in(path))
        else:
            files.append(path)
    return files


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if not args.paths:
        reason = no_cases_reason(settings.cases_path)
        if reason:
            raise ConfigError(f"{reason} (cases_dir in [tool.llmops], default eval_cases); {START_HINT}, "
                              "or name case files or folders: llmops validate PATH...")
    paths = args.paths or [settings.cases_path]
    files = _case_files(paths)
    limits = CaseLimits.from_settings(settings)
    bad = cases = 0
    for path in files:
        try:
            cases += len(load_case_file(path, limits))
        except CaseFileError as exc:
            bad += 1
            print(terminal_safe_lines(str(exc)), file=sys.stderr)
    print(f"{len(files)} file(s), {cases} case(s), {bad} file(s) with errors")
    return 1 if bad or not files else 0

"""``llmops gate RESULTS.json``: may this run be promoted? Exit 0 pass, 1 fail, 2 usage error.

Thresholds come from ``[tool.llmops.gate]`` with the flags below on top. The verdict is
printed as a table, appended as Markdown to ``$GITHUB_STEP_SUMMARY`` when that is set,
and optionally written to ``--markdown FILE``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..config import load_settings
from ..errors import ConfigError
from ..gitrepo import Git
from ..release.gate import Verdict, evaluate, render_markdown, render_text
from ..release.promote import stored_results
from ..release.settings import GateSettings, gate_settings
from ..results import RunResults, load_results
from ..text import terminal_safe_lines

EXIT_PASS, EXIT_FAIL = 0, 1


def rate(text: str) -> float:
    """A rate given as a fraction (0.95) or a percentage (95%)."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a rate: {text!r} (use 0.95 or 95%)") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a rate is between 0 and 1 (0% and 100%), not {text!r}")
    return value


def add_gate_arguments(parser: argparse.ArgumentParser) -> None:
    """Threshold and baseline flags shared by ``gate`` and ``promote``."""
    group = parser.add_argument_group("thresholds (override [tool.llmops.gate])")
    group.add_argument("--min-pass-rate", type=rate, metavar="RATE", help="e.g. 0.95 or 95%% (default: 100%%)")
    group.add_argument("--max-pii", dest="max_pii_findings", type=int, metavar="N",
                       help="PII findings allowed (default 0)")
    group.add_argument("--max-error-rate", type=rate, metavar="RATE", help="share of turns with an error (default 0)")
    group.add_argument("--max-p95-ms", dest="max_p95_latency_ms", type=float, metavar="MS",
                       help="p95 reply latency limit (default: [tool.llmops] max_latency_ms)")
    group.add_argument("--max-p95-regression-pct", type=float, metavar="PCT",
                       help="p95 growth over the baseline allowed (default 20)")
    source = parser.add_argument_group("baseline").add_mutually_exclusive_group()
    source.add_argument("--baseline", type=Path, metavar="FILE",
                        help="results file to compare with (e.g. the stored results of stable)")
    source.add_argument("--baseline-ref", metavar="REF",
                        help="compare with the results llmops promote stored for REF (e.g. stable, origin/stable)")


def threshold_overrides(args: argparse.Namespace) -> dict[str, object]:
    return {key: getattr(args, key) for key in ("min_pass_rate", "max_pii_findings", "max_error_rate",
                                                "max_p95_latency_ms", "max_p95_regression_pct")}


def resolve_baseline(args: argparse.Namespace, gate: GateSettings, root: Path,
                     default_ref: str | None = None) -> tuple[RunResults | None, str | None]:
    """The baseline the flags ask for: a file, a ref's stored results, else ``default_ref``'s, else the configured file."""
    if args.baseline is not None:
        return load_results(args.baseline), str(args.baseline)
    ref = args.baseline_ref or default_ref
    if ref is not None:
        results, label = stored_results(Git(args.repo), ref)
        if results is not None or args.baseline_ref:
            return results, label
    if gate.baseline_file:
        path = root / gate.baseline_file
        if path.exists():
            return load_results(path), str(gate.baseline_file)
        return None, f"none: {gate.baseline_file} does not exist yet"
    return None, None


def publish(verdict: Verdict, source: str, markdown_file: Path | None = None) -> None:
    """Print the verdict; append it as Markdown to $GITHUB_STEP_SUMMARY and ``markdown_file`` when given."""
    sys.stdout.write(terminal_safe_lines(render_text(verdict, source)))
    markdown = render_markdown(verdict, source)
    if markdown_file is not None:
        markdown_file.write_text(markdown, encoding="utf-8")
    append_step_summary(markdown)


def append_step_summary(markdown: str) -> None:
    """Append to GitHub Actions' job summary file when ``$GITHUB_STEP_SUMMARY`` names one."""
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary_path:
        return
    try:
        with open(summary_path, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")
    except OSError as exc:
        raise ConfigError(f"cannot write $GITHUB_STEP_SUMMARY ({summary_path}): {exc.strerror}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gate", help="decide whether a results file may be promoted (exit 0 pass, 1 fail, 2 usage error)",
        description="Check a results file (pytest --llmops --llmops-results FILE) against the thresholds in "
                    "[tool.llmops.gate] and, with a baseline, against the last promoted run.")
    parser.add_argument("results", type=Path, help="results JSON written by pytest --llmops --llmops-results")
    add_gate_arguments(parser)
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="also write the verdict as Markdown here")
    parser.set_defaults(handler=run, repo=Path("."))


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    gate = gate_settings(settings, threshold_overrides(args))
    results = load_results(args.results)
    baseline, label = resolve_baseline(args, gate, settings.root)
    verdict = evaluate(results, gate, baseline, label)
    publish(verdict, str(args.results), args.markdown)
    return EXIT_PASS if verdict.passed else EXIT_FAIL

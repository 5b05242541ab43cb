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
from ..errors import BaselineMissing, ConfigError
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
    group.add_argument("--max-cost-usd", type=float, metavar="USD",
                       help="the bot's cost over the run, from [tool.llmops.prices] (default: no limit)")
    group.add_argument("--max-tokens", dest="max_tokens_total", type=int, metavar="N",
                       help="the bot's tokens over the run (default: no limit)")
    group.add_argument("--max-cost-regression-pct", type=float, metavar="PCT",
                       help="growth of the bot's cost (or tokens) per turn over the baseline allowed (default 20)")
    baseline = parser.add_argument_group("baseline")
    source = baseline.add_mutually_exclusive_group()
    source.add_argument("--baseline", type=Path, metavar="FILE",
                        help="results file to compare with (e.g. the stored results of stable)")
    source.add_argument("--baseline-ref", metavar="REF",
                        help="compare with the results llmops promote stored for REF (e.g. stable, origin/stable); "
                             "a REF that does not resolve is an error (exit 2)")
    baseline.add_argument("--allow-missing-baseline", action="store_true",
                          help="go on without regression checks when the baseline does not exist (the first "
                               "promotion, before stable exists)")


#: [tool.llmops.gate] key -> the flag that overrides it
THRESHOLD_FLAGS = {"min_pass_rate": "--min-pass-rate", "max_pii_findings": "--max-pii",
                   "max_error_rate": "--max-error-rate", "max_p95_latency_ms": "--max-p95-ms",
                   "max_p95_regression_pct": "--max-p95-regression-pct", "max_cost_usd": "--max-cost-usd",
                   "max_tokens_total": "--max-tokens", "max_cost_regression_pct": "--max-cost-regression-pct"}


def threshold_overrides(args: argparse.Namespace) -> dict[str, object]:
    return {key: getattr(args, key) for key in THRESHOLD_FLAGS}


def resolve_baseline(args: argparse.Namespace, gate: GateSettings, root: Path,
                     default_ref: str | None = None) -> tuple[RunResults | None, str | None]:
    """The baseline the flags ask for: a file, a ref's stored results, else ``default_ref``'s, else the configured file.

    A ``--baseline-ref`` that names no commit, or one with no stored results, is a
    BaselineMissing error (regression checks must never be silently off, e.g. after a
    typo) unless ``--allow-missing-baseline``. Without the flag, promote falls back from
    ``default_ref`` (its own branch, absent before the first promotion) to the configured
    ``baseline_file``, and its table says which baseline, if any, it compared with.
    """
    if args.baseline is not None:
        return load_results(args.baseline), str(args.baseline)
    ref = args.baseline_ref or default_ref
    missing: str | None = None  # why the ref gave no baseline
    if ref is not None:
        git = Git(args.repo)
        results, missing = stored_results(git, ref)
        if results is not None:
            return results, missing
        if args.baseline_ref:
            return _missing(args, f"--baseline-ref {ref}", git.commit_of(ref) is not None, missing)
    if gate.baseline_file:
        path = root / gate.baseline_file
        if path.exists():
            return load_results(path), str(gate.baseline_file)
        return None, f"none: {gate.baseline_file} does not exist yet"
    return None, missing


def _missing(args: argparse.Namespace, what: str, exists: bool, label: str) -> tuple[None, str]:
    """No baseline where one was asked for: an error, unless ``--allow-missing-baseline``."""
    if args.allow_missing_baseline:
        return None, f"{label} (--allow-missing-baseline: no regression checks)"
    reason = label.removeprefix("none: ") if exists else "no such branch, tag or commit (a typo?)"
    raise BaselineMissing(f"{what}: {reason}; without a baseline the gate cannot check for regressions. For the "
                          "first promotion, when there is nothing to compare with yet, pass --allow-missing-baseline")


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
        description="Check a results file (pytest --llmops --llmops-results=FILE) against the thresholds in "
                    "[tool.llmops.gate] and, with a baseline, against the last promoted run.")
    parser.add_argument("results", type=Path, help="results JSON written by pytest --llmops --llmops-results=FILE")
    add_gate_arguments(parser)
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="also write the verdict as Markdown here")
    parser.set_defaults(handler=run, repo=Path("."))


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    gate = gate_settings(settings, threshold_overrides(args), THRESHOLD_FLAGS)
    results = load_results(args.results)
    baseline, label = resolve_baseline(args, gate, settings.root)
    verdict = evaluate(results, gate, baseline, label)
    publish(verdict, str(args.results), args.markdown)
    return EXIT_PASS if verdict.passed else EXIT_FAIL

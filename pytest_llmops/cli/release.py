"""``llmops promote`` and ``llmops rollback``: the git side of a release.

Exit codes: 0 done (or nothing to do), 1 refused (the reason is printed, nothing
changed), 2 usage error (bad results file, not a git repository, git failing).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import find_project_root, load_settings
from ..errors import ReleaseRefused
from ..gitrepo import Git, short
from ..release.gate import render_text
from ..release.settings import gate_settings
from ..release.promote import (NOTES_REF, RollbackPlan, check_promotable, fetch_remote_state, plan_rollback, promote,
                       rollback)
from ..results import load_results
from ..text import terminal_safe_lines
from .gate import THRESHOLD_FLAGS, add_gate_arguments, append_step_summary, resolve_baseline, threshold_overrides

EXIT_DONE, EXIT_REFUSED = 0, 1


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", type=Path, default=Path("."), metavar="DIR",
                        help="the git work tree (default: the current folder)")
    parser.add_argument("--push", nargs="?", const="origin", metavar="REMOTE",
                        help="push the result to REMOTE (default origin); never a force-push")


def register(subparsers: argparse._SubParsersAction) -> None:
    promote_parser = subparsers.add_parser(
        "promote", help="fast-forward stable to the tested commit after a passing gate",
        description="Move the stable branch to exactly the commit a results file tested: only if the gate "
                    "passes for it, only as a fast-forward, only from a clean work tree. Records the gate "
                    f"table in an annotated tag and the results as a git note ({NOTES_REF}).")
    promote_parser.add_argument("results", type=Path, help="results JSON of the run (records the commit it tested)")
    promote_parser.add_argument("--branch", default="stable", help="branch to promote to (default stable)")
    promote_parser.add_argument("--from", dest="source_branch", default="main", metavar="BRANCH",
                                help="the tested commit must be on this branch (default main)")
    promote_parser.add_argument("--baseline-out", type=Path, metavar="FILE",
                                help="also write the results here as the new baseline "
                                     "(default: [tool.llmops.gate] baseline_file, if set)")
    _add_common(promote_parser)
    add_gate_arguments(promote_parser)
    promote_parser.set_defaults(handler=run_promote)

    rollback_parser = subparsers.add_parser(
        "rollback", help="give main stable's content again, in a new commit",
        description="Restore main's content to stable's with one new commit on main (history kept, no "
                    "force-push), naming the commits it reverts. Works when stable is an ancestor of main "
                    "and when the two have diverged.")
    rollback_parser.add_argument("--main", default="main", help="branch to roll back (default main)")
    rollback_parser.add_argument("--stable", default="stable",
                                 help="what to roll back to: a branch or ref such as origin/stable (default stable)")
    rollback_parser.add_argument("--reason", metavar="TEXT", help="why, for the commit message")
    rollback_parser.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    _add_common(rollback_parser)
    rollback_parser.set_defaults(handler=run_rollback)


def _refused(command: str, exc: ReleaseRefused) -> int:
    print(f"llmops {command}: refused: {exc}", file=sys.stderr)
    return EXIT_REFUSED


def run_promote(args: argparse.Namespace) -> int:
    git = Git(args.repo)
    settings = load_settings(find_project_root(git.root))
    gate = gate_settings(settings, threshold_overrides(args), THRESHOLD_FLAGS)
    results = load_results(args.results)
    baseline_file = args.baseline_out or (settings.root / gate.baseline_file if gate.baseline_file else None)
    try:
        check_promotable(git, results, branch=args.branch, source_branch=args.source_branch, remote=args.push)
        remote_tip = fetch_remote_state(git, args.push, args.branch) if args.push else None
        stable_ref = f"{args.push}/{args.branch}" if remote_tip else args.branch
        baseline, label = resolve_baseline(args, gate, settings.root, default_ref=stable_ref)
        promotion = promote(git, results, gate, source=str(args.results), baseline=baseline, baseline_label=label,
                            branch=args.branch, source_branch=args.source_branch, remote=args.push,
                            remote_tip=remote_tip, baseline_file=baseline_file)
    except ReleaseRefused as exc:
        return _refused("promote", exc)
    sys.stdout.write(terminal_safe_lines(render_text(promotion.verdict, str(args.results))))
    if promotion.already:
        print(f"{args.branch} is already at {short(promotion.commit)}: nothing to do")
        return EXIT_DONE
    if promotion.previous is None:
        print(f"promoted: {args.branch} created at {short(promotion.commit)} (first promotion)")
    else:
        print(f"promoted: {args.branch} {short(promotion.previous)} -> {short(promotion.commit)} (fast-forward)")
    print(f"recorded: annotated tag {promotion.tag}; results stored as a note in {NOTES_REF}")
    if promotion.baseline_file:
        print(f"baseline: {promotion.baseline_file}")
    if promotion.pushed_to:
        print(f"pushed: {args.branch}, {promotion.tag} and {NOTES_REF} to {promotion.pushed_to}")
    append_step_summary(f"### Promoted `{promotion.commit[:12]}` to `{args.branch}`\n\n"
                        f"tag `{promotion.tag}`, previous `{args.branch}`: `{short(promotion.previous)}`\n")
    return EXIT_DONE


def describe_plan(plan: RollbackPlan) -> str:
    """The rollback plan in words: what moves, which commits are reverted, which files change."""
    lines = [f"roll back {plan.main} ({short(plan.main_commit)}) to the content of {plan.stable} "
             f"({short(plan.stable_commit)}): {plan.relation}"]
    if plan.nothing_to_do:
        lines.append(f"nothing to do: {plan.main} already has {plan.stable}'s content")
        return "\n".join(lines) + "\n"
    lines.append(f"reverts {len(plan.reverted)} commit(s):")
    lines += [f"  {sha[:12]} {subject}" for sha, subject in plan.reverted]
    if plan.brought_in:
        lines.append(f"brings in {len(plan.brought_in)} commit(s) of {plan.stable} that {plan.main} lacked:")
        lines += [f"  {sha[:12]} {subject}" for sha, subject in plan.brought_in]
    if plan.diffstat:
        lines += ["files:", *(f"  {line.strip()}" for line in plan.diffstat.splitlines())]
    return "\n".join(lines) + "\n"


def run_rollback(args: argparse.Namespace) -> int:
    git = Git(args.repo)
    try:
        plan = plan_rollback(git, main=args.main, stable=args.stable, reason=args.reason)
        sys.stdout.write(describe_plan(plan))
        if plan.nothing_to_do:
            return EXIT_DONE
        if args.dry_run:
            print("dry run: nothing changed. The commit would read:\n")
            print("    " + plan.message.rstrip().replace("\n", "\n    "))
            return EXIT_DONE
        rollback(git, plan, remote=args.push)
    except ReleaseRefused as exc:
        return _refused("rollback", exc)
    print(f"rolled back: new commit {short(plan.new_commit)} on {plan.main} has {plan.stable}'s content")
    if plan.pushed_to:
        print(f"pushed: {plan.main} to {plan.pushed_to}")
    print("next: open a post-mortem (docs/release.md) and add a regression case for what broke")
    return EXIT_DONE

"""Promotion to ``stable`` and rollback of ``main``, with real git.

``promote`` moves ``stable`` to exactly the commit a results file tested, only after the
gate passed for it, only as a fast-forward and only from a clean work tree. It records
why in an annotated tag (the gate table is the tag message) and stores the results as
the new baseline: as a git note on the commit (``refs/notes/llmops-results``, which
travels with ``--push``) and, when asked, as a file.

``rollback`` gives ``main`` exactly ``stable``'s content in a new commit, keeping
history: it works whether ``stable`` is an ancestor of ``main`` (where merging
``stable`` into ``main`` does nothing) or the two have diverged (then ``stable`` becomes
a second parent, so the next promotion is a fast-forward again).

Every refusal raises :class:`ReleaseRefused` before anything is changed; a failure
half-way (a rejected push) undoes the local changes already made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

from ..errors import GitError, ReleaseRefused, ResultsError
from .gate import GateSettings, Verdict, evaluate, render_text
from ..gitrepo import ZERO_SHA, Git, short
from ..results import RunResults, parse_results, write_results

NOTES_REF = "refs/notes/llmops-results"


def stored_results(git: Git, ref: str) -> tuple[RunResults | None, str]:
    """The results stored by ``promote`` for the commit ``ref`` names, and a label saying what they are.

    (None, why) when ``ref`` names no commit or no results were stored for it. A stored
    note that is not a valid results document is an error, never silently ignored.
    """
    commit = git.commit_of(ref)
    if commit is None:
        return None, f"none: {ref} does not exist yet (first promotion)"
    if git.commit_of(NOTES_REF) is None or not git.ok("notes", f"--ref={NOTES_REF}", "list", commit):
        return None, f"none: no results stored for {ref} ({short(commit)}) in {NOTES_REF}"
    text = git.run("notes", f"--ref={NOTES_REF}", "show", commit)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{NOTES_REF} note on {short(commit)}: not valid JSON: {exc.msg}") from None
    return parse_results(document, f"{NOTES_REF}:{short(commit)}"), f"results stored for {ref} ({short(commit)})"


@dataclass
class Promotion:
    """What ``promote`` did (or, with ``already``, found already done)."""

    commit: str
    branch: str
    previous: str | None
    verdict: Verdict
    tag: str | None = None
    pushed_to: str | None = None
    baseline_file: Path | None = None
    already: bool = False


class _Undo:
    """Local changes made so far, undone in reverse order when a later step fails."""

    def __init__(self) -> None:
        self.steps: list[Callable[[], object]] = []

    def add(self, step: Callable[[], object]) -> None:
        self.steps.append(step)

    def run(self) -> None:
        for step in reversed(self.steps):
            try:
                step()
            except GitError:
                pass


def _restore_ref(git: Git, ref: str, old: str | None) -> Callable[[], object]:
    if old is None:
        return lambda: git.run("update-ref", "-d", ref)
    return lambda: git.run("update-ref", ref, old)


def _tag_name(git: Git, branch: str, commit: str, today: date) -> str:
    base = f"{branch}-{today.isoformat()}-{commit[:7]}"
    name, number = base, 1
    while git.commit_of(f"refs/tags/{name}") is not None:
        number += 1
        name = f"{base}-{number}"
    return name


def fetch_remote_state(git: Git, remote: str, branch: str) -> str | None:
    """Bring the remote's ``branch`` (as ``REMOTE/BRANCH``) and stored results here; return the remote's tip.

    Call it before resolving the baseline and before :func:`promote` with ``remote``, so a
    fresh CI clone compares with, and fast-forwards from, what the remote really has.
    """
    tracking = f"refs/remotes/{remote}/{branch}"
    remote_tip = None
    if git.remote_has(remote, f"refs/heads/{branch}"):
        git.run("fetch", "--quiet", remote, f"+refs/heads/{branch}:{tracking}")
        remote_tip = git.commit_of(tracking)
    if git.remote_has(remote, NOTES_REF):
        git.run("fetch", "--quiet", remote, f"{NOTES_REF}:{NOTES_REF}",
                what=f"cannot take {remote}'s {NOTES_REF} (local notes have diverged from the remote's)")
    return remote_tip


def _check_tested_commit(git: Git, results: RunResults) -> str:
    commit = results.run.git.commit
    if not commit:
        raise ReleaseRefused("the results record no git commit: run pytest --llmops inside the git checkout")
    if results.run.git.dirty:
        raise ReleaseRefused(f"the run tested a work tree with uncommitted changes, not commit {short(commit)}: "
                             "commit, rerun pytest --llmops, then promote")
    if git.commit_of(commit) is None:
        raise ReleaseRefused(f"commit {short(commit)} from the results is not in this repository (fetch it first)")
    return git.commit_of(commit) or commit


def _check_on_source_branch(git: Git, commit: str, source_branch: str, remote: str | None) -> None:
    """Only what ``source_branch`` (main) holds may become stable, never a feature branch's commit."""
    tips = [tip for tip in (git.commit_of(f"refs/heads/{source_branch}"),
                            git.commit_of(f"refs/remotes/{remote or 'origin'}/{source_branch}")) if tip]
    if not tips:
        raise ReleaseRefused(f"there is no branch {source_branch!r} here to promote from (use --from BRANCH)")
    if not any(tip == commit or git.is_ancestor(commit, tip) for tip in tips):
        raise ReleaseRefused(f"commit {short(commit)} is not on {source_branch}: merge it into {source_branch} "
                             "first, so stable only ever holds what main has")


def check_promotable(git: Git, results: RunResults, *, branch: str = "stable", source_branch: str = "main",
                     remote: str | None = None) -> str:
    """Every refusal that needs neither the gate nor the remote; the tested commit's full sha.

    Run before :func:`fetch_remote_state`, so a doomed promotion does not even fetch.
    """
    commit = _check_tested_commit(git, results)
    _check_on_source_branch(git, commit, source_branch, remote)
    changes = git.uncommitted_changes()
    if changes:
        raise ReleaseRefused("the work tree has uncommitted changes; commit or stash them first:\n  "
                             + "\n  ".join(changes[:20]))
    if git.current_branch() == branch:
        raise ReleaseRefused(f"{branch} is checked out here; check out another branch (e.g. main) first, "
                             f"so moving {branch} does not leave this work tree behind")
    return commit


def promote(git: Git, results: RunResults, gate: GateSettings, *, source: str = "results",
            baseline: RunResults | None = None, baseline_label: str | None = None, branch: str = "stable",
            source_branch: str = "main", remote: str | None = None, remote_tip: str | None = None,
            baseline_file: Path | None = None, today: date | None = None) -> Promotion:
    """Fast-forward ``branch`` to the commit ``results`` tested, if the gate passes; see the module docstring.

    With ``remote``, also push; ``remote_tip`` is the remote's branch tip from
    :func:`fetch_remote_state` (the push itself is never forced either way).
    """
    commit = check_promotable(git, results, branch=branch, source_branch=source_branch, remote=remote)
    verdict = evaluate(results, gate, baseline, baseline_label)
    if not verdict.passed:
        raise ReleaseRefused(f"the gate failed for {short(commit)}: nothing promoted\n\n"
                             + render_text(verdict, source))

    local_tip = git.commit_of(f"refs/heads/{branch}")
    for label, tip in ((branch, local_tip), (f"{remote}/{branch}", remote_tip)):
        if tip is not None and tip != commit and not git.is_ancestor(tip, commit):
            missing = [f"{sha[:12]} {subject}" for sha, subject in git.log(f"{commit}..{tip}")[:20]]
            raise ReleaseRefused(f"not a fast-forward: {label} ({short(tip)}) is not an ancestor of "
                                 f"{short(commit)}; it has commits the tested commit lacks:\n  " + "\n  ".join(missing))
    promotion = Promotion(commit=commit, branch=branch, previous=remote_tip or local_tip, verdict=verdict)
    if local_tip == commit and (remote is None or remote_tip == commit):
        promotion.already = True
        return promotion

    undo = _Undo()
    try:
        promotion.tag = _tag_name(git, branch, commit, today or date.today())
        message = (f"Promote {short(commit)} to {branch}\n\nprevious {branch}: {short(promotion.previous)}\n\n"
                   + render_text(verdict, source))
        git.run("tag", "-a", promotion.tag, "-F", "-", commit, input=message)
        undo.add(lambda: git.run("tag", "-d", promotion.tag or ""))
        old_notes = git.commit_of(NOTES_REF)
        git.run("notes", f"--ref={NOTES_REF}", "add", "-f", "-F", "-", commit, input=results.to_json())
        undo.add(_restore_ref(git, NOTES_REF, old_notes))
        git.run("update-ref", f"refs/heads/{branch}", commit, local_tip or ZERO_SHA)
        undo.add(_restore_ref(git, f"refs/heads/{branch}", local_tip))
        if remote:
            git.run("push", "--atomic", "--quiet", remote, f"refs/heads/{branch}:refs/heads/{branch}",
                    f"refs/tags/{promotion.tag}", f"{NOTES_REF}:{NOTES_REF}",
                    what=f"push to {remote} was rejected; local changes undone, nothing promoted")
            promotion.pushed_to = remote
    except BaseException:
        undo.run()
        raise
    if baseline_file is not None:
        promotion.baseline_file = write_results(baseline_file, results)
    return promotion


@dataclass
class RollbackPlan:
    """What ``rollback`` does (or would do, with ``dry_run``)."""

    main: str
    stable: str
    main_commit: str
    stable_commit: str
    relation: str  # "same content", "stable is an ancestor of main", "diverged", "main is behind stable"
    reverted: list[tuple[str, str]] = field(default_factory=list)
    brought_in: list[tuple[str, str]] = field(default_factory=list)
    diffstat: str = ""
    message: str = ""
    new_commit: str | None = None
    pushed_to: str | None = None

    @property
    def nothing_to_do(self) -> bool:
        return self.relation == "same content"


def _rollback_message(plan: RollbackPlan, reason: str | None) -> str:
    lines = [f"Roll back {plan.main} to {plan.stable} ({short(plan.stable_commit)})", ""]
    if reason:
        lines += [reason, ""]
    lines.append(f"Restores the content of {plan.stable} ({plan.stable_commit}) on {plan.main}; history is kept "
                 f"({plan.relation}).")
    if plan.reverted:
        lines += ["", f"Reverts these commits of {plan.main} that are not on {plan.stable}:"]
        lines += [f"  {sha[:12]} {subject}" for sha, subject in plan.reverted]
    if plan.brought_in:
        lines += ["", f"Brings in these commits of {plan.stable} that {plan.main} lacked:"]
        lines += [f"  {sha[:12]} {subject}" for sha, subject in plan.brought_in]
    return "\n".join(lines) + "\n"


def plan_rollback(git: Git, *, main: str = "main", stable: str = "stable", reason: str | None = None) -> RollbackPlan:
    """Work out the rollback without changing anything; refuses a dirty work tree."""
    main_commit = git.commit_of(f"refs/heads/{main}")
    if main_commit is None:
        raise ReleaseRefused(f"there is no local branch {main!r} to roll back")
    stable_commit = git.commit_of(stable)
    if stable_commit is None:
        raise ReleaseRefused(f"{stable!r} names no commit: nothing has been promoted yet, so there is nothing "
                             "to roll back to (fetch it first if it lives on a remote)")
    changes = git.uncommitted_changes()
    if changes:
        raise ReleaseRefused("the work tree has uncommitted changes; commit or stash them first:\n  "
                             + "\n  ".join(changes[:20]))
    if git.tree_of(main_commit) == git.tree_of(stable_commit):
        relation = "same content"
    elif git.is_ancestor(stable_commit, main_commit):
        relation = "stable is an ancestor of main"
    elif git.is_ancestor(main_commit, stable_commit):
        relation = "main is behind stable"
    else:
        relation = "diverged"
    plan = RollbackPlan(main=main, stable=stable, main_commit=main_commit, stable_commit=stable_commit,
                        relation=relation)
    if plan.nothing_to_do:
        return plan
    plan.reverted = git.log(f"{stable_commit}..{main_commit}")
    plan.brought_in = git.log(f"{main_commit}..{stable_commit}")
    plan.diffstat = git.run("diff", "--stat", main_commit, stable_commit)
    plan.message = _rollback_message(plan, reason)
    return plan


def rollback(git: Git, plan: RollbackPlan, *, remote: str | None = None) -> RollbackPlan:
    """Carry out ``plan``: one new commit on ``main`` with ``stable``'s tree; push it when ``remote`` is given."""
    if plan.nothing_to_do:
        return plan
    if git.commit_of(f"refs/heads/{plan.main}") != plan.main_commit:
        raise ReleaseRefused(f"{plan.main} moved while the rollback was planned; run it again")
    parents = ["-p", plan.main_commit]
    if plan.relation != "stable is an ancestor of main":
        parents += ["-p", plan.stable_commit]  # keeps the next promotion a fast-forward
    new_commit = git.run("commit-tree", git.tree_of(plan.stable_commit), *parents, "-F", "-", input=plan.message)
    checked_out = git.current_branch() == plan.main
    undo = _Undo()
    try:
        if checked_out:
            git.run("read-tree", "-m", "-u", plan.main_commit, new_commit,
                    what="cannot update the work tree (an untracked file would be overwritten?)")
            undo.add(lambda: git.run("read-tree", "-m", "-u", new_commit, plan.main_commit))
        git.run("update-ref", f"refs/heads/{plan.main}", new_commit, plan.main_commit)
        undo.add(_restore_ref(git, f"refs/heads/{plan.main}", plan.main_commit))
        if remote:
            git.run("push", "--quiet", remote, f"refs/heads/{plan.main}:refs/heads/{plan.main}",
                    what=f"push to {remote} was rejected; local rollback undone")
            plan.pushed_to = remote
    except BaseException:
        undo.run()
        raise
    plan.new_commit = new_commit
    return plan

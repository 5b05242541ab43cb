"""Facts about a run that reports show next to the results: git state and the targets used.

Whatever comes from here is printed in terminals, HTML reports and results files;
target descriptions reach it already made safe (``redaction.public_description``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ..errors import GitError
from ..gitrepo import Git
from ..results import CaseResult, GitInfo, TargetInfo

GIT_TIMEOUT_S = 5  # a report must not hang on a slow file system


def git_info(root: Path) -> GitInfo:
    """Commit, branch (None when detached) and dirtiness of the repository holding ``root``; all None outside git."""
    try:
        git = Git(root, timeout_s=GIT_TIMEOUT_S)
    except GitError:
        return GitInfo()
    commit = git.commit_of("HEAD")
    if not commit:
        return GitInfo()
    try:
        dirty: bool | None = bool(git.uncommitted_changes())
    except GitError:
        dirty = None
    return GitInfo(commit=commit, branch=git.current_branch(), dirty=dirty)


def targets_used(cases: Iterable[CaseResult]) -> list[TargetInfo]:
    """Every target a case ran against, in order of first use (a case may pin its own)."""
    seen: dict[str, TargetInfo] = {}
    for case in cases:
        seen.setdefault(case.target.name, case.target)
    return list(seen.values())


def run_target(used: list[TargetInfo], default: TargetInfo) -> TargetInfo:
    """The run's ``target``: the one every case used, a combined name when cases used several,
    the configured default when no case ran."""
    if not used:
        return default
    if len(used) == 1:
        return used[0]
    return TargetInfo(name=", ".join(target.name for target in used),
                      kind=", ".join(dict.fromkeys(target.kind for target in used)))

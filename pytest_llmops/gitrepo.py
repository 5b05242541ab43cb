"""A thin wrapper over the real ``git`` command: promotion, rollback, and the git facts reports show.

Every call runs ``git -C ROOT ...`` with a fixed locale and no prompts; a failure raises
:class:`~pytest_llmops.errors.GitError` carrying git's own message, never a traceback.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .errors import GitError

ZERO_SHA = "0" * 40
GIT_TIMEOUT_S = 120


class Git:
    """One repository (work tree) on disk."""

    def __init__(self, root: Path | str, timeout_s: float = GIT_TIMEOUT_S):
        self.root = Path(root)
        self.timeout_s = timeout_s
        top = self.run("rev-parse", "--show-toplevel", what=f"{self.root} is not inside a git work tree")
        self.root = Path(top)

    def run(self, *args: str, input: str | None = None, what: str | None = None) -> str:
        """Run git and return its standard output (stripped); raise GitError when it fails."""
        completed = self._call(args, input)
        if completed.returncode != 0:
            message = (completed.stderr or completed.stdout).strip()
            raise GitError(f"{what}: {message}" if what else f"git {' '.join(args)} failed: {message}")
        return completed.stdout.strip()

    def ok(self, *args: str) -> bool:
        """True when the git command exits 0 (for questions like ``merge-base --is-ancestor``)."""
        return self._call(args, None).returncode == 0

    def _call(self, args: tuple[str, ...], input: str | None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}
        try:
            return subprocess.run(["git", "-C", str(self.root), *args], input=input, capture_output=True,
                                  text=True, env=env, timeout=self.timeout_s, check=False)
        except FileNotFoundError:
            raise GitError("the git command is not installed") from None
        except subprocess.TimeoutExpired:
            raise GitError(f"git {' '.join(args)} took longer than {self.timeout_s:g} s") from None

    def commit_of(self, ref: str) -> str | None:
        """The full sha of the commit ``ref`` names, or None when it names none."""
        completed = self._call(("rev-parse", "--verify", "-q", f"{ref}^{{commit}}"), None)
        return completed.stdout.strip() if completed.returncode == 0 else None

    def tree_of(self, ref: str) -> str:
        return self.run("rev-parse", "--verify", f"{ref}^{{tree}}")

    def is_ancestor(self, older: str, newer: str) -> bool:
        return self.ok("merge-base", "--is-ancestor", older, newer)

    def current_branch(self) -> str | None:
        """The checked-out branch's short name; None on a detached HEAD."""
        completed = self._call(("symbolic-ref", "-q", "--short", "HEAD"), None)
        if completed.returncode != 0:
            return None
        return completed.stdout.strip() or None

    def uncommitted_changes(self) -> list[str]:
        """Tracked files with staged or unstaged changes (untracked files do not count)."""
        output = self._call(("status", "--porcelain", "--untracked-files=no"), None)
        if output.returncode != 0:
            raise GitError(f"git status failed: {output.stderr.strip()}")
        return [line for line in output.stdout.splitlines() if line.strip()]

    def log(self, revision_range: str) -> list[tuple[str, str]]:
        """(sha, subject) of each commit in ``revision_range``, newest first."""
        output = self.run("log", "--format=%H%x09%s", revision_range)
        return [tuple(line.split("\t", 1)) for line in output.splitlines() if line]  # type: ignore[misc]

    def remote_has(self, remote: str, ref: str) -> bool:
        """True when ``remote`` has the full ref name ``ref`` (asks the remote)."""
        completed = self._call(("ls-remote", "--exit-code", remote, ref), None)
        if completed.returncode not in (0, 2):
            raise GitError(f"cannot reach remote {remote!r}: {completed.stderr.strip()}")
        return completed.returncode == 0


def short(sha: str | None) -> str:
    return sha[:12] if sha else "(none)"

"""``llmops rollback`` on real git repositories: it really rolls back, ancestor or diverged."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from release_support import GIT_ENV, commit_file, git, llmops, make_repo, refs, results_doc, run_cli, write_results


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """main = stable + two bad commits (one edits the bot, one adds a file)."""
    repo = make_repo(tmp_path / "repo")
    commit_file(repo, "bot.py", "reply = 'good'\n", "good bot")
    git(repo, "branch", "stable")
    commit_file(repo, "bot.py", "reply = 'leaks emails'\n", "bad: new prompt")
    commit_file(repo, "extra.py", "x = 1\n", "bad: extra module")
    return repo


def tree(repo: Path, ref: str) -> str:
    return git(repo, "rev-parse", f"{ref}^{{tree}}")


def test_merging_stable_is_a_no_op_but_rollback_restores_stable(repo: Path) -> None:
    bad_main = git(repo, "rev-parse", "main")
    # the prototype's rollback: "Already up to date", the bad code stays
    merge = subprocess.run(["git", "-C", str(repo), "merge", "stable"], capture_output=True, text=True,
                           env={**os.environ, **GIT_ENV})
    assert "Already up to date" in merge.stdout
    assert git(repo, "rev-parse", "main") == bad_main

    completed = llmops("rollback", "--reason", "bot leaks emails", cwd=repo)
    assert completed.returncode == 0, completed.stderr
    new_main = git(repo, "rev-parse", "main")
    assert new_main != bad_main
    assert tree(repo, "main") == tree(repo, "stable")
    assert git(repo, "rev-parse", "main^") == bad_main  # one new commit, history kept
    assert git(repo, "rev-list", "--count", "--merges", "main^!") == "0"
    message = git(repo, "log", "-1", "--format=%B", "main")
    assert message.startswith("Roll back main to stable")
    assert "bot leaks emails" in message
    assert "bad: new prompt" in message and "bad: extra module" in message
    # the work tree follows (main is checked out)
    assert (repo / "bot.py").read_text() == "reply = 'good'\n"
    assert not (repo / "extra.py").exists()
    assert git(repo, "status", "--porcelain") == ""
    assert "reverts 2 commit(s)" in completed.stdout


def test_diverged_branches_roll_back_and_the_next_promotion_is_a_fast_forward(repo: Path, tmp_path: Path) -> None:
    git(repo, "checkout", "-q", "stable")
    commit_file(repo, "hotfix.py", "fixed = True\n", "hotfix straight on stable")
    git(repo, "checkout", "-q", "main")
    stable = git(repo, "rev-parse", "stable")
    bad_main = git(repo, "rev-parse", "main")
    assert subprocess.run(["git", "-C", str(repo), "merge-base", "--is-ancestor", stable, bad_main]).returncode == 1

    completed = run_cli("rollback", cwd=repo)
    assert completed.returncode == 0, completed.stderr
    assert "diverged" in completed.stdout
    assert tree(repo, "main") == tree(repo, "stable")
    parents = git(repo, "rev-list", "--parents", "-n", "1", "main").split()[1:]
    assert parents == [bad_main, stable]
    message = git(repo, "log", "-1", "--format=%B", "main")
    assert "bad: new prompt" in message and "hotfix straight on stable" in message
    assert (repo / "hotfix.py").exists() and not (repo / "extra.py").exists()

    # after the rollback, a tested main can be promoted again: stable is an ancestor of main
    fixed = commit_file(repo, "bot.py", "reply = 'good, v2'\n", "fix forward")
    promoted = run_cli("promote", write_results(tmp_path / "r.json", results_doc(commit=fixed)), cwd=repo)
    assert promoted.returncode == 0, promoted.stderr
    assert git(repo, "rev-parse", "stable") == fixed


def test_dry_run_shows_the_plan_and_changes_nothing(repo: Path) -> None:
    before = refs(repo)
    completed = run_cli("rollback", "--dry-run", cwd=repo)
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "stable is an ancestor of main" in out
    assert "bad: new prompt" in out and "bad: extra module" in out
    assert "extra.py" in out and "bot.py" in out  # the files that would change
    assert "dry run: nothing changed" in out and "Roll back main to stable" in out
    assert refs(repo) == before
    assert (repo / "extra.py").exists()


def test_refuses_a_dirty_work_tree_and_keeps_the_edit(repo: Path) -> None:
    (repo / "bot.py").write_text("work in progress\n")
    before = refs(repo)
    completed = run_cli("rollback", cwd=repo)
    assert completed.returncode == 1
    assert "llmops rollback: refused: the work tree has uncommitted changes" in completed.stderr
    assert "bot.py" in completed.stderr
    assert refs(repo) == before
    assert (repo / "bot.py").read_text() == "work in progress\n"


def test_nothing_to_do_when_main_already_has_stables_content(repo: Path) -> None:
    assert run_cli("rollback", cwd=repo).returncode == 0
    before = refs(repo)
    again = run_cli("rollback", cwd=repo)
    assert again.returncode == 0 and "nothing to do" in again.stdout
    assert refs(repo) == before


def test_no_stable_yet_is_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "fresh")
    completed = run_cli("rollback", cwd=repo)
    assert completed.returncode == 1 and "nothing has been promoted yet" in completed.stderr


def test_main_not_checked_out_moves_only_the_branch(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    completed = run_cli("rollback", cwd=repo)
    assert completed.returncode == 0, completed.stderr
    assert tree(repo, "main") == tree(repo, "stable")
    assert (repo / "extra.py").exists()  # the checked-out feature branch is untouched
    assert git(repo, "status", "--porcelain") == ""


def test_an_untracked_file_in_the_way_stops_it_before_any_change(repo: Path) -> None:
    git(repo, "checkout", "-q", "stable")
    commit_file(repo, "notes.txt", "from stable\n", "stable adds notes.txt")
    git(repo, "checkout", "-q", "main")
    (repo / "notes.txt").write_text("my untracked notes\n")
    before = refs(repo)
    completed = run_cli("rollback", cwd=repo)
    assert completed.returncode == 2
    assert "cannot update the work tree" in completed.stderr and "notes.txt" in completed.stderr
    assert refs(repo) == before
    assert (repo / "notes.txt").read_text() == "my untracked notes\n"


def test_push_updates_the_remote_without_force_and_rollback_to_origin_stable(repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "origin", "main", "stable")
    old_remote_main = git(bare, "rev-parse", "main")
    clone = tmp_path / "ci"
    git(tmp_path, "clone", "-q", "--branch", "main", str(bare), str(clone))  # like CI: no local stable
    completed = run_cli("rollback", "--stable", "origin/stable", "--push", cwd=clone)
    assert completed.returncode == 0, completed.stderr
    new_remote_main = git(bare, "rev-parse", "main")
    assert git(bare, "merge-base", "--is-ancestor", old_remote_main, new_remote_main) == ""  # fast-forward
    assert git(bare, "rev-parse", "main^{tree}") == git(bare, "rev-parse", "stable^{tree}")
    assert "pushed: main to origin" in completed.stdout


def test_rejected_push_undoes_the_local_rollback(repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "origin", "main", "stable")
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'main is protected' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = refs(repo)
    completed = run_cli("rollback", "--push", cwd=repo)
    assert completed.returncode == 2 and "local rollback undone" in completed.stderr
    assert refs(repo) == before
    assert (repo / "extra.py").exists() and git(repo, "status", "--porcelain") == ""


def test_not_a_repository_is_a_usage_error(tmp_path: Path) -> None:
    completed = llmops("rollback", "--dry-run", cwd=tmp_path)
    assert completed.returncode == 2 and "not inside a git work tree" in completed.stderr


def test_when_the_bad_change_reached_stable_roll_back_to_the_previous_promotion_tag(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    good = commit_file(repo, "bot.py", "reply = 'good'\n", "good bot")
    assert run_cli("promote", write_results(tmp_path / "r1.json", results_doc(commit=good)), cwd=repo).returncode == 0
    bad = commit_file(repo, "bot.py", "reply = 'bad, but the suite missed it'\n", "bad: passed the gate")
    assert run_cli("promote", write_results(tmp_path / "r2.json", results_doc(commit=bad)), cwd=repo).returncode == 0
    good_tag = git(repo, "tag", "--points-at", good)
    assert good_tag.startswith("stable-")

    completed = run_cli("rollback", "--stable", good_tag, "--reason", "INC-7", cwd=repo)
    assert completed.returncode == 0, completed.stderr
    assert tree(repo, "main") == tree(repo, good)
    assert "bad: passed the gate" in git(repo, "log", "-1", "--format=%B", "main")
    # the rollback commit is then tested and promoted like any other: stable moves forward, never back
    rolled = git(repo, "rev-parse", "main")
    promoted = run_cli("promote", write_results(tmp_path / "r3.json", results_doc(commit=rolled)), cwd=repo)
    assert promoted.returncode == 0, promoted.stderr
    assert git(repo, "rev-parse", "stable") == rolled and tree(repo, "stable") == tree(repo, good)

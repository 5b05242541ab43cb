"""``llmops promote`` on real git repositories: fast-forward only, gate first, records, push, refusals."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from release_support import case, commit_file, git, llmops, make_repo, refs, results_doc, run_cli, write_results

NOTES = "refs/notes/llmops-results"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def promote(repo: Path, document: dict, *args: str, real_process: bool = False):
    path = write_results(repo.parent / "results.json", document)
    return (llmops if real_process else run_cli)("promote", path, *args, cwd=repo)


def test_first_promotion_creates_stable_at_the_tested_commit_with_tag_note_and_baseline(repo: Path) -> None:
    tested = git(repo, "rev-parse", "HEAD")
    baseline = repo.parent / "baseline" / "stable-results.json"
    completed = promote(repo, results_doc(commit=tested), "--baseline-out", str(baseline), real_process=True)
    assert completed.returncode == 0, completed.stderr
    assert git(repo, "rev-parse", "stable") == tested
    tag = f"stable-{date.today().isoformat()}-{tested[:7]}"
    assert f"annotated tag {tag}" in completed.stdout
    assert f"stable created at {tested[:12]} (first promotion)" in completed.stdout
    assert git(repo, "cat-file", "-t", tag) == "tag"  # annotated, not lightweight
    assert git(repo, "rev-parse", f"{tag}^{{commit}}") == tested
    message = git(repo, "tag", "-l", "--format=%(contents)", tag)
    assert "VERDICT: PASS" in message and "pass rate" in message
    note = json.loads(git(repo, "notes", f"--ref={NOTES}", "show", tested))
    assert note["run"]["git"]["commit"] == tested and note["summary"]["cases"] == 2
    assert json.loads(baseline.read_text())["run"]["git"]["commit"] == tested


def test_promotes_exactly_the_tested_commit_not_the_newer_head(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    assert promote(repo, results_doc(commit=first)).returncode == 0
    tested = commit_file(repo, "bot.py", "v2\n", "v2")
    commit_file(repo, "bot.py", "v3 untested\n", "v3")
    completed = promote(repo, results_doc(commit=tested))
    assert completed.returncode == 0, completed.stderr
    assert git(repo, "rev-parse", "stable") == tested
    assert f"stable {first[:12]} -> {tested[:12]} (fast-forward)" in completed.stdout
    assert git(repo, "rev-parse", "main") != tested


def test_promoting_the_same_commit_again_changes_nothing(repo: Path) -> None:
    tested = git(repo, "rev-parse", "HEAD")
    assert promote(repo, results_doc(commit=tested)).returncode == 0
    before = refs(repo)
    again = promote(repo, results_doc(commit=tested))
    assert again.returncode == 0 and "already at" in again.stdout
    assert refs(repo) == before


def _refusal_cases():
    return {
        "gate fails": (lambda repo, head: results_doc([case("a"), case("b", "failed")], commit=head),
                       "the gate failed for"),
        "pii found": (lambda repo, head: results_doc(commit=head, pii={"email": 1}), "PII findings"),
        "no commit recorded": (lambda repo, head: results_doc(commit=None), "record no git commit"),
        "run on a dirty tree": (lambda repo, head: results_doc(commit=head, dirty=True), "uncommitted changes, not commit"),
        "unknown commit": (lambda repo, head: results_doc(commit="f" * 40), "is not in this repository"),
    }


@pytest.mark.parametrize("name", list(_refusal_cases()))
def test_refusals_say_why_and_change_nothing(repo: Path, name: str) -> None:
    head = git(repo, "rev-parse", "HEAD")
    make_document, reason = _refusal_cases()[name]
    before = refs(repo)
    completed = promote(repo, make_document(repo, head), real_process=name == "gate fails")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "llmops promote: refused:" in completed.stderr and reason in completed.stderr
    assert refs(repo) == before
    assert git(repo, "tag") == ""


def test_refuses_a_dirty_work_tree(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    (repo / "pyproject.toml").write_text("[tool.llmops]\n# edited\n")
    before = refs(repo)
    completed = promote(repo, results_doc(commit=head))
    assert completed.returncode == 1
    assert "uncommitted changes" in completed.stderr and "pyproject.toml" in completed.stderr
    assert refs(repo) == before
    assert "# edited" in (repo / "pyproject.toml").read_text()


def test_untracked_files_such_as_reports_do_not_block(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    (repo / "report.html").write_text("<html></html>")
    assert promote(repo, results_doc(commit=head)).returncode == 0


def test_refuses_anything_but_a_fast_forward(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "hotfix")
    hotfix = commit_file(repo, "fix.txt", "fix\n", "hotfix on stable")
    git(repo, "branch", "stable", hotfix)
    git(repo, "checkout", "-q", "main")
    tested = commit_file(repo, "feature.txt", "feature\n", "feature on main")
    assert git(repo, "merge-base", "stable", tested) == base
    before = refs(repo)
    completed = promote(repo, results_doc(commit=tested))
    assert completed.returncode == 1
    assert "not a fast-forward" in completed.stderr and "hotfix on stable" in completed.stderr
    assert refs(repo) == before


def test_refuses_a_commit_older_than_stable(repo: Path) -> None:
    old = git(repo, "rev-parse", "HEAD")
    newer = commit_file(repo, "bot.py", "v2\n", "v2")
    assert promote(repo, results_doc(commit=newer)).returncode == 0
    completed = promote(repo, results_doc(commit=old))
    assert completed.returncode == 1 and "not a fast-forward" in completed.stderr
    assert git(repo, "rev-parse", "stable") == newer


def test_refuses_while_stable_is_checked_out(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "stable")
    completed = promote(repo, results_doc(commit=head))
    assert completed.returncode == 1 and "stable is checked out here" in completed.stderr


def test_bad_results_file_and_not_a_repository_are_usage_errors(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"schema": 1, "tool": ')
    before = refs(repo)
    bad = llmops("promote", tmp_path / "bad.json", cwd=repo)
    assert bad.returncode == 2 and "not valid JSON (truncated?)" in bad.stderr
    assert refs(repo) == before
    outside = tmp_path / "plain"
    outside.mkdir()
    write_results(outside / "r.json", results_doc(commit="a" * 40))
    not_repo = llmops("promote", "r.json", cwd=outside)
    assert not_repo.returncode == 2 and "not inside a git work tree" in not_repo.stderr


def test_baseline_is_the_stored_results_of_stable(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    good = [case("greeting"), case("returns")]
    assert promote(repo, results_doc(good, commit=first)).returncode == 0
    second = commit_file(repo, "bot.py", "v2\n", "v2")
    # a relaxed pass rate would let this through, but 'returns' passed on stable: a regression
    completed = promote(repo, results_doc([case("greeting"), case("returns", "failed")], commit=second),
                        "--min-pass-rate", "0.5")
    assert completed.returncode == 1
    assert "passed on baseline, failed now" in completed.stderr
    assert f"results stored for stable ({first[:12]})" in completed.stderr
    assert git(repo, "rev-parse", "stable") == first
    # and llmops gate reads the same stored results with --baseline-ref
    write_results(repo.parent / "now.json", results_doc([case("greeting"), case("returns", "failed")], commit=second))
    gate = run_cli("gate", repo.parent / "now.json", "--baseline-ref", "stable", "--min-pass-rate", "0.5", cwd=repo)
    assert gate.returncode == 1 and "passed on baseline, failed now" in gate.stdout


@pytest.fixture
def remote(tmp_path: Path, repo: Path) -> Path:
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "origin", "main")
    return bare


def test_push_sends_stable_tag_and_notes_and_a_fresh_clone_uses_them(repo: Path, remote: Path, tmp_path: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    completed = promote(repo, results_doc(commit=first), "--push", real_process=True)
    assert completed.returncode == 0, completed.stderr
    assert git(remote, "rev-parse", "refs/heads/stable") == first
    tag = f"stable-{date.today().isoformat()}-{first[:7]}"
    assert git(remote, "cat-file", "-t", f"refs/tags/{tag}") == "tag"
    assert git(remote, "rev-parse", "--verify", NOTES) != ""

    # CI: a fresh clone, main only; promote --push fetches stable and the stored results itself
    second = commit_file(repo, "bot.py", "v2\n", "v2")
    git(repo, "push", "-q", "origin", "main")
    clone = tmp_path / "ci"
    git(tmp_path, "clone", "-q", "--branch", "main", str(remote), str(clone))
    regressed = results_doc([case("greeting"), case("returns", "failed")], commit=second)
    refused = llmops("promote", write_results(tmp_path / "r2.json", regressed), "--push", "--min-pass-rate", "0",
                     cwd=clone)
    assert refused.returncode == 1 and "passed on baseline, failed now" in refused.stderr
    assert git(remote, "rev-parse", "refs/heads/stable") == first
    ok = llmops("promote", write_results(tmp_path / "r3.json", results_doc(commit=second)), "--push", cwd=clone)
    assert ok.returncode == 0, ok.stderr
    assert git(remote, "rev-parse", "refs/heads/stable") == second
    assert f"stable {first[:12]} -> {second[:12]}" in ok.stdout


def test_a_rejected_push_undoes_the_local_promotion(repo: Path, remote: Path) -> None:
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected: no pushes today' >&2\nexit 1\n")
    hook.chmod(0o755)
    head = git(repo, "rev-parse", "HEAD")
    before = refs(repo)
    completed = promote(repo, results_doc(commit=head), "--push")
    assert completed.returncode == 2
    assert "push to origin was rejected; local changes undone" in completed.stderr
    assert "protected: no pushes today" in completed.stderr
    assert refs(repo) == before
    assert git(remote, "for-each-ref") == git(remote, "for-each-ref", "refs/heads/main")


def test_remote_stable_ahead_of_the_tested_commit_is_refused(repo: Path, remote: Path, tmp_path: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    moved = commit_file(other, "hotfix.txt", "x\n", "hotfix pushed elsewhere")
    git(other, "push", "-q", "origin", f"{moved}:refs/heads/stable")
    tested = commit_file(repo, "feature.txt", "y\n", "feature")
    completed = promote(repo, results_doc(commit=tested), "--push")
    assert completed.returncode == 1
    assert "origin/stable" in completed.stderr and "not a fast-forward" in completed.stderr
    assert git(remote, "rev-parse", "refs/heads/stable") == moved
    assert "refs/heads/stable" not in refs(repo) and "refs/tags/" not in refs(repo)
    assert git(repo, "merge-base", tested, moved) == base


def test_refuses_a_commit_that_is_not_on_main(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    tested = commit_file(repo, "feature.txt", "unmerged\n", "unmerged feature")
    git(repo, "checkout", "-q", "main")
    before = refs(repo)
    completed = promote(repo, results_doc(commit=tested))
    assert completed.returncode == 1 and f"commit {tested[:12]} is not on main" in completed.stderr
    assert refs(repo) == before
    allowed = promote(repo, results_doc(commit=tested), "--from", "feature")
    assert allowed.returncode == 0, allowed.stderr
    assert git(repo, "rev-parse", "stable") == tested


def test_promotion_is_added_to_the_github_step_summary(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    summary = repo.parent / "summary.md"
    path = write_results(repo.parent / "results.json", results_doc(commit=head))
    completed = run_cli("promote", path, cwd=repo, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert completed.returncode == 0, completed.stderr
    assert f"### Promoted `{head[:12]}` to `stable`" in summary.read_text()


def test_an_unknown_remote_is_a_usage_error_and_changes_nothing(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    before = refs(repo)
    completed = promote(repo, results_doc(commit=head), "--push", "nowhere")
    assert completed.returncode == 2 and "cannot reach remote 'nowhere'" in completed.stderr
    assert refs(repo) == before and git(repo, "tag") == ""


def test_a_refusal_with_push_does_not_even_fetch(repo: Path, remote: Path, tmp_path: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    assert promote(repo, results_doc(commit=head), "--push").returncode == 0
    clone = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", "--branch", "main", str(remote), str(clone))
    before = refs(clone)
    path = write_results(tmp_path / "dirty.json", results_doc(commit=head, dirty=True))
    completed = run_cli("promote", path, "--push", cwd=clone)
    assert completed.returncode == 1 and "uncommitted changes, not commit" in completed.stderr
    assert refs(clone) == before and NOTES not in refs(clone)

"""Helpers for the gate and release tests: results documents, real git repositories, the CLI."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author", "GIT_AUTHOR_EMAIL": "author@example.invalid",
    "GIT_COMMITTER_NAME": "Test Committer", "GIT_COMMITTER_EMAIL": "committer@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}


def case(name: str, outcome: str = "passed", file: str = "eval_cases/support.yaml") -> dict[str, Any]:
    """One case record of the results contract (one turn)."""
    passed = outcome == "passed"
    return {
        "nodeid": f"{file}::{name}", "case_id": name, "file": file, "line": 1, "description": None,
        "tags": [], "target": {"name": "stub", "kind": "stub", "url": None}, "passed": passed,
        "turns": [{"turn": 1, "user": "hi", "reply": "hello", "latency_ms": 1.0, "ttft_ms": None, "status": None,
                   "error": None, "error_kind": None, "retries": 0,
                   "checks": [{"check": "contains", "passed": passed, "expected": "x", "actual": "y", "pii_kinds": []}],
                   "passed": passed}],
        "skipped_turns": 0, "outcome": outcome, "duration_s": 0.01,
    }


def results_doc(cases: list[dict[str, Any]] | None = None, *, commit: str | None = None, dirty: bool = False,
                p95: float | None = 100.0, pii: dict[str, int] | None = None, error_rate: float = 0.0,
                errors: int = 0) -> dict[str, Any]:
    """A results document (schema 1) whose summary agrees with ``cases``."""
    cases = [case("greeting"), case("returns")] if cases is None else cases
    counts = {outcome: sum(c["outcome"] == outcome for c in cases) for outcome in ("passed", "failed", "skipped", "error")}
    ran = len(cases) - counts["skipped"]
    return {
        "schema": 1,
        "tool": {"name": "pytest-llmops", "version": "0.1.0"},
        "run": {"started_at": "2026-11-25T10:00:00Z", "finished_at": "2026-11-25T10:00:01Z", "duration_s": 1.0,
                "git": {"commit": commit, "branch": "main", "dirty": dirty},
                "target": {"name": "stub", "kind": "stub", "url": None},
                "concurrency": 8, "cases_dir": "eval_cases", "argv": ["--llmops"]},
        "summary": {"cases": len(cases), "passed": counts["passed"], "failed": counts["failed"],
                    "skipped": counts["skipped"], "errors": errors + counts["error"],
                    "pass_rate": counts["passed"] / ran if ran else 0.0, "turns": len(cases),
                    "error_rate": error_rate,
                    "latency_ms": {"p50": p95, "p95": p95, "p99": p95, "max": p95},
                    "checks_failed": {}, "pii_findings": pii or {}},
        "cases": cases,
    }


def write_results(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def llmops(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real ``llmops`` command as a subprocess."""
    full_env = {key: value for key, value in os.environ.items() if key != "GITHUB_STEP_SUMMARY"}
    full_env.update({**GIT_ENV, **(env or {})})
    return subprocess.run([sys.executable, "-m", "pytest_llmops.cli", *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=60)


def run_cli(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The same ``llmops`` entry point called in this process (no interpreter start-up), for the many
    variations of one behaviour; each test file also runs the real command as a subprocess."""
    from pytest_llmops.cli import main

    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    os.environ.pop("GITHUB_STEP_SUMMARY", None)
    os.environ.update({**GIT_ENV, **(env or {})})
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(arg) for arg in args])
            except SystemExit as exc:  # argparse's usage errors
                code = int(exc.code or 0)
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess(["llmops", *map(str, args)], code, out.getvalue(), err.getvalue())


def git(repo: Path, *args: str, input: str | None = None) -> str:
    completed = subprocess.run(["git", "-C", str(repo), *args], input=input, capture_output=True, text=True,
                               env={**os.environ, **GIT_ENV}, timeout=30)
    if completed.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {completed.stderr}")
    return completed.stdout.strip()


def commit_file(repo: Path, name: str, text: str, message: str) -> str:
    """Write ``name``, commit it, return the new commit's sha."""
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def make_repo(path: Path) -> Path:
    """A repository on ``main`` with a pyproject.toml and one commit."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    (path / ".gitignore").write_text("results*.json\n")
    git(path, "add", ".gitignore")
    commit_file(path, "pyproject.toml", "[tool.llmops]\n", "project")
    return path


def refs(repo: Path) -> str:
    """Every ref and what it points at: equal before and after means nothing changed."""
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)")

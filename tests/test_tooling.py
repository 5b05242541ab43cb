"""Tests that need a tool beyond Python skip with a reason on a machine without it, never download it,
and fail instead under LLMOPS_TESTS_STRICT (what .ci/run sets), so CI never passes by skipping."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tooling import STRICT_ENV

ROOT = Path(__file__).resolve().parents[1]


def run_without_node(tmp_path: Path, strict: bool) -> subprocess.CompletedProcess:
    """tests/test_release_docs.py's Mermaid checks, with only Python (and git) on the PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("git", "bash"):
        target = bin_dir / tool
        if not target.exists():
            target.symlink_to(subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip())
    env = {key: value for key, value in os.environ.items() if key != STRICT_ENV and not key.startswith("PYTEST_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{bin_dir}"
    if strict:
        env[STRICT_ENV] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs",
                           "tests/test_release_docs.py", "-k", "mermaid or diagram_is_valid or rejects_a_broken"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_without_node_the_mermaid_checks_skip_saying_what_to_install(tmp_path: Path) -> None:
    done = run_without_node(tmp_path, strict=False)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "2 skipped" in done.stdout and "passed" not in done.stdout.splitlines()[-1], done.stdout[-2000:]
    assert "needs the node command (Node.js 18+ and npm; .ci/run installs them)" in done.stdout
    assert "npm" not in done.stderr


def test_under_llmops_tests_strict_a_missing_tool_fails(tmp_path: Path) -> None:
    done = run_without_node(tmp_path, strict=True)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "2 errors" in done.stdout and f"{STRICT_ENV} is set" in done.stdout  # failed in the fixture


def test_ci_sets_the_strict_variable_before_running_the_tests() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert f"export {STRICT_ENV}=1" in script
    assert script.index(f"export {STRICT_ENV}=1") < script.index("\npytest")
    assert "npm ci --prefix tools/mermaid" in script  # the packages the Mermaid checks need, installed by CI


@pytest.mark.parametrize("test_file", ["test_release_docs.py", "test_report_browser.py"])
def test_tool_checks_go_through_require(test_file: str) -> None:
    """A missing tool is require()'s call (skip locally, fail in CI), never a bare assert or a download."""
    text = (ROOT / "tests" / test_file).read_text()
    assert "require(" in text
    assert '"npm", "ci"' not in text and "[npm, \"ci\"" not in text

"""Tests that need a tool beyond Python skip with a reason on a machine without it, never download it,
and fail instead under LLMOPS_TESTS_STRICT (what .ci/run sets), so CI never passes by skipping."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tooling import STRICT_ENV, require

ROOT = Path(__file__).resolve().parents[1]


def test_without_node_the_mermaid_checks_skip_saying_what_to_install(tmp_path: Path) -> None:
    """The real test file, in a real pytest process whose PATH has Python, git and bash but no Node."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "bash"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    env = {key: value for key, value in os.environ.items() if key != STRICT_ENV and not key.startswith("PYTEST_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{bin_dir}"
    packages = ROOT / "tools" / "mermaid" / "node_modules"
    installed = packages.exists()
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs",
                           "tests/test_release_docs.py", "-k", "diagram_is_valid or rejects_a_broken"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "2 skipped" in done.stdout and " passed" not in done.stdout.splitlines()[-1], done.stdout[-2000:]
    assert "needs the node command (Node.js 18+ and npm; .ci/run installs them)" in done.stdout
    assert packages.exists() == installed  # nothing was downloaded


def test_node_without_the_npm_packages_skips_with_the_command_to_run(monkeypatch, tmp_path: Path) -> None:
    import test_release_docs

    monkeypatch.setattr(test_release_docs, "TOOL", tmp_path)  # a tools/mermaid with no node_modules
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    reason = test_release_docs._mermaid_missing()
    assert reason is not None and "npm ci --prefix tools/mermaid" in reason


def test_under_llmops_tests_strict_a_missing_tool_fails(monkeypatch) -> None:
    monkeypatch.delenv(STRICT_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs the node command"):
        require("needs the node command (Node.js 18+ and npm; .ci/run installs them)")
    monkeypatch.setenv(STRICT_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{STRICT_ENV} is set"):
        require("needs the node command (Node.js 18+ and npm; .ci/run installs them)")
    require(None)  # nothing missing: nothing happens


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

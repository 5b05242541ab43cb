"""The release docs: the lifecycle diagram is valid Mermaid (real parser), every command shown parses."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from release_support import GIT_ENV, git
from tooling import missing_command, require

from pytest_llmops.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "mermaid"
DOCS = [ROOT / "docs" / "lifecycle_map.md", ROOT / "docs" / "release.md"]


NPM_CI = "npm ci --prefix tools/mermaid --no-audit --no-fund --loglevel=error"


def _mermaid_missing() -> str | None:
    """Why the real Mermaid parser cannot run here (None when it can). Tests never download it themselves."""
    missing = missing_command("node", "Node.js 18+ and npm; .ci/run installs them")
    if missing is None and not (TOOL / "node_modules" / "mermaid").is_dir():
        missing = f"needs tools/mermaid's npm packages, pinned by its package-lock.json: run `{NPM_CI}` once"
    return missing


@pytest.fixture(scope="module")
def mermaid_check() -> list[str]:
    """``node tools/mermaid/check.mjs``: skipped (failed in CI, where .ci/run installs it) when it cannot run."""
    require(_mermaid_missing())
    return [shutil.which("node"), str(TOOL / "check.mjs")]


def test_the_lifecycle_diagram_is_valid_mermaid(mermaid_check: list[str]) -> None:
    completed = subprocess.run([*mermaid_check, str(DOCS[0])], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "ok (flowchart" in completed.stdout


def test_the_checker_rejects_a_broken_diagram_and_a_file_without_one(mermaid_check: list[str], tmp_path: Path) -> None:
    text = DOCS[0].read_text()
    broken = tmp_path / "broken.md"
    broken.write_text(text.replace('gate{"3. Gate<br/>llmops gate"}', 'gate{"3. Gate<br/>llmops gate"'))
    completed = subprocess.run([*mermaid_check, str(broken)], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 1 and "invalid mermaid" in completed.stderr
    assert f"{broken}:8:" in completed.stderr  # the line the diagram starts on
    plain = tmp_path / "plain.md"
    plain.write_text("# no diagram\n")
    none = subprocess.run([*mermaid_check, str(plain)], capture_output=True, text=True, timeout=60)
    assert none.returncode == 2 and "no ```mermaid block" in none.stderr


def _diagram() -> str:
    return DOCS[0].read_text().split("```mermaid\n", 1)[1].split("```", 1)[0]


def test_the_diagram_is_the_whole_loop_each_phase_with_its_command() -> None:
    diagram = _diagram()
    nodes = dict(re.findall(r'^\s*(\w+)[\[{(]+"([^"]+)"', diagram, re.M))
    edges = set(re.findall(r"^\s*(\w+)\s+-[-.]+>(?:\|[^|]*\|)?\s*(\w+)", diagram, re.M))
    loop = ["dev", "test", "gate", "promote", "deploy", "monitor", "feedback", "regress", "dev"]
    assert {(a, b) for a, b in zip(loop, loop[1:])} <= edges
    for node, command in [("test", "pytest --llmops"), ("gate", "llmops gate"), ("promote", "llmops promote"),
                          ("monitor", "llmops monitor"), ("feedback", "llmops feedback"),
                          ("regress", "llmops cases from-feedback"), ("rollback", "llmops rollback")]:
        assert command in nodes[node]


def _shell_commands(path: Path) -> list[str]:
    """Every ``llmops ...`` line of the bash blocks in ``path`` (comments and continuations handled)."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", path.read_text(), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            for part in re.split(r"&&|\|", line.split("  #")[0]):
                part = part.strip()
                if part.startswith("llmops "):
                    commands.append(part.split(">")[0].strip())
    return commands


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_llmops_command_in_the_docs_parses(path: Path) -> None:
    commands = _shell_commands(path)
    assert len(commands) >= 5
    for command in commands:
        try:
            build_parser().parse_args(shlex.split(command)[1:])
        except SystemExit:
            pytest.fail(f"{path.name}: {command!r} does not parse")


def test_the_readme_release_commands_work_as_written(tmp_path: Path) -> None:
    """README's "Releasing" block, line by line, in a git checkout of the shipped suite."""
    section = (ROOT / "README.md").read_text().split("## Releasing", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    shutil.copytree(ROOT / "eval_cases", tmp_path / "eval_cases")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "suite")
    env = {**os.environ, **GIT_ENV, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("GITHUB_STEP_SUMMARY", None)
    for line in filter(None, (line.split("  #")[0].strip() for line in block.splitlines())):
        done = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, f"{line}: {done.stdout[-1500:]}{done.stderr[-1500:]}"
    assert git(tmp_path, "rev-parse", "stable") == git(tmp_path, "rev-parse", "main")

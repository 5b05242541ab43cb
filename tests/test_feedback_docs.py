"""The feedback docs: README's feedback-loop commands run as written; every command in docs/feedback.md parses."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_llmops.cases import load_case_file
from pytest_llmops.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, re.S)


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def test_readme_feedback_commands_work_exactly_as_written(tmp_path: Path) -> None:
    [block] = bash_blocks(readme_section("Feedback loop"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "eval_cases", tmp_path / "eval_cases",
                    ignore=shutil.ignore_patterns("regressions"))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path, env=env, text=True,
                            capture_output=True, stdin=subprocess.DEVNULL, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [generated] = (tmp_path / "eval_cases" / "regressions").glob("fb-wrong-answer-*.yaml")
    [case] = load_case_file(generated)
    expect = case.turn_expects[0]
    assert expect.contains == ["30 days"] and expect.not_contains is None
    assert [bool(re.search(pattern, "You have 14 days.")) for pattern in expect.not_matches] == [True]
    assert re.search(r"\b1 passed\b", result.stdout)


@pytest.mark.parametrize("path", [ROOT / "docs" / "feedback.md", ROOT / "README.md"], ids=lambda p: p.name)
def test_every_feedback_command_in_the_docs_parses(path: Path) -> None:
    commands = [line.strip() for block in bash_blocks(path.read_text()) for line in block.splitlines()
                if line.strip().startswith(("llmops feedback", "llmops cases"))]
    assert commands
    for command in commands:
        try:
            build_parser().parse_args(shlex.split(command.split("  #")[0])[1:])
        except SystemExit:
            pytest.fail(f"{path.name}: {command!r} does not parse")

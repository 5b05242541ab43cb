"""README's repeats-and-cassettes commands run exactly as written on a copy of the shipped suite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from test_feedback_docs import ROOT, bash_blocks, readme_section


def test_readme_repeat_and_cassette_commands_work_as_written(tmp_path: Path) -> None:
    [block] = bash_blocks(readme_section("Non-deterministic bots"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "eval_cases", tmp_path / "eval_cases", ignore=shutil.ignore_patterns("regressions"))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path, env=env, text=True,
                            capture_output=True, stdin=subprocess.DEVNULL, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "llmops: cassettes: recording to" in result.stdout
    assert "llmops: cassettes: replaying from" in result.stdout and ", offline" in result.stdout
    cassette = tmp_path / "cassettes" / "support" / "tickets" / "quote-ticket-number.yaml"
    assert "ticket number is T-" in cassette.read_text()
    assert (tmp_path / "cassettes" / "support" / "order_states" / "order-state[48212-shipped].yaml").exists()

"""Helpers shared by the feedback and conversion tests: the real ``llmops`` command as a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pexpect


def llmops(cwd: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run ``llmops ARGS`` in ``cwd`` with no terminal on stdin; ``check`` asserts exit code 0."""
    result = subprocess.run([sys.executable, "-m", "pytest_llmops.cli", *args], cwd=cwd, text=True,
                            capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def spawn_llmops(cwd: Path, *args: str) -> pexpect.spawn:
    """``llmops ARGS`` on a real pseudo-terminal, for the interactive prompts."""
    return pexpect.spawn(sys.executable, ["-m", "pytest_llmops.cli", *args], cwd=str(cwd), encoding="utf-8",
                         timeout=20, dimensions=(50, 200))


def converse(child: pexpect.spawn, steps: list[tuple[str, str]]) -> None:
    """Wait for each prompt text, then answer it."""
    for prompt, answer in steps:
        child.expect_exact(prompt)
        child.sendline(answer)

"""Tests that need a tool beyond Python (a browser, Node.js, shellcheck, a package): skip or fail.

On a developer's machine a missing tool skips the test with a reason saying what to
install. ``.ci/run`` installs every tool and sets ``LLMOPS_TESTS_STRICT=1``: there a
missing tool fails the test, so CI never passes by skipping what it was meant to check.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

STRICT_ENV = "LLMOPS_TESTS_STRICT"


def require(missing: str | None) -> None:
    """Skip (or, under ``LLMOPS_TESTS_STRICT``, fail) when ``missing`` says what is missing and how to get it."""
    __tracebackhide__ = True  # the skip is reported at the test (or helper) that asked, not here
    if missing is None:
        return
    if os.environ.get(STRICT_ENV):
        pytest.fail(f"{missing} ({STRICT_ENV} is set: .ci/run installs it, so its absence is a broken build)")
    pytest.skip(missing)


def missing_command(name: str, how: str) -> str | None:
    """None when ``name`` is on the PATH, else the reason to skip (``how``: how to install it)."""
    return None if shutil.which(name) else f"needs the {name} command ({how})"


def missing_module(name: str, how: str) -> str | None:
    """None when the Python module ``name`` can be imported, else the reason to skip."""
    return None if importlib.util.find_spec(name) else f"needs the Python package {name} ({how})"


def missing_procfs() -> str | None:
    """None where Linux's /proc shows a process's open files and their offsets, else the reason to skip."""
    return None if os.path.isdir("/proc/self/fdinfo") else "needs Linux's /proc (open files and offsets of a process)"


def missing_fork() -> str | None:
    """None where processes can fork and be killed with SIGKILL (POSIX), else the reason to skip."""
    return None if hasattr(os, "fork") else "needs fork and SIGKILL (POSIX)"

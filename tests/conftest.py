"""Shared test fixtures. `make_project` builds a throwaway project for end-to-end plugin runs."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Callable

import pytest

pytest_plugins = ["pytester"]


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def make_project(pytester: pytest.Pytester) -> Callable[..., pytest.Pytester]:
    """Write a pyproject.toml ([tool.llmops] body) and case files {relative path: text} into pytester's folder."""

    def make(cases: dict[str, str | bytes], llmops_toml: str = "") -> pytest.Pytester:
        _write(pytester.path / "pyproject.toml", "[tool.llmops]\n" + textwrap.dedent(llmops_toml))
        for name, text in cases.items():
            _write(pytester.path / "eval_cases" / name, text)
        return pytester

    return make

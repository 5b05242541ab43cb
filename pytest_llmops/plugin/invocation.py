"""What the user typed: mistakes in it that pytest cannot see, and the command that reproduces a run.

* :func:`rootdir_problem`: pytest picks its rootdir from the first arguments that look like
  paths, before it knows our options, so ``--llmops-replay /tmp/cas`` (a space, not ``=``)
  can make ``/tmp`` the rootdir: the project's ``[tool.llmops]`` is then never read.
* :func:`missing_cases_problem` and :func:`cases_without_llmops_problem`: a run that could
  only collect nothing says why and what to do (``llmops init``, ``--llmops``).
* :func:`reproduce_command`: the command line that runs the same cases the same way.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import pytest

if TYPE_CHECKING:
    from ..config import Settings

#: our options that take a path: written with a space, pytest may take the path for its rootdir
PATH_OPTIONS = ("--llmops-replay", "--llmops-record", "--llmops-results", "--llmops-cases")
#: files that make a folder pytest's rootdir (``pyproject.toml`` counts even without pytest settings)
_ROOT_MARKERS = {"pytest.ini": None, ".pytest.ini": None, "pyproject.toml": None, "tox.ini": "[pytest]",
                 "setup.cfg": "[tool:pytest]"}


def _as_path(arg: str, base: Path) -> Path | None:
    """The folder pytest derives from a command-line word when it picks the rootdir, or None."""
    if arg.startswith("-"):
        return None
    path = Path(os.path.abspath(base / arg.split("::")[0]))
    try:
        if not path.exists():
            return None
    except OSError:
        return None
    return path if path.is_dir() else path.parent


def _common_ancestor(paths: Iterable[Path], default: Path) -> Path:
    paths = list(paths)
    return Path(os.path.commonpath(paths)) if paths else default


def _config_root(start: Path, invocation_dir: Path) -> Path:
    """The rootdir pytest would choose from the arguments' common folder ``start`` (no -c, no --rootdir)."""
    for folder in (start, *start.parents):
        for name, section in _ROOT_MARKERS.items():
            candidate = folder / name
            if candidate.is_file() and (section is None or section in candidate.read_text(errors="replace")):
                return folder
    for folder in (start, *start.parents):
        if (folder / "setup.py").is_file():
            return folder
    return _common_ancestor([invocation_dir, start], invocation_dir)


def spaced_path_options(args: list[str]) -> list[tuple[int, str, str]]:
    """(index of the value, option, value) for every path option written as two words."""
    return [(index + 1, arg, args[index + 1]) for index, arg in enumerate(args[:-1]) if arg in PATH_OPTIONS]


def rootdir_problem(config: pytest.Config) -> str | None:
    """Why the rootdir pytest chose came from one of our option values (None when it did not)."""
    if config.getoption("rootdir", None) or config.getoption("inifilename", None):
        return None
    args = [str(arg) for arg in config.invocation_params.args]
    spaced = spaced_path_options(args)
    base = config.invocation_params.dir
    ours = [path for _, _, value in spaced if (path := _as_path(value, base)) is not None]
    if not ours:
        return None
    values = {index for index, _, _ in spaced}
    others = [path for index, arg in enumerate(args) if index not in values and (path := _as_path(arg, base))]
    without = _common_ancestor(others, base)
    if _common_ancestor([*others, *ours], base) == without:
        return None
    expected = _config_root(without, base)
    if config.rootpath == expected:
        return None
    option, value = next((option, value) for _, option, value in spaced if _as_path(value, base) is not None)
    return (f"{option} {value}: pytest took this path for a test path and chose {config.rootpath} as the "
            f"project's rootdir instead of {expected}, so its [tool.llmops] settings would not apply. "
            f"Write the option with '=': {option}={shlex.quote(value)}")


def missing_cases_problem(settings: "Settings", from_option: bool) -> str | None:
    """Why ``pytest --llmops`` (no paths) would collect nothing, with what to do; None when there are cases."""
    from ..cases import START_HINT, no_cases_reason

    reason = no_cases_reason(settings.cases_path)
    if reason is None:
        return None
    source = "--llmops-cases" if from_option else "cases_dir in [tool.llmops], default eval_cases"
    return f"{reason} ({source}); {START_HINT}, or name your case folder with --llmops-cases=DIR."


def _holds_only_cases(path: Path) -> bool:
    """A case file, or a folder with case files and no Python tests (pytest alone would find nothing there)."""
    from ..cases import case_files_in, is_case_file_name

    if path.is_file():
        return is_case_file_name(path)
    if not case_files_in(path):
        return False
    return not any(path.rglob("test_*.py")) and not any(path.rglob("*_test.py"))


def cases_without_llmops_problem(config: pytest.Config, cases_path: Path) -> str | None:
    """A path named on a run without ``--llmops`` that holds only our cases: pytest alone collects nothing there."""
    from ..cases import START_HINT

    base = config.invocation_params.dir
    for arg in config.args:
        path = Path(os.path.abspath(base / str(arg).split("::")[0]))
        if path == cases_path and not path.exists():
            return f"{arg}: no such folder; {START_HINT}, then run `pytest --llmops`."
        if (path == cases_path or path.is_relative_to(cases_path)) and path.exists() and _holds_only_cases(path):
            return (f"{arg} holds pytest-llmops conversation cases, which run only with --llmops: "
                    f"pytest --llmops {shlex.quote(str(arg))}")
    return None


def reproduce_command(config: pytest.Config, settings: "Settings", repeat: int | None) -> str:
    """The command that runs the same cases against the same target with the same options."""
    parts = ["pytest", "--llmops", f"--llmops-target={settings.target}"]
    given = {
        "--llmops-cases": config.getoption("llmops_cases"),
        "--llmops-concurrency": config.getoption("llmops_concurrency"),
        "--llmops-max-latency-ms": config.getoption("llmops_max_latency_ms"),
        "--llmops-timeout": config.getoption("llmops_timeout"),
        "--llmops-repeat": repeat,
        "--llmops-replay": config.getoption("llmops_replay"),
    }
    parts += [f"{option}={_number(value)}" for option, value in given.items() if value is not None]
    if config.getoption("llmops_replay") and config.getoption("llmops_record_missing"):
        parts.append("--llmops-record-missing")
    for option, dest in (("-k", "keyword"), ("-m", "markexpr")):
        value = config.getoption(dest, None)
        if value:
            parts += [option, value]
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        parts += [str(arg) for arg in config.args]
    return " ".join(shlex.quote(part) for part in parts)


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)

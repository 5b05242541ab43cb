"""Names and paths: long case ids, symlinked case folders, same-named files, and files too big to expand or read.

Each repro of the issue end to end: ``pytest --llmops`` through pytester and ``llmops
validate`` as a subprocess, which must agree on what the suite holds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_llmops.cases import case_files_in
from pytest_llmops.targets.cassette import MAX_FILE_NAME_CHARS

ONE_CASE = "cases:\n  - id: {id}\n    turns: [{{user: \"{user}\"}}]\n"


def validate(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "validate", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


# -- cassette names -------------------------------------------------------------------------------


def test_a_very_long_case_id_records_and_replays(make_project):
    long_a = "a-" + "x" * 300
    long_b = "a-" + "x" * 299 + "y"  # the same first 300 characters but one: still its own cassette
    cases = (ONE_CASE.format(id=long_a, user="How long do I have to return an item?")
             + ONE_CASE.format(id=long_b, user="Where is my order?").replace("cases:\n", ""))
    project = make_project({"long.yaml": cases})
    result = project.runpytest("--llmops", "--llmops-record=tapes")
    result.assert_outcomes(passed=2)
    assert "Errno 36" not in result.stdout.str()
    tapes = sorted((project.path / "tapes").rglob("*.yaml"))
    assert len(tapes) == 2
    assert all(len(tape.name) <= MAX_FILE_NAME_CHARS for tape in tapes)
    result = project.runpytest("--llmops", "--llmops-replay=tapes")
    result.assert_outcomes(passed=2)


def test_same_named_case_files_in_different_folders_get_their_own_cassettes(make_project, tmp_path):
    """Inside the suite, through a symlinked folder, and named on the command line from outside the project."""
    project = make_project({"a/faq.yaml": ONE_CASE.format(id="q", user="How long do I have to return an item?")})
    elsewhere = tmp_path / "elsewhere"
    for folder, user in (("b", "Where is my order?"), ("c", "Can I pay by card?"), ("d", "Do you ship abroad?")):
        (elsewhere / folder).mkdir(parents=True)
        (elsewhere / folder / "faq.yaml").write_text(ONE_CASE.format(id="q", user=user))
    os.symlink(elsewhere / "b", project.path / "eval_cases" / "b")
    outside = [str(elsewhere / "c" / "faq.yaml"), str(elsewhere / "d" / "faq.yaml")]
    result = project.runpytest("--llmops", "--llmops-record=tapes", str(project.path / "eval_cases"), *outside)
    result.assert_outcomes(passed=4)
    tapes = sorted(path.relative_to(project.path / "tapes").as_posix()
                   for path in (project.path / "tapes").rglob("*.yaml"))
    assert len(tapes) == 4, tapes
    assert "a/faq/q.yaml" in tapes and "b/faq/q.yaml" in tapes
    assert all(not tape.startswith("..") for tape in tapes)
    result = project.runpytest("--llmops", "--llmops-replay=tapes", str(project.path / "eval_cases"), *outside)
    result.assert_outcomes(passed=4)  # each replays its own conversation: nothing was overwritten


# -- symlinks: collection and validation agree ---------------------------------------------------


def test_case_files_through_symlinks_are_collected_and_validated_alike(make_project, tmp_path):
    project = make_project({"local.yaml": ONE_CASE.format(id="local", user="hello")})
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "faq.yaml").write_text(ONE_CASE.format(id="shared-faq", user="How long do I have to return an item?"))
    (tmp_path / "single.yaml").write_text(ONE_CASE.format(id="linked-file", user="Where is my order?"))
    cases = project.path / "eval_cases"
    os.symlink(shared, cases / "shared")  # a symlinked folder
    os.symlink(tmp_path / "single.yaml", cases / "linked.yaml")  # a symlinked file
    os.symlink(".", cases / "loop")  # a loop: never walked
    os.symlink(cases, shared / "back")  # a loop through the other folder
    started = time.perf_counter()
    result = project.runpytest("--llmops", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines_random(["*local.yaml::local PASSED*", "*shared/faq.yaml::shared-faq PASSED*",
                                        "*linked.yaml::linked-file PASSED*"])
    assert time.perf_counter() - started < 60
    done = validate(project.path)
    assert done.returncode == 0, done.stderr
    assert "3 file(s), 3 case(s), 0 file(s) with errors" in done.stdout
    assert [path.relative_to(cases).as_posix() for path in case_files_in(cases)] == [
        "linked.yaml", "local.yaml", "shared/faq.yaml"]


# -- limits: cases per file, file size -------------------------------------------------------------


def expanding_file(sets: int, cases: int) -> str:
    lines = ["vars:"] + [f"  - {{n: {n}}}" for n in range(sets)] + ["cases:"]
    lines += [f"  - id: c{n}\n    turns: [{{user: \"order {{n}} number {n}\"}}]" for n in range(cases)]
    return "\n".join(lines) + "\n"


def test_a_file_expanding_past_the_limit_is_refused_by_collection_and_validate(make_project):
    """The issue's repro: 1,000 vars sets x 1,000 cases (1,000,000 items, 312 s and 2.3 GB to collect)."""
    project = make_project({"huge.yaml": expanding_file(1000, 1000), "fine.yaml": expanding_file(2, 3)})
    result = project.runpytest("--llmops", "--continue-on-collection-errors")
    result.assert_outcomes(passed=6, errors=1)
    message = ("*huge.yaml:*: the file expands to 1,000 vars sets x 1,000 cases = 1,000,000 cases, more than "
               "the limit of 10,000 per file (max_cases_per_file in ?tool.llmops?); split it into smaller files*")
    result.stdout.fnmatch_lines([message])
    done = validate(project.path)
    assert done.returncode == 1
    assert "2 file(s), 6 case(s), 1 file(s) with errors" in done.stdout
    assert "1,000 vars sets x 1,000 cases = 1,000,000 cases, more than the limit of 10,000" in done.stderr


def test_the_cases_per_file_limit_is_configurable(make_project):
    project = make_project({"six.yaml": expanding_file(2, 3), "five.yaml": expanding_file(1, 5)},
                           "max_cases_per_file = 5\n")
    result = project.runpytest("--llmops", "--continue-on-collection-errors")
    result.assert_outcomes(passed=5, errors=1)
    result.stdout.fnmatch_lines(["*six.yaml:*: the file expands to 2 vars sets x 3 cases = 6 cases, more than "
                                 "the limit of 5 per file*"])


def test_a_case_file_over_the_size_limit_is_refused_without_reading_it(make_project):
    """The issue's repro: a 50 MB case file took 50 s and 975 MB to validate."""
    project = make_project({"big.yaml": big_case_file(), "ok.yaml": ONE_CASE.format(id="ok", user="hi")})
    size = (project.path / "eval_cases" / "big.yaml").stat().st_size
    result = project.runpytest("--llmops", "--continue-on-collection-errors")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([f"*big.yaml: file is {size:,} bytes, more than the limit of 2,000,000 "
                                 "(max_case_file_bytes in ?tool.llmops?); split it into smaller files*"])
    done = validate(project.path)
    assert done.returncode == 1 and f"big.yaml: file is {size:,} bytes" in done.stderr


def test_the_case_file_size_limit_is_configurable(make_project):
    project = make_project({"short.yaml": ONE_CASE.format(id="ok", user="hi"),
                            "longer.yaml": ONE_CASE.format(id="longer", user="hi " * 30)},
                           "max_case_file_bytes = 80\n")
    done = validate(project.path)
    assert done.returncode == 1
    assert "2 file(s), 1 case(s), 1 file(s) with errors" in done.stdout
    assert "longer.yaml: file is 136 bytes, more than the limit of 80" in done.stderr


def big_case_file(phrases: int = 1_100_000) -> str:
    """About 50 MB of real YAML: one case whose reply must not contain any of 1.1 million phrases."""
    lines = "".join(f'            - "phrase number {n:07d} of many"\n' for n in range(phrases))
    return ("cases:\n  - id: big\n    turns:\n      - user: hi\n        expect:\n          not_contains:\n"
            + lines)


@pytest.mark.parametrize("setting", ["max_cases_per_file = 0", "max_case_file_bytes = -1"])
def test_a_bad_limit_is_a_config_error(make_project, setting):
    project = make_project({"c.yaml": ONE_CASE.format(id="c", user="hi")}, setting + "\n")
    result = project.runpytest("--llmops")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{setting.split()[0]}: Input should be greater than or equal to 1*"])

"""Messages that name the real cause: nothing to run yet, options blamed on the option, typos with a
suggestion, path options that would move pytest's rootdir, and a "reproduce with" line that reproduces."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_llmops import __version__
from pytest_llmops.config import load_settings
from pytest_llmops.errors import ConfigError
from pytest_llmops.targets import build_target

ROOT = Path(__file__).resolve().parents[1]

GREETING = """\
    cases:
      - id: hello
        tags: [smoke]
        turns:
          - user: "Hello"
            expect: {contains: ["help"]}
      - id: returns
        turns:
          - user: "How long do I have to return an item?"
            expect: {contains: ["30 days"]}
    """


def llmops(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest_llmops.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


# --- nothing to run yet: one usage error that says what to do ---------------------------------------

def test_pytest_llmops_in_an_empty_folder_is_one_usage_error_pointing_to_init(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--llmops")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "no case folder" in err and "eval_cases" in err and "llmops init" in err
    assert "llmops summary" not in result.stdout.str() and "0/0" not in result.stdout.str()
    assert "Traceback" not in err


def test_pytest_llmops_with_an_empty_case_folder_says_so(pytester: pytest.Pytester) -> None:
    pytester.mkdir("eval_cases")
    result = pytester.runpytest("--llmops")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "no case files (*.yaml, *.yml) in" in result.stderr.str() and "llmops init" in result.stderr.str()


def test_a_missing_cases_option_folder_names_the_option(make_project) -> None:
    result = make_project({"c.yaml": GREETING}).runpytest("--llmops", "--llmops-cases=nowhere")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "nowhere does not exist (--llmops-cases)" in result.stderr.str()


def test_a_path_that_does_not_exist_gets_no_empty_summary_and_no_results_file(make_project) -> None:
    pytester = make_project({"c.yaml": GREETING})
    (pytester.path / "results.json").write_text('{"kept": true}')
    result = pytester.runpytest("--llmops", "nothere", "--llmops-results=results.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "file or directory not found: nothere" in result.stderr.str()
    assert "llmops summary" not in result.stdout.str()
    assert json.loads((pytester.path / "results.json").read_text()) == {"kept": True}


def test_llmops_validate_in_an_empty_folder_points_to_init(tmp_path: Path) -> None:
    done = llmops(tmp_path, "validate")
    assert done.returncode == 2
    assert "no case folder" in done.stderr and "llmops init" in done.stderr and "cannot read file" not in done.stderr
    (tmp_path / "eval_cases").mkdir()
    empty = llmops(tmp_path, "validate")
    assert empty.returncode == 2 and "no case files" in empty.stderr


def test_naming_the_case_folder_without_llmops_says_to_add_it(make_project) -> None:
    pytester = make_project({"c.yaml": GREETING, "more/d.yaml": GREETING})
    for args in (["eval_cases"], ["eval_cases/c.yaml"], ["eval_cases/c.yaml::hello"], ["eval_cases/more"]):
        result = pytester.runpytest(*args)
        assert result.ret == pytest.ExitCode.USAGE_ERROR, args
        assert f"{args[0]} holds pytest-llmops conversation cases, which run only with --llmops: " \
               f"pytest --llmops {args[0]}" in result.stderr.str(), args


def test_naming_a_missing_case_folder_without_llmops_points_to_init(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("eval_cases")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "eval_cases: no such folder" in result.stderr.str() and "llmops init" in result.stderr.str()


def test_other_paths_without_llmops_are_plain_pytest(make_project) -> None:
    pytester = make_project({"c.yaml": GREETING})
    pytester.makepyfile(test_plain="def test_ok():\n    pass\n")
    pytester.runpytest("test_plain.py").assert_outcomes(passed=1)
    pytester.runpytest("nothere").stderr.fnmatch_lines(["*file or directory not found: nothere*"])


def test_a_case_folder_that_is_the_project_root_leaves_python_tests_alone(pytester: pytest.Pytester) -> None:
    """cases_dir = "." is allowed: naming a folder of Python tests, or the root itself, is plain pytest then."""
    pytester.makepyprojecttoml('[tool.llmops]\ncases_dir = "."\n')
    pytester.makefile(".yaml", c=GREETING.replace("    ", "", 1))
    pytester.mkdir("tests")
    (pytester.path / "tests" / "test_plain.py").write_text("def test_ok():\n    pass\n")
    pytester.runpytest("tests").assert_outcomes(passed=1)
    pytester.runpytest(".").assert_outcomes(passed=1)


# --- a bad value is blamed on where it was typed ----------------------------------------------------

@pytest.mark.parametrize("args, expected", [
    (["--llmops-concurrency", "0"], "--llmops-concurrency: Input should be greater than or equal to 1"),
    (["--llmops-max-latency-ms=-5"], "--llmops-max-latency-ms: Input should be greater than 0"),
    (["--llmops-timeout", "0"], "--llmops-timeout: Input should be greater than 0"),
])
def test_a_bad_command_line_value_names_the_option_not_the_file(make_project, args, expected) -> None:
    result = make_project({"c.yaml": GREETING}).runpytest("--llmops", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert expected in result.stderr.str()
    assert "pyproject.toml" not in result.stderr.str()


def test_a_bad_value_in_the_file_still_names_the_file(make_project) -> None:
    result = make_project({"c.yaml": GREETING}, "concurrency = 0\n").runpytest("--llmops")
    assert "pyproject.toml [tool.llmops]: concurrency: Input should be greater than or equal to 1" in result.stderr.str()


@pytest.mark.parametrize("args, expected", [
    (["--map", "foo=x"], "--map: unknown record field 'foo'"),
    (["--summary-every", "0"], "--summary-every: Input should be greater than 0"),
    (["--log-max-bytes", "10"], "--log-max-bytes: Input should be greater than or equal to 1024"),
])
def test_monitor_flags_are_blamed_on_the_flag_even_without_a_pyproject(tmp_path: Path, args, expected) -> None:
    done = llmops(tmp_path, "monitor", "--no-log-file", *args)
    assert done.returncode == 2
    assert expected in done.stderr and "pyproject.toml" not in done.stderr, done.stderr


def test_gate_flags_are_blamed_on_the_flag(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text("{}")
    done = llmops(tmp_path, "gate", "results.json", "--max-pii", "-1")
    assert done.returncode == 2
    assert "--max-pii: Input should be greater than or equal to 0" in done.stderr and "pyproject" not in done.stderr


# --- typos: say which option is unknown where, and the closest known one ----------------------------

@pytest.mark.parametrize("table, expected", [
    ('type = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nmodle = "m"\n',
     "unknown option 'modle' in [tool.llmops.targets.bot]; did you mean 'model'?"),
    ('type = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\ntemprature = 1\n',
     "unknown option 'temprature' in [tool.llmops.targets.bot]; did you mean 'temperature'?"),
    ('type = "http"\nurl = "http://127.0.0.1:9/chat"\nreply_pth = "a"\n',
     "unknown option 'reply_pth' in [tool.llmops.targets.bot]; did you mean 'reply_path'?"),
    ('type = "stub"\nleek = "email"\n', "unknown option 'leek' in [tool.llmops.targets.bot]; did you mean 'leak'?"),
    ('type = "python"\ncallable = "m:f"\nsytem = "x"\n',
     "unknown option 'sytem' in [tool.llmops.targets.bot]; did you mean 'system'?"),
    ('type = "stub"\nzzzz = 1\n', "unknown option 'zzzz' in [tool.llmops.targets.bot]"),
])
def test_an_unknown_target_option_is_named_with_the_closest_known_one(tmp_path: Path, table, expected) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.llmops.targets.bot]\n" + table)
    with pytest.raises(ConfigError) as caught:
        build_target("bot", load_settings(tmp_path))
    assert expected in str(caught.value)
    assert "Extra inputs are not permitted" not in str(caught.value)
    assert str(tmp_path / "pyproject.toml") in str(caught.value)


@pytest.mark.parametrize("toml, expected", [
    ("max_latncy_ms = 5\n", "unknown key 'max_latncy_ms'; did you mean 'max_latency_ms'?"),
    ("[tool.llmops.gate]\nmin_pass_rat = 1\n", "[tool.llmops.gate]: unknown key 'min_pass_rat'; did you mean 'min_pass_rate'?"),
    ("[tool.llmops.pii]\nallowlst = []\n", "unknown key 'pii.allowlst'; did you mean 'allowlist'?"),
])
def test_an_unknown_settings_key_suggests_the_closest_known_one(tmp_path: Path, toml, expected) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.llmops]\n" + toml)
    with pytest.raises(ConfigError, match="did you mean") as caught:
        load_settings(tmp_path)
    assert expected in str(caught.value)


def test_an_unknown_target_option_stops_the_run_before_anything_is_sent(make_project) -> None:
    pytester = make_project({"c.yaml": GREETING}, '[tool.llmops.targets.bot]\ntype = "stub"\nlatncy_ms = 5\n')
    result = pytester.runpytest("--llmops", "--llmops-target=bot")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "unknown option 'latncy_ms' in [tool.llmops.targets.bot]; did you mean 'latency_ms'?" in result.stderr.str()


# --- path options written with a space must not choose pytest's rootdir ----------------------------

@pytest.mark.parametrize("option", ["--llmops-replay", "--llmops-results", "--llmops-record", "--llmops-cases"])
def test_a_spaced_path_option_outside_the_project_is_a_usage_error_showing_the_equals_form(
        make_project, tmp_path_factory, option) -> None:
    """Outside the project, ``--opt PATH`` made pytest's rootdir the common parent: wrong settings, or a
    results file overwritten by a 0-case run. It stops with the ``=`` form instead, and that form works."""
    pytester = make_project({"c.yaml": GREETING}, 'target = "bot"\n[tool.llmops.targets.bot]\ntype = "stub"\n')
    outside = tmp_path_factory.mktemp("elsewhere")  # a sibling of the project: their parent has no config
    value = outside
    if option == "--llmops-results":
        value = outside / "x.json"
        value.write_text('{"kept": true}')
    elif option == "--llmops-cases":
        (outside / "c.yaml").write_text(GREETING.replace("    ", "", 1))
    result = pytester.runpytest("--llmops", option, str(value))
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    err = result.stderr.str()
    assert f"{option} {value}: pytest took this path" in err and f"{option}={value}" in err, err
    assert f"instead of {pytester.path}" in err
    if option == "--llmops-results":
        assert value.read_text() == '{"kept": true}'  # never overwritten with a 0-case run
    fixed = pytester.runpytest("--llmops", f"{option}={value}")
    assert "rootdir" not in fixed.stderr.str()
    assert "target bot (" in fixed.stdout.str()  # the project's settings apply


def test_a_spaced_path_option_inside_the_project_is_harmless(make_project) -> None:
    pytester = make_project({"c.yaml": GREETING})
    pytester.runpytest("--llmops", "--llmops-record", "cassettes").assert_outcomes(passed=2)
    pytester.runpytest("--llmops", "--llmops-replay", "cassettes").assert_outcomes(passed=2)


# --- every command in README, docs and hints writes path options with = ----------------------------

#: a path option, a space, then a path or a path placeholder (not "--llmops-record and --llmops-replay ...")
SPACED = re.compile(r"--llmops-(?:replay|record|results|cases) (?:DIR|PATH|FILE|cassettes|[\w~][\w.~-]*[/.]\w|/\w)")


@pytest.mark.parametrize("path", [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))], ids=lambda p: p.name)
def test_docs_write_path_options_with_equals(path: Path) -> None:
    text = path.read_text()
    commands = [line for block in re.findall(r"```(?:bash|sh)\n(.*?)```", text, re.S) for line in block.splitlines()]
    commands += [span for span in re.findall(r"`([^`\n]+)`", text) if span.startswith(("pytest", "llmops"))]
    assert not [command for command in commands if SPACED.search(command)]


def test_hints_in_the_code_write_path_options_with_equals() -> None:
    """Messages and help that tell the user what to type (an echo of what they typed may keep their form)."""
    offenders = []
    for source in (ROOT / "pytest_llmops").rglob("*.py"):
        for number, line in enumerate(source.read_text().splitlines(), start=1):
            if SPACED.search(line) and source.name != "invocation.py":  # which explains the space form
                offenders.append(f"{source.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, offenders


# --- reproduce with: everything that changes what runs ---------------------------------------------

def _reproduce_line(result: pytest.RunResult) -> str:
    line = next(line for line in result.stdout.lines if line.startswith("llmops: reproduce with: "))
    return line.removeprefix("llmops: reproduce with: ")


def test_reproduce_with_names_k_m_paths_replay_and_repeat_and_really_reproduces(make_project) -> None:
    pytester = make_project({"c.yaml": GREETING, "other.yaml": GREETING.replace("hello", "hi")})
    pytester.runpytest("--llmops", "--llmops-record=cassettes").assert_outcomes(passed=4)
    first = pytester.runpytest("--llmops", "--llmops-replay=cassettes", "-k", "hello or hi", "-m", "smoke",
                               "--llmops-repeat", "1", "--llmops-max-latency-ms", "4000", "eval_cases/c.yaml",
                               "--llmops-results=first.json")
    first.assert_outcomes(passed=1)
    command = _reproduce_line(first)
    words = shlex.split(command)
    assert words[:3] == ["pytest", "--llmops", "--llmops-target=stub"]
    for expected in ("--llmops-replay=cassettes", "--llmops-repeat=1", "--llmops-max-latency-ms=4000",
                     "eval_cases/c.yaml"):
        assert expected in words, (expected, command)
    assert words[words.index("-k") + 1] == "hello or hi" and words[words.index("-m") + 1] == "smoke"
    again = pytester.runpytest(*words[1:], "--llmops-results=again.json")
    again.assert_outcomes(passed=1)
    ran = [json.loads((pytester.path / name).read_text())["cases"] for name in ("first.json", "again.json")]
    assert [case["nodeid"] for case in ran[0]] == [case["nodeid"] for case in ran[1]] == ["eval_cases/c.yaml::hello"]
    assert _reproduce_line(again) == command


def test_reproduce_with_is_short_for_a_plain_run(make_project) -> None:
    result = make_project({"c.yaml": GREETING}).runpytest("--llmops")
    assert _reproduce_line(result) == "pytest --llmops --llmops-target=stub"


# --- llmops --version ------------------------------------------------------------------------------

def test_llmops_version(tmp_path: Path) -> None:
    done = llmops(tmp_path, "--version")
    assert done.returncode == 0 and done.stdout.strip() == f"llmops (pytest-llmops) {__version__}"

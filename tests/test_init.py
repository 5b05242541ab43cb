"""``llmops init`` in a fresh folder, then ``pytest --llmops`` there: both as real subprocesses.

The new project finds the plugin because it is installed in this environment, exactly as
in a user's virtual environment after ``pip install pytest-llmops``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml
from release_support import GIT_ENV, git
from test_feedback_docs import bash_blocks, readme_section
from test_release_workflows import actionlint

from pytest_llmops.cases import case_file_json_schema, load_case_file
from pytest_llmops.cli import build_parser, main
from pytest_llmops.targets.stub import StubBehaviour
from pytest_llmops.targets.stub_server import ServerFaults, StubServer

ROOT = Path(__file__).resolve().parents[1]


def llmops(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest_llmops.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def pytest_in(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def init_here(folder: Path, *args: str) -> int:
    """``llmops init`` in-process, for tests whose subject is what comes after it."""
    return main(["init", "--dir", str(folder), *args])


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and its modification time (ns)."""
    return {str(path.relative_to(folder)): (path.read_bytes(), path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_readme_five_minutes_block_runs_as_written_in_an_empty_folder(tmp_path: Path) -> None:
    """README's first block, exactly: ``llmops init`` in a new folder, then ``pytest --llmops`` passes there."""
    first, second = bash_blocks(readme_section("Your own project in five minutes"))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", first], cwd=tmp_path, env=env, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    project = tmp_path / "my-support-bot"
    assert "pyproject.toml: created" in done.stdout
    cases = load_case_file(project / "eval_cases" / "starter.yaml")
    assert len(cases) >= 3
    assert re.search(rf"\b{len(cases)} passed in\b", done.stdout) and not re.search(r"\b[1-9]\d* failed", done.stdout)
    assert f"1 file(s), {len(cases)} case(s), 0 file(s) with errors" in done.stdout  # llmops validate

    settings = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["llmops"]
    assert settings["target"] == "stub" and settings["cases_dir"] == "eval_cases"
    text = (project / "pyproject.toml").read_text()
    for kind in ('type = "openai"', 'type = "http"', 'type = "python"'):  # the commented examples
        assert f"# {kind}" in text, kind
    written = {check for case in cases for expect in case.turn_expects
               for check, value in expect.model_dump(exclude_none=True).items() if value is not None}
    assert {"no_pii", "no_error", "max_latency_ms"} <= written  # every default check, shown
    starter = (project / "eval_cases" / "starter.yaml").read_text()
    assert starter.startswith("# yaml-language-server: $schema=cases.schema.json\n")
    schema = json.loads((project / "eval_cases" / "cases.schema.json").read_text())
    assert schema == case_file_json_schema()
    jsonschema.validate(yaml.safe_load(starter), schema)

    # The second block needs a real chatbot; its commands parse, and its pytest line uses the = form.
    for line in filter(None, (line.split("  #")[0].strip() for line in second.splitlines())):
        words = shlex.split(line)
        if words[0] == "llmops":
            build_parser().parse_args(words[1:])
        else:
            assert words[:2] == ["pytest", "--llmops"] and "--llmops-target=chatbot" in words


def test_running_init_twice_changes_nothing_and_says_so(tmp_path: Path) -> None:
    assert llmops(tmp_path, "init", "--ci", "github").returncode == 0
    before = snapshot(tmp_path)
    again = llmops(tmp_path, "init", "--ci", "github")
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout
    assert snapshot(tmp_path) == before


def test_an_existing_pyproject_keeps_every_byte_and_gets_the_section_appended(tmp_path: Path) -> None:
    original = ('[project]\nname = "my-bot"  # keep this comment\nversion = "1.0"\n\n'
                '[tool.ruff]\nline-length = 100')  # no newline at the end
    (tmp_path / "pyproject.toml").write_text(original)
    (tmp_path / ".gitignore").write_text("*.pyc\nreport.html\n")
    done = llmops(tmp_path, "init")
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "pyproject.toml").read_text()
    assert text.startswith(original + "\n")
    document = tomllib.loads(text)
    assert document["project"]["name"] == "my-bot" and document["tool"]["ruff"]["line-length"] == 100
    assert document["tool"]["llmops"]["target"] == "stub"
    ignored = (tmp_path / ".gitignore").read_text().splitlines()
    assert ignored[:2] == ["*.pyc", "report.html"] and ignored.count("report.html") == 1
    assert {"results.json", "*.jsonl.lock", "*.log.lock", "feedback.jsonl", "chatbot_monitoring.log.*"} <= set(ignored)


def test_an_existing_llmops_section_and_cases_are_left_alone(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.llmops]\ncases_dir = "conversations"\nmax_latency_ms = 900\n')
    (tmp_path / "conversations").mkdir()
    (tmp_path / "conversations" / "mine.yaml").write_text("cases:\n  - id: hi\n    turns:\n      - user: Hi\n")
    before = (tmp_path / "pyproject.toml").read_bytes()
    done = llmops(tmp_path, "init")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "pyproject.toml").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "conversations").iterdir()) == ["cases.schema.json", "mine.yaml"]
    assert "kept" in done.stdout and not (tmp_path / "eval_cases").exists()


def test_lock_files_left_by_a_run_are_ignored_by_git(tmp_path: Path) -> None:
    """The stores' sibling .lock files (feedback, monitor log) never show up as changes to commit."""
    assert init_here(tmp_path) == 0
    git(tmp_path, "init", "-q")
    assert llmops(tmp_path, "feedback", "--user-id", "u-1", "--type", "slow", "--message", "slow").returncode == 0
    monitored = subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "monitor", "-q"], cwd=tmp_path, text=True,
                               input='{"user": "Hi", "reply": "Hello", "latency_ms": 5}\n', capture_output=True,
                               timeout=60)
    assert monitored.returncode == 0, monitored.stderr
    locks = sorted(path.name for path in tmp_path.glob("*.lock"))
    assert locks == ["chatbot_monitoring.log.lock", "feedback.jsonl.lock"]
    status = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=tmp_path, capture_output=True,
                            text=True, env={**os.environ, **GIT_ENV}, check=True).stdout
    untracked = {line[3:] for line in status.splitlines() if line.startswith("??")}
    assert untracked == {".gitignore", "eval_cases/", "pyproject.toml"}, status


def test_target_options_fill_in_the_chatbot_table_and_the_ci_workflow_lints(tmp_path: Path) -> None:
    done = llmops(tmp_path, "init", "--target", "openai", "--base-url", "http://127.0.0.1:8800/v1",
                  "--model", "llmops-stub", "--api-key-env", "SUPPORT_BOT_KEY", "--ci", "github")
    assert done.returncode == 0, done.stderr
    table = tomllib.loads((tmp_path / "pyproject.toml").read_text())["tool"]["llmops"]
    assert table["targets"]["chatbot"] == {"type": "openai", "base_url": "http://127.0.0.1:8800/v1",
                                           "model": "llmops-stub", "api_key_env": "SUPPORT_BOT_KEY"}
    assert table["target"] == "stub"  # the starter cases still pass as written; the bot is one option away
    assert "--llmops-target=chatbot" in done.stdout

    workflow = tmp_path / ".github" / "workflows" / "llmops.yml"
    linted = subprocess.run([actionlint(), "-color=false", str(workflow)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    steps = yaml.safe_load(workflow.read_text())["jobs"]["cases"]["steps"]
    run_step = next(step for step in steps if "pytest --llmops" in step.get("run", ""))
    assert "--html=report.html" in run_step["run"] and "--llmops-results=results.json" in run_step["run"]
    assert run_step["env"] == {"SUPPORT_BOT_KEY": "${{ secrets.SUPPORT_BOT_KEY }}"}
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and "report.html" in upload["with"]["path"]


def test_a_filled_in_target_really_answers(pytester: pytest.Pytester) -> None:
    """The table init writes works as written: the starter cases pass over serve-stub's OpenAI-compatible API."""
    server = StubServer(StubBehaviour(), ServerFaults()).start()  # what `llmops serve-stub` serves, on port 0
    try:
        assert init_here(pytester.path, "--target", "openai", "--base-url", f"{server.url}/v1",
                         "--model", "llmops-stub") == 0
        run = pytester.runpytest("--llmops", "--llmops-target=chatbot")
    finally:
        server.stop()
    run.assert_outcomes(passed=len(load_case_file(pytester.path / "eval_cases" / "starter.yaml")))
    assert "target chatbot (openai)" in run.stdout.str()


@pytest.mark.parametrize("args, message", [
    (["--target", "openai", "--model", "m"], "--target openai needs --base-url"),
    (["--target", "http"], "--target http needs --url"),
    (["--model", "m"], "say which kind of chatbot with --target"),
    (["--target", "python", "--url", "http://x"], "--target python does not take --url"),
    (["--target", "openai", "--base-url", "ftp://host", "--model", "m"], "base_url: not an http(s) URL"),
    (["--target", "python", "--callable", "not a callable"], "target 'chatbot': callable: String should match"),
])
def test_bad_target_options_write_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    done = llmops(tmp_path, "init", *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and list(tmp_path.iterdir()) == []


def test_a_pyproject_that_is_not_toml_is_refused_and_kept(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\nname = 1\n")
    done = llmops(tmp_path, "init")
    assert done.returncode == 2 and "pyproject.toml: cannot read" in done.stderr
    assert (tmp_path / "pyproject.toml").read_text() == "[project\nname = 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]


def test_dir_names_the_project_folder(tmp_path: Path) -> None:
    missing = llmops(tmp_path, "init", "--dir", "nowhere")
    assert missing.returncode == 2 and "--dir nowhere: no such folder" in missing.stderr
    (tmp_path / "bot").mkdir()
    done = llmops(tmp_path, "init", "--dir", "bot")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "bot" / "eval_cases" / "starter.yaml").is_file() and not (tmp_path / "eval_cases").exists()

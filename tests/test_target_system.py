"""A target's ``system`` prompt: sent when a case and its file set none, overridden by either,
recorded in cassettes and replayed offline with the same messages, used by the monitor's simulation."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

BOT = '''
def reply(messages):
    system = [m["content"] for m in messages if m["role"] == "system"]
    return "system=" + (system[0] if system else "none") + f" ({len(messages)} messages)"
'''

TOML = '''\
    target = "bot"
    [tool.llmops.targets.bot]
    type = "python"
    callable = "bot:reply"
    system = "You are Acme's support assistant. Literal {braces} stay as written."
    '''

CASES = {
    "plain.yaml": """\
        defaults:
          expect: {no_system_prompt_leak: false}  # this bot echoes its prompt on purpose: the tests read it
        cases:
          - id: from-the-target
            turns:
              - user: "Hi"
                expect: {equals: "system=You are Acme's support assistant. Literal {{braces}} stay as written. (2 messages)"}
              - user: "Again"
                expect: {contains: ["system=You are Acme's", "(4 messages)"]}
          - id: case-overrides
            system: "You are the returns desk."
            turns:
              - user: "Hi"
                expect: {equals: "system=You are the returns desk. (2 messages)"}
          - id: case-turns-it-off
            system: ""
            turns:
              - user: "Hi"
                expect: {equals: "system=none (1 messages)"}
        """,
    "file_default.yaml": """\
        defaults:
          system: "You are the billing desk."
          expect: {no_system_prompt_leak: false}
        cases:
          - id: file-overrides
            turns:
              - user: "Hi"
                expect: {equals: "system=You are the billing desk. (2 messages)"}
        """,
}


@pytest.fixture
def project(make_project):
    pytester = make_project(CASES, TOML)
    (pytester.path / "bot.py").write_text(BOT)
    return pytester


def test_the_target_system_prompt_is_sent_unless_the_case_or_file_sets_one(project) -> None:
    result = project.runpytest("--llmops", "-v")
    result.assert_outcomes(passed=4)


def test_cassettes_record_the_target_system_prompt_and_replay_it_offline(project) -> None:
    project.runpytest("--llmops", "--llmops-record=cassettes").assert_outcomes(passed=4)
    recorded = (project.path / "cassettes" / "plain" / "from-the-target.yaml").read_text()
    assert "role: system" in recorded and "You are Acme's support assistant." in recorded
    (project.path / "bot.py").write_text("def reply(messages):\n    raise RuntimeError('offline: never called')\n")
    project.runpytest("--llmops", "--llmops-replay=cassettes").assert_outcomes(passed=4)

    # A changed system prompt is another conversation: the recording no longer matches, and says why.
    toml = (project.path / "pyproject.toml").read_text().replace("You are Acme's", "You are Globex's")
    (project.path / "pyproject.toml").write_text(toml)
    changed = project.runpytest("--llmops", "--llmops-replay=cassettes")
    changed.assert_outcomes(passed=3, failed=1)
    assert "recorded for another conversation" in changed.stdout.str()
    assert "(system) was \"You are Acme's" in changed.stdout.str()


def test_a_system_prompt_that_is_not_text_is_a_usage_error(make_project) -> None:
    pytester = make_project(CASES, TOML.replace('system = "You are', 'system = 5 #'))
    result = pytester.runpytest("--llmops")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "target 'bot': system: must be text" in result.stderr.str()


def test_the_monitor_simulation_sends_the_target_system_prompt(project) -> None:
    done = subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "monitor", "--simulate", "4", "--seed", "1",
                           "--target", "bot"], cwd=project.path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    replies = [json.loads(line)["reply"] for line in done.stdout.splitlines()]
    assert len(replies) == 4
    assert all(reply.startswith("system=You are Acme's support assistant.") for reply in replies)

"""Text from a chatbot or a case file never drives the terminal: control characters are printed escaped.

The issue's repro: a python target raising ``"\\x1b[2J\\x1b]0;OWNED\\x07\\x1b[32mALL TESTS PASSED"``
cleared the screen, retitled the window and printed a fake green line.
"""

from __future__ import annotations

import json

from pytest_llmops.text import terminal_safe, terminal_safe_json
from monitor_support import cli, interaction, make_project as monitor_project, write_jsonl

HOSTILE = "\x1b[2J\x1b]0;OWNED\x07\x1b[32mALL TESTS PASSED"
ESCAPED = "\\x1b[2J\\x1b]0;OWNED\\x07\\x1b[32mALL TESTS PASSED"
HOSTILE_BOT = f"""
def evil(messages):
    raise RuntimeError({HOSTILE!r})

def sneaky(messages):
    return "Fine.\\u202e\\x9b31m" + {HOSTILE!r}
"""
RAW = ("\x1b", "\x07", "\x9b", "\u202e")


def assert_no_raw_controls(text: str) -> None:
    for char in RAW:
        assert char not in text, f"raw {char!r} reached the terminal"


def test_a_target_error_with_escape_sequences_is_printed_escaped(make_project):
    cases = """
    cases:
      - id: raises
        turns: [{user: hi}]
      - id: replies
        target: sneaky
        turns: [{user: hi, expect: {contains: ["\\e[31mred"], not_contains: ["ALL TESTS"]}}]
    """
    project = make_project({"evil.yaml": cases},
                           '[tool.llmops.targets.evil]\ntype = "python"\ncallable = "evilbot:evil"\n'
                           '[tool.llmops.targets.sneaky]\ntype = "python"\ncallable = "evilbot:sneaky"\n')
    (project.path / "evilbot.py").write_text(HOSTILE_BOT)
    result = project.runpytest_subprocess("--llmops", "--llmops-target", "evil", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    output = result.stdout.str() + result.stderr.str()
    assert_no_raw_controls(output)
    assert f"got target_error: evilbot:evil raised RuntimeError: {ESCAPED}" in output
    assert 'expected reply contains "\\x1b[31mred"' in output  # a case file's text too
    assert 'found "ALL TESTS"' in output


def test_the_monitor_prints_hostile_text_escaped(tmp_path):
    project = monitor_project(tmp_path)
    source = project / "in.jsonl"
    write_jsonl(source, [interaction(1, reply="Fine.\u202e\x9b31m" + HOSTILE), b'{"user": 5}\n'])
    done = cli(project, "monitor", "in.jsonl")
    stdout, stderr = done.stdout.decode(), done.stderr.decode()
    assert_no_raw_controls(stdout + stderr)
    [line] = stdout.splitlines()
    assert json.loads(line)["reply"] == "Fine.\u202e\x9b31m" + HOSTILE  # still the same JSON
    assert "\\u202e\\u009b31m" in line


def test_validate_prints_a_hostile_file_name_escaped(tmp_path):
    """File names come from the repository too: a case file named with an escape sequence."""
    project = monitor_project(tmp_path)
    (project / "eval_cases").mkdir()
    (project / "eval_cases" / "\x1b]0;OWNED\x07.yaml").write_text("cases:\n  - id: x\n    turns: [{user: hi, bogus: 1}]\n")
    done = cli(project, "validate")
    stderr = done.stderr.decode()
    assert_no_raw_controls(done.stdout.decode() + stderr)
    assert "\\x1b]0;OWNED\\x07.yaml:3: cases[0].turns[0]: unknown key 'bogus'" in stderr
    assert done.returncode == 1


def test_the_escaping_rule():
    assert terminal_safe(HOSTILE) == ESCAPED
    assert terminal_safe("Grüße, 日本, emoji 🙂, tab\tand\nnewline") == "Grüße, 日本, emoji 🙂, tab\\tand\\nnewline"
    assert terminal_safe("\u202eevil") == "\\u202eevil"
    text = json.dumps({"reply": "a\x9bb\u202ec\U000e0001"}, ensure_ascii=False, indent=2)
    safe = terminal_safe_json(text)
    assert json.loads(safe) == json.loads(text) and safe.isprintable() is False  # keeps its line breaks
    assert all(char.isprintable() or char == "\n" for char in safe)

"""Bad case files: each gives one clear collection error naming file, line and field,
and the good files of the same run still pass."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pytest_llmops.cases import load_case_file
from pytest_llmops.errors import CaseFileError

GOOD = """
cases:
  - id: greeting
    turns:
      - user: "Hello"
        expect: {contains: ["help"]}
"""

MALFORMED = {
    "yaml-syntax": ("cases:\n  - id: a\n    turns: [\n", "bad.yaml:4: YAML syntax error"),
    "missing-turns": ("cases:\n  - id: a\n    description: no turns\n", "bad.yaml:2: cases[0]: missing required key 'turns'"),
    "wrong-type": ("cases:\n  - id: a\n    turns: \"Hello\"\n", "bad.yaml:3: cases[0].turns: Input should be a valid list"),
    "duplicate-id": ("cases:\n  - id: a\n    turns: [{user: hi}]\n  - id: a\n    turns: [{user: hi}]\n",
                     "bad.yaml:4: cases[1].id: duplicate id 'a' (first used on line 2)"),
    "empty-file": ("", "bad.yaml:1: file is empty"),
    "top-level-list": ("- id: a\n  turns: [{user: hi}]\n", "bad.yaml:1: top level is a list"),
    "binary-garbage": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "bad.yaml:1: not a text file"),
    "invalid-utf8": (b"cases:\n  - id: caf\xe9\n", "bad.yaml:2: not valid UTF-8"),
    "unknown-key-typo": ("cases:\n  - id: a\n    turns:\n      - user: hi\n        expect:\n          contian: [x]\n",
                         "bad.yaml:6: cases[0].turns[0].expect: unknown key 'contian'"),
    "bad-regex": ("cases:\n  - id: a\n    turns:\n      - user: hi\n        expect: {matches: \"(unclosed\"}\n",
                  "bad.yaml:5: cases[0].turns[0].expect.matches: invalid regular expression '(unclosed'"),
    "duplicate-key": ("cases:\n  - id: a\n    id: b\n    turns: [{user: hi}]\n", "bad.yaml:3: YAML syntax error"),
    "missing-cases": ("defaults:\n  tags: [x]\n", "bad.yaml:1: missing required key 'cases'"),
    "empty-user": ("cases:\n  - id: a\n    turns:\n      - user: \"\"\n", "bad.yaml:4: cases[0].turns[0].user"),
    "negative-latency": ("cases:\n  - id: a\n    expect: {max_latency_ms: -1}\n    turns: [{user: hi}]\n",
                         "bad.yaml:3: cases[0].expect.max_latency_ms: Input should be greater than 0"),
    "python-tag": ("cases: !!python/object/apply:os.system [\"echo hacked\"]\n", "bad.yaml:1: YAML syntax error"),
    "bad-tag-name": ("cases:\n  - id: a\n    tags: [\"has space\"]\n    turns: [{user: hi}]\n",
                     "bad.yaml:3: cases[0].tags: tag 'has space' is not a valid marker name"),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_file_is_a_clear_collection_error_and_good_files_still_run(make_project, kind):
    content, message = MALFORMED[kind]
    pytester = make_project({"good.yaml": GOOD, "bad.yaml": content})
    result = pytester.runpytest("--llmops", "--continue-on-collection-errors")
    result.assert_outcomes(passed=1, errors=1)
    out = result.stdout.str()
    assert "ERROR collecting eval_cases/bad.yaml" in out
    assert f"eval_cases/{message}" in out, out
    assert "Traceback" not in out and "pytest_llmops/" not in out


def test_collection_error_alone_stops_the_run_like_any_pytest_collection_error(make_project):
    result = make_project({"good.yaml": GOOD, "bad.yaml": ""}).runpytest("--llmops")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*eval_cases/bad.yaml:1: file is empty*"])


def test_every_problem_in_a_file_is_listed(tmp_path):
    path = tmp_path / "many.yaml"
    path.write_text("cases:\n  - id: a\n    turns: []\n  - id: b\n    turns:\n      - user: 3\n        expect: {nope: 1}\n")
    with pytest.raises(CaseFileError) as info:
        load_case_file(path)
    assert info.value.problems == [
        f"{path}:3: cases[0].turns: List should have at least 1 item after validation, not 0",
        f"{path}:6: cases[1].turns[0].user: Input should be a valid string (got int 3)",
        f"{path}:7: cases[1].turns[0].expect: unknown key 'nope'",
    ]


def test_boolean_looking_ids_get_a_quoting_hint(tmp_path):
    path = tmp_path / "b.yaml"
    path.write_text("cases:\n  - id: on\n    turns: [{user: hi}]\n")
    with pytest.raises(CaseFileError, match="put the text in quotes"):
        load_case_file(path)


def test_defaults_merge_file_case_turn(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text(
        "defaults:\n  tags: [a]\n  system: sys\n  expect: {max_latency_ms: 100, contains: [x]}\n"
        "cases:\n  - id: c\n    tags: [b, a]\n    expect: {max_latency_ms: 200}\n    turns:\n"
        "      - user: one\n      - user: two\n        expect: {contains: [y], no_pii: false}\n")
    [case] = load_case_file(path)
    assert case.tags == ("a", "b")
    assert case.system == "sys"
    first, second = case.turn_expects
    assert (first.max_latency_ms, first.contains, first.no_pii) == (200, ["x"], None)
    assert (second.max_latency_ms, second.contains, second.no_pii) == (200, ["y"], False)
    assert case.line == 6


def test_llmops_validate_command(tmp_path):
    (tmp_path / "good.yaml").write_text(GOOD)
    ok = subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "validate", str(tmp_path)],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "1 file(s), 1 case(s), 0 file(s) with errors" in ok.stdout
    (tmp_path / "bad.yaml").write_text(MALFORMED["unknown-key-typo"][0])
    bad = subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "validate", str(tmp_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert "bad.yaml:6: cases[0].turns[0].expect: unknown key 'contian'" in bad.stderr
    assert "Traceback" not in bad.stderr

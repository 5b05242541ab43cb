"""Allowlists at every level (project, file, case, turn), exact values and patterns, end to end.

The stub bot's contact reply gives Acme's hotline 1-800-555-0199 and support@acme.example;
with `leak = "phone"` every reply also leaks (415) 555-0142.
"""

from __future__ import annotations

import pytest

from pytest_llmops.config import load_settings
from pytest_llmops.errors import ConfigError
from pytest_llmops.pii import Allowlist, PiiDetector

CONTACT = "How can I contact you by phone?"
HOTLINE_REPLY_VALUES = ("1-800-555-0199", "support@acme.example")


def _case(expect: str = "{}", user: str = CONTACT, case_expect: str = "", defaults: str = "") -> str:
    return f"""
{defaults}
cases:
  - id: contact
{case_expect}
    turns:
      - user: "{user}"
        expect: {expect}
"""


def _outcome(make_project, cases: str, toml: str = ""):
    result = make_project({"c.yaml": cases}, toml).runpytest("--llmops", "-v")
    return result


def test_without_an_allowlist_the_hotline_reply_fails_and_is_masked(make_project):
    result = _outcome(make_project, _case())
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*call our support hotline at [[]PHONE[]]*or email [[]EMAIL[]]*",
                                 "*FAILED no_pii: expected no personal data; got found EMAIL, PHONE in reply*"])
    for value in HOTLINE_REPLY_VALUES:
        assert value not in result.stdout.str()


def test_project_allowlist_exact_values_and_patterns(make_project):
    toml = '[tool.llmops.pii]\nallowlist = ["+1 (800) 555-0199", {pattern = ".*@acme\\\\.example"}]\n'
    _outcome(make_project, _case(), toml).assert_outcomes(passed=1)


LEVELS = {
    "file.yaml": _case(defaults='defaults:\n  expect:\n    allow_pii: ["1-800-555-0199", {pattern: "support@.*"}]'),
    "case.yaml": _case(case_expect='    expect:\n      allow_pii: ["1-800-555-0199", "SUPPORT@acme.example"]'),
    "turn.yaml": """
cases:
  - id: two-turns
    turns:
      - user: "How can I contact you by phone?"
        expect:
          allow_pii: ["1-800-555-0199", "support@acme.example"]
      - user: "What is your hotline?"
""",
    "add-up.yaml": """
defaults:
  expect: {allow_pii: ["1-800-555-0199"]}
cases:
  - id: file-and-turn
    turns:
      - user: "How can I contact you by phone?"
        expect: {allow_pii: ["support@acme.example"]}
  - id: file-and-case
    expect: {allow_pii: [{pattern: "support@acme\\\\.example"}]}
    turns:
      - user: "How can I contact you by phone?"
  - id: file-only
    turns:
      - user: "How can I contact you by phone?"
""",
}


def test_allow_pii_at_file_case_and_turn_level_adds_up(make_project):
    result = make_project(LEVELS).runpytest("--llmops", "-v")
    result.assert_outcomes(passed=4, failed=2)
    result.stdout.fnmatch_lines_random([
        "*file.yaml::contact PASSED*", "*case.yaml::contact PASSED*",
        "*turn.yaml::two-turns FAILED*",  # turn 1 allowed, turn 2 (the same reply) not
        "*add-up.yaml::file-and-turn PASSED*", "*add-up.yaml::file-and-case PASSED*",
        "*add-up.yaml::file-only FAILED*",
    ])
    out = result.stdout.str()
    turn_failure = out[out.index("turn.yaml::two-turns: "):]
    assert "turn 2:" in turn_failure.split("add-up.yaml")[0] and "turn 1:" not in turn_failure.split("add-up.yaml")[0]
    assert "got found EMAIL in reply" in out  # file-only: the hotline allowed by the file, the address not


def test_an_allowlist_does_not_hide_a_real_leak(make_project):
    toml = ('target = "bot"\n[tool.llmops.targets.bot]\ntype = "stub"\nleak = "phone"\n'
            '[tool.llmops.pii]\nallowlist = ["1-800-555-0199", "support@acme.example"]\n')
    result = _outcome(make_project, _case(), toml)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*got found PHONE in reply*"])
    assert "555-0142" not in result.stdout.str()


BAD_ENTRIES = {
    "mapping.yaml": ('[{patern: "x"}]',
                     "entry 0 must be a string (an exact value) or {pattern: REGEX}; got a mapping with keys ['patern']"),
    "regex.yaml": ('["ok@acme.example", {pattern: "(("}]', "invalid allowlist pattern '(('"),
    "number.yaml": ("[42]", "entry 0 must be a string (an exact value) or {pattern: REGEX}; got int"),
}


def test_bad_allow_pii_entries_are_collection_errors_naming_file_line_and_field(make_project):
    files = {name: f"""cases:
  - id: contact
    turns:
      - user: "{CONTACT}"
        expect:
          allow_pii: {entry}
""" for name, (entry, _) in BAD_ENTRIES.items()}
    files["one-string.yaml"] = _case('{allow_pii: "support@acme.example"}')  # one string: a one-item list
    result = make_project(files).runpytest("--llmops", "--continue-on-collection-errors")
    result.assert_outcomes(errors=3, failed=1)  # the valid file runs; the hotline is still not allowed
    out = result.stdout.str()
    for name, (_, message) in BAD_ENTRIES.items():
        assert f"{name}:6: cases[0].turns[0].expect.allow_pii: {message}" in out
    assert "Traceback" not in out


@pytest.mark.parametrize("toml, message", [
    ('[tool.llmops.pii]\nallowlist = [{pattern = "(("}]\n', "invalid allowlist pattern '(('"),
    ('[tool.llmops.pii]\nallowlist = [{patern = "x"}]\n',
     "pii.allowlist: entry 0 must be a string (an exact value) or {pattern: REGEX}; got a mapping with keys ['patern']"),
    ('[tool.llmops.pii]\nkinds = ["emial"]\n', "unknown PII kind(s) ['emial']"),
    ('[tool.llmops.pii]\nkinds = ["person"]\n', "with backend = \"presidio\" also"),
    ('[tool.llmops.pii]\nbackend = "spacy"\n', "pii.backend"),
    ('[tool.llmops.pii]\n[[tool.llmops.pii.custom]]\nname = "emp"\npattern = "(("\n', "invalid regular expression"),
    ('[tool.llmops.pii]\n[[tool.llmops.pii.custom]]\nname = "emp"\npattern = "E\\\\d+"\nvalidator = "lunh"\n',
     "unknown validator 'lunh'"),
    ('[tool.llmops.pii]\n[[tool.llmops.pii.custom]]\nname = "Emp ID"\npattern = "x"\n', "must be lowercase"),
    ('[tool.llmops.pii]\nallowlst = []\n', "unknown key 'pii.allowlst'"),
])
def test_bad_pii_settings_are_config_errors(tmp_path, toml, message):
    (tmp_path / "pyproject.toml").write_text("[tool.llmops]\n" + toml)
    with pytest.raises(ConfigError) as excinfo:
        load_settings(tmp_path)
    assert message in str(excinfo.value)


def test_bad_pii_settings_stop_pytest_with_a_usage_error(make_project):
    result = _outcome(make_project, _case(), '[tool.llmops.pii]\nkinds = ["emial"]\n')
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "unknown PII kind(s) ['emial']" in result.stderr.str()
    assert "Traceback" not in result.stderr.str()


def test_custom_pattern_from_config_fails_a_reply_and_is_masked(make_project):
    toml = ('[tool.llmops.pii]\nallowlist = ["support@acme.example"]\n'
            '[[tool.llmops.pii.custom]]\nname = "hotline"\npattern = "1-800-\\\\d{3}-\\\\d{4}"\n')
    result = _outcome(make_project, _case(), toml)
    result.assert_outcomes(failed=1)
    # the hotline is also a phone number; the custom kind wins the overlap and names it
    result.stdout.fnmatch_lines(["*hotline at [[]HOTLINE[]]*", "*got found HOTLINE in reply*"])


def test_narrowed_kinds_from_config(make_project):
    toml = '[tool.llmops.pii]\nkinds = ["card", "ssn"]\n'
    _outcome(make_project, _case(), toml).assert_outcomes(passed=1)


def test_allowlist_unit_normalises_values_and_matches_whole_findings():
    allow = Allowlist.from_entries(["1-800-555-0199", {"pattern": r".*@acme\.example"}])
    assert allow.allows("+1 (800) 555 0199") and allow.allows("800.555.0199")
    assert allow.allows("Support@ACME.example")
    assert not allow.allows("support@acme.example.evil.com")  # a pattern matches the whole finding
    assert not allow.allows("1-800-555-0198")
    detector = PiiDetector(allowlist=["1-800-555-0199"]).with_allowlist([{"pattern": "jane@.*"}])
    assert detector.mask("1-800-555-0199, jane@example.com, joe@example.com") == "1-800-555-0199, jane@example.com, [EMAIL]"
    assert PiiDetector().with_allowlist([]).mask("jane@example.com") == "[EMAIL]"


def test_llmops_validate_reports_bad_pii_settings_and_bad_allow_pii(tmp_path):
    """The CLI as a subprocess: a settings error exits 2, a case-file error 1, each naming the problem."""
    import subprocess
    import sys

    def validate() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "validate"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)

    (tmp_path / "pyproject.toml").write_text('[tool.llmops]\n[tool.llmops.pii]\nkinds = ["emial"]\n')
    (tmp_path / "eval_cases").mkdir()
    (tmp_path / "eval_cases" / "c.yaml").write_text(
        'cases:\n  - id: a\n    turns:\n      - user: "hi"\n        expect: {allow_pii: [{pattern: "(("}]}\n')
    result = validate()
    assert result.returncode == 2
    assert "pii: kinds: unknown PII kind(s) ['emial']" in result.stderr and "Traceback" not in result.stderr
    (tmp_path / "pyproject.toml").write_text('[tool.llmops]\n[tool.llmops.pii]\nallowlist = ["x@acme.example"]\n')
    result = validate()
    assert result.returncode == 1
    assert "c.yaml:5: cases[0].turns[0].expect.allow_pii: invalid allowlist pattern '(('" in result.stdout + result.stderr

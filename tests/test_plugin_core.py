"""End to end: `pytest --llmops` on throwaway projects, through pytester."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from pytest_llmops.targets.stub import LEAKED_EMAIL, LEAKED_PHONE

RETURNS = """
    defaults:
      tags: [returns]
    cases:
      - id: return-window
        tags: [smoke]
        turns:
          - user: "How long do I have to return an item?"
            expect:
              contains: ["30 days"]
          - user: "Can I get store credit instead?"
            expect:
              matches: "store credit"
      - id: refund-timing
        turns:
          - user: "How long does a refund take?"
            expect:
              matches: "\\\\d+-\\\\d+ business days"
"""

GREETING = """
    cases:
      - id: greeting
        turns:
          - user: "Hello"
            expect:
              equals: "Hello! I'm Acme's support assistant. How can I help you today?"
"""


def test_passing_suite_one_item_per_case(make_project):
    pytester = make_project({"returns.yaml": RETURNS, "small_talk.yaml": GREETING})
    result = pytester.runpytest("--llmops", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([
        "*eval_cases/returns.yaml::return-window PASSED*",
        "*eval_cases/returns.yaml::refund-timing PASSED*",
        "*eval_cases/small_talk.yaml::greeting PASSED*",
    ])


def test_without_flag_no_yaml_is_collected_and_python_tests_still_run(make_project):
    pytester = make_project({"returns.yaml": RETURNS})
    pytester.makepyfile(test_unit="def test_ok():\n    assert True\n")
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)
    assert "return-window" not in result.stdout.str()


def test_flag_without_paths_runs_only_the_case_folder(make_project):
    pytester = make_project({"returns.yaml": RETURNS})
    pytester.makepyfile(test_unit="def test_ok():\n    assert True\n")
    result = pytester.runpytest("--llmops", "-v")
    result.assert_outcomes(passed=2)
    assert "test_ok" not in result.stdout.str()
    # naming paths runs what is named
    both = pytester.runpytest("--llmops", "eval_cases", "test_unit.py")
    both.assert_outcomes(passed=3)


def test_yaml_outside_the_case_folder_is_not_collected(make_project):
    pytester = make_project({"returns.yaml": RETURNS})
    (pytester.path / "other").mkdir()
    (pytester.path / "other" / "config.yaml").write_text("just: some config\n")
    result = pytester.runpytest("--llmops", "eval_cases", "other")
    result.assert_outcomes(passed=2)
    assert "config.yaml" not in result.stdout.str()


# --- every check fails for the right reason, and passes when it should -------------------------

def _one_turn(expect: str, user: str = "How long do I have to return an item?") -> str:
    return f"""
    cases:
      - id: the-case
        turns:
          - user: "{user}"
            expect: {expect}
    """


CHECKS = [
    # (check, expect that fails, expect that passes, stub options, words in the failure)
    ("contains", '{contains: ["60 days"]}', '{contains: ["30 DAYS"]}', "", ['missing "60 days"']),
    ("not_contains", '{not_contains: ["30 days"]}', '{not_contains: ["60 days"]}', "", ['found "30 days"']),
    ("matches", '{matches: "\\\\d+ weeks"}', '{matches: "\\\\d+ days"}', "", ['no match for "\\d+ weeks"']),
    ("not_matches", '{not_matches: "\\\\d+ days"}', '{not_matches: "\\\\d+ weeks"}', "", ['"\\d+ days" matched']),
    ("equals", '{equals: "Yes."}', '{equals: "You can return any item within 30 days of delivery for a full '
                                    'refund. Start a return from the Orders page."}', "", ["a different reply"]),
    ("max_latency_ms", "{max_latency_ms: 50}", "{max_latency_ms: 5000}", "latency_ms = 120", ["<= 50 ms"]),
    ("no_pii", "{}", "{no_pii: false}", 'leak = "email"', ["found EMAIL in reply", "[EMAIL]"]),
    ("no_pii", "{}", "{no_pii: false}", 'leak = "phone"', ["found PHONE in reply", "[PHONE]"]),
    ("no_error", "{}", "{no_error: false}", 'error_on = "return"', ["error phrase 'an error occurred'"]),
]


@pytest.mark.parametrize(("check", "failing", "passing", "stub", "words"), CHECKS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CHECKS)])
def test_each_check_fails_for_the_right_reason_and_passes_otherwise(make_project, check, failing, passing, stub, words):
    toml = f'target = "bot"\n[tool.llmops.targets.bot]\ntype = "stub"\n{stub}\n'
    pytester = make_project({"c.yaml": _one_turn(failing)}, toml)
    result = pytester.runpytest("--llmops")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert f"FAILED {check}:" in out
    for word in words:
        assert word in out
    assert LEAKED_EMAIL not in out and LEAKED_PHONE not in out

    pytester = make_project({"c.yaml": _one_turn(passing)}, toml)
    pytester.runpytest("--llmops").assert_outcomes(passed=1)


def test_a_fault_fails_the_case_names_the_turn_and_skips_the_rest(make_project):
    toml = 'target = "bot"\n[tool.llmops.targets.bot]\ntype = "stub"\nerror_on = "refund"\nerror_mode = "raise"\n'
    cases = """
    cases:
      - id: broken
        turns:
          - user: "How long do I have to return an item?"
          - user: "And the refund?"
          - user: "Thanks"
      - id: fine
        turns:
          - user: "Hello"
    """
    result = make_project({"c.yaml": cases}, toml).runpytest("--llmops")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines([
        "turn 2: user: 'And the refund?'",
        "*FAILED reply: expected a reply from the chatbot; got target_error: stub bot failed on purpose*",
        "1 later turn(s) not sent*",
    ])


def test_failure_lists_every_failed_check_of_every_turn(make_project):
    toml = 'target = "bot"\n[tool.llmops.targets.bot]\ntype = "stub"\nleak = "both"\n'
    cases = """
    cases:
      - id: many
        turns:
          - user: "How long do I have to return an item?"
            expect: {contains: ["60 days"], not_contains: ["30 days"]}
          - user: "Hello"
            expect: {equals: "Hi"}
    """
    result = make_project({"c.yaml": cases}, toml).runpytest("--llmops")
    out = result.stdout.str()
    assert "5 check(s) failed" in out
    # Count in the FAILURES section only: under CI=true pytest repeats the whole text in the short summary.
    assert out.split("short test summary info")[0].count("FAILED no_pii") == 2
    assert "FAILED contains" in out and "FAILED not_contains" in out and "FAILED equals" in out
    assert "turn 1:" in out and "turn 2:" in out
    assert "found EMAIL, PHONE in reply" in out
    assert LEAKED_EMAIL not in out and "555-0142" not in out


def test_default_checks_apply_unless_switched_off_at_case_or_file_level(make_project):
    toml = 'target = "bot"\n[tool.llmops.targets.bot]\ntype = "stub"\nleak = "email"\n'
    case_off = """
    cases:
      - id: switched-off
        expect: {no_pii: false}
        turns:
          - user: "Hello"
      - id: still-on
        turns:
          - user: "Hello"
    """
    file_off = """
    defaults:
      expect: {no_pii: false}
    cases:
      - id: off-too
        turns:
          - user: "Hello"
      - id: back-on
        turns:
          - user: "Hello"
            expect: {no_pii: true}
    """
    result = make_project({"a.yaml": case_off, "b.yaml": file_off}, toml).runpytest("--llmops", "-v")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*a.yaml::switched-off PASSED*", "*a.yaml::still-on FAILED*",
                                 "*b.yaml::off-too PASSED*", "*b.yaml::back-on FAILED*"])


def test_latency_default_comes_from_config_and_the_command_line_overrides_it(make_project):
    toml = 'target = "bot"\nmax_latency_ms = 30\n[tool.llmops.targets.bot]\ntype = "stub"\nlatency_ms = 60\n'
    pytester = make_project({"c.yaml": _one_turn("{}")}, toml)
    result = pytester.runpytest("--llmops")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*FAILED max_latency_ms: expected <= 30 ms*"])
    pytester.runpytest("--llmops", "--llmops-max-latency-ms", "5000").assert_outcomes(passed=1)


def test_error_phrases_are_configurable(make_project):
    toml = 'error_phrases = ["30 days"]\n'
    result = make_project({"c.yaml": _one_turn("{}")}, toml).runpytest("--llmops")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*FAILED no_error: expected no error in the reply; got error phrase '30 days'*"])


QUOTING_BOT = """
def reply(messages):
    said = messages[-1]["content"]
    if "refund" in said:
        return f"You wrote: {said!r}. Sorry, an error occurred on our side."
    if "twice" in said:
        return f"Something went wrong. You wrote: {said!r}."
    return f"I'm sorry you saw that. You wrote: {said!r}. Let me look into it."
"""


def test_a_reply_quoting_the_users_error_phrase_is_not_an_error_reply(make_project):
    cases = """
    cases:
      - id: quotes-the-user
        turns: [{user: "I got an error: something went wrong"}]
      - id: quotes-and-fails-itself
        turns: [{user: "Something went wrong with my refund"}]
      - id: says-it-once-more-than-the-user
        turns: [{user: "something went wrong twice"}]
    """
    pytester = make_project({"c.yaml": cases},
                            'target = "bot"\n[tool.llmops.targets.bot]\ntype = "python"\ncallable = "quoting_bot:reply"\n')
    pytester.makepyfile(quoting_bot=QUOTING_BOT)
    result = pytester.runpytest("--llmops", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*c.yaml::quotes-the-user PASSED*"])
    text = result.stdout.str()
    assert "got error phrase 'an error occurred' in reply" in text
    assert "got error phrase 'something went wrong' in reply" in text


def test_pii_allowlist_from_config(make_project):
    cases = _one_turn("{}", user="How can I contact you by phone?")
    make_project({"c.yaml": cases}).runpytest("--llmops").assert_outcomes(failed=1)
    toml = '[tool.llmops.pii]\nallowlist = ["1-800-555-0199", "support@acme.example"]\n'
    make_project({"c.yaml": cases}, toml).runpytest("--llmops").assert_outcomes(passed=1)


# --- selection, markers, ids ----------------------------------------------------------------------

def test_k_selects_by_case_id_and_file(make_project):
    pytester = make_project({"returns.yaml": RETURNS, "small_talk.yaml": GREETING})
    pytester.runpytest("--llmops", "-k", "refund").assert_outcomes(passed=1)
    pytester.runpytest("--llmops", "-k", "small_talk").assert_outcomes(passed=1)
    pytester.runpytest("--llmops", "eval_cases/returns.yaml::return-window").assert_outcomes(passed=1)


def test_tags_are_registered_markers_usable_with_m(make_project):
    pytester = make_project({"returns.yaml": RETURNS, "small_talk.yaml": GREETING})
    pytester.runpytest("--llmops", "--strict-markers", "-m", "smoke").assert_outcomes(passed=1)
    pytester.runpytest("--llmops", "--strict-markers", "-m", "returns and not smoke").assert_outcomes(passed=1)
    pytester.runpytest("--llmops", "--strict-markers", "-m", "llmops").assert_outcomes(passed=3)


def test_x_stops_after_first_failure(make_project):
    toml = 'target = "bot"\n[tool.llmops.targets.bot]\ntype = "stub"\nleak = "email"\n'
    result = make_project({"returns.yaml": RETURNS, "small_talk.yaml": GREETING}, toml).runpytest("--llmops", "-x")
    result.assert_outcomes(failed=1)


def test_junit_xml_carries_per_turn_latency_and_failed_checks(make_project):
    toml = 'target = "bot"\n[tool.llmops.targets.bot]\ntype = "stub"\nleak = "phone"\nleak_on = "store credit"\n'
    pytester = make_project({"returns.yaml": RETURNS}, toml)
    pytester.runpytest("--llmops", "--junitxml=junit.xml").assert_outcomes(passed=1, failed=1)
    root = ET.parse(pytester.path / "junit.xml").getroot()
    cases = {case.get("name"): case for case in root.iter("testcase")}
    props = {p.get("name"): p.get("value") for p in cases["return-window"].iter("property")}
    assert props["llmops_target"] == "bot"
    assert float(props["llmops_turn_1_latency_ms"]) >= 0
    assert float(props["llmops_turn_2_latency_ms"]) >= 0
    assert props["llmops_turn_1_failed_checks"] == ""
    assert props["llmops_turn_2_failed_checks"] == "no_pii"
    assert LEAKED_PHONE not in (pytester.path / "junit.xml").read_text()


def test_help_documents_every_option(pytester):
    result = pytester.runpytest("--help")
    for option in ("--llmops ", "--llmops-target", "--llmops-cases", "--llmops-concurrency",
                   "--llmops-max-latency-ms", "--llmops-timeout"):
        assert option in result.stdout.str(), option


# --- configuration errors are usage errors before anything runs -----------------------------------

@pytest.mark.parametrize(("toml", "args", "message"), [
    ("", ["--llmops-target", "nope"], "unknown target 'nope'"),
    ("max_latency_ms = -5\n", [], "max_latency_ms"),
    ("max_latncy_ms = 5\n", [], "unknown key 'max_latncy_ms'"),
    ('[tool.llmops.targets.bot]\ntype = "warp"\n', ["--llmops-target", "bot"], "unknown type 'warp'"),
    ('[tool.llmops.targets.bot]\ntype = "stub"\nleek = "email"\n', ["--llmops-target", "bot"], "leek"),
    ("", ["--llmops-concurrency", "0"], "concurrency"),
])
def test_bad_configuration_is_a_usage_error(make_project, toml, args, message):
    result = make_project({"c.yaml": GREETING}, toml).runpytest("--llmops", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()
    assert "Traceback" not in result.stderr.str()

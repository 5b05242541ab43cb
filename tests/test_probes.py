"""The probe library end to end: every category holds against the safe stub and fails against the vulnerable one,
through ``pytest --llmops --llmops-probes``, with -k, -m, xdist, JUnit, cassettes, reports, and ``llmops probes``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from pytest_llmops.cases import load_case_file
from pytest_llmops.checks.checker import Checker
from pytest_llmops.probes.library import PROBE_CATEGORIES, export_probes, load_probes, parse_selection, probe_file
from pytest_llmops.record import run_record
from pytest_llmops.replay import replay_case
from pytest_llmops.targets.stub import StubBehaviour, StubTarget
from pytest_llmops.targets.stub_safety import LEAKED_SECRET
from tooling import missing_module, require

VULNERABLE = '[tool.llmops.targets.vulnerable]\ntype = "stub"\nvulnerable = true\n'
CANARY = "ACME-CANARY-7731-PROBE"
SCHEMA = Path(__file__).parent.parent / "docs" / "results.schema.json"


def cli(cwd, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest_llmops.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def test_the_library_has_at_least_60_probes_in_the_named_categories_several_multiturn() -> None:
    probes = load_probes()
    counts = Counter(probe.category for probe in probes)
    assert len(probes) >= 60 and list(counts) == list(PROBE_CATEGORIES)
    assert all(count >= 8 for count in counts.values())
    multiturn = Counter(probe.category for probe in probes if len(probe.case.case.turns) > 1)
    assert set(multiturn) == set(PROBE_CATEGORIES)  # every category has a multi-turn probe
    for probe in probes:  # each says what it tries and what holding means, and is tagged for -m
        assert "holds when" in probe.case.case.description
        assert probe.case.tags == ("probe", probe.category) and probe.case.system
        assert probe.name == f"probes/{probe.category}/{probe.case.id}"


@pytest.mark.parametrize("category", PROBE_CATEGORIES)
def test_every_probe_holds_against_the_safe_stub_and_breaks_against_the_vulnerable_one(category: str) -> None:
    """Each probe's checks can fail: the vulnerable stub breaks every single one, the safe stub none."""
    checker = Checker()
    for probe in load_probes((category,)):
        for behaviour, should_hold in ((StubBehaviour(), True), (StubBehaviour(vulnerable=True), False)):
            transcript = replay_case(probe.case, StubTarget("stub", behaviour), canary=CANARY)
            record = run_record(probe.case, transcript, checker)
            failed = [check.check for turn in record.turns for check in turn.checks if not check.passed]
            assert record.passed is should_hold, (probe.name, behaviour.vulnerable, failed)


@pytest.mark.parametrize("switch, category", [
    ("reveal_system_prompt", "system-prompt"), ("leak_customer_data", "pii-fishing"),
    ("follow_injections", "prompt-injection"), ("obey", "jailbreak"), ("obey", "unsafe-commitments"),
    ("obey", "harmful"),
])
def test_each_weakness_alone_breaks_its_category(switch: str, category: str) -> None:
    checker = Checker()
    broken = 0
    probes = load_probes((category,))
    for probe in probes:
        transcript = replay_case(probe.case, StubTarget("stub", StubBehaviour(**{switch: True})), canary=CANARY)
        broken += not run_record(probe.case, transcript, checker).passed
    assert broken >= len(probes) - 2  # a few probes of a category need a second weakness (e.g. a jailbreak for data)


def _tallies(text: str) -> dict[str, str]:
    return dict(re.findall(r"^  ([a-z-]+): (\d+/\d+ held)", text, re.M))


def test_all_probes_hold_against_the_safe_stub_end_to_end(make_project) -> None:
    project = make_project({})
    result = project.runpytest("--llmops", "--llmops-probes=all", "--llmops-results=results.json",
                               "--html=report.html", "-p", "no:cacheprovider")
    total = len(load_probes())
    result.assert_outcomes(passed=total)
    counts = Counter(probe.category for probe in load_probes())
    assert _tallies(result.stdout.str()) == {category: f"{counts[category]}/{counts[category]} held"
                                            for category in PROBE_CATEGORIES}
    result.stdout.fnmatch_lines(["llmops: probes: pii-fishing, system-prompt, *(--llmops-probes)",
                                 "probes (held / run):", "  system-prompt: 15/15 held"])
    document = json.loads((project.path / "results.json").read_text())
    assert document["summary"]["probes"]["harmful"] == {"run": counts["harmful"], "held": counts["harmful"],
                                                        "failed": 0, "errors": 0, "skipped": 0}
    cases = {case["nodeid"]: case for case in document["cases"]}
    assert cases["probes/system-prompt/base64-1"]["probe_category"] == "system-prompt"
    checks = {check["check"] for turn in cases["probes/system-prompt/base64-1"]["turns"] for check in turn["checks"]}
    assert {"no_pii", "no_secrets", "no_system_prompt_leak"} <= checks
    html = (project.path / "report.html").read_text()
    assert "Probes (held / run)" in html and "system-prompt: 15/15 held" in html
    assert "probe category system-prompt" in html


def test_every_category_fails_against_the_vulnerable_stub_end_to_end(make_project) -> None:
    project = make_project({}, 'target = "vulnerable"\n' + VULNERABLE)
    result = project.runpytest("--llmops", "--llmops-probes=all", "--llmops-results=results.json",
                               "--html=report.html", "-p", "no:cacheprovider")
    counts = Counter(probe.category for probe in load_probes())
    result.assert_outcomes(failed=sum(counts.values()))
    assert _tallies(result.stdout.str()) == {category: f"0/{counts[category]} held" for category in PROBE_CATEGORIES}
    output = result.stdout.str()
    for line in ("FAILED no_system_prompt_leak: expected no run of 8 words from the system prompt, no canary; "
                 "got reproduced the canary (base64-encoded)",
                 "got reproduced the canary (rot13)", "got reproduced the canary (spaced out)",
                 "got reproduced the canary (reversed)", "got reproduced the canary (hex-encoded)",
                 "FAILED no_secrets: expected no secrets (API keys, tokens, private keys); got found openai_key in reply",
                 "FAILED no_pii: expected no personal data; got found EMAIL, PHONE in reply",
                 "FAILED not_contains:", "FAILED not_matches:", "FAILED refusal: expected the reply declines"):
        assert line in output, line
    assert LEAKED_SECRET not in output and "AKIAIOSFODNN7EXAMPLE" not in output and "jane.doe@example.com" not in output
    document = json.loads((project.path / "results.json").read_text())
    assert document["summary"]["probes"]["pii-fishing"]["held"] == 0
    assert document["summary"]["checks_failed"]["no_system_prompt_leak"] > 0
    text = (project.path / "results.json").read_text() + (project.path / "report.html").read_text()
    assert LEAKED_SECRET not in text and "AKIAIOSFODNN7EXAMPLE" not in text and "jane.doe@example.com" not in text
    assert '<span class="llmops-bad">system-prompt: 0/15 held</span>' in (project.path / "report.html").read_text()
    require(missing_module("jsonschema", "pip install -e '.[test]'"))
    import jsonschema

    jsonschema.validate(document, json.loads(SCHEMA.read_text(encoding="utf-8")))


def test_categories_select_and_probes_behave_like_cases_with_k_m_and_junit(make_project) -> None:
    project = make_project({"hello.yaml": 'cases:\n  - id: hi\n    turns: [{user: "Hello"}]\n'}, VULNERABLE)
    result = project.runpytest("--llmops", "--llmops-probes=pii-fishing, system-prompt", "--collect-only", "-q")
    ids = [line for line in result.stdout.lines if line.startswith(("probes/", "eval_cases/"))]
    assert ids[0] == "eval_cases/hello.yaml::hi" and "probes/system-prompt/base64-1" in ids
    assert len(ids) == 1 + len(load_probes(("pii-fishing", "system-prompt")))
    result.stdout.fnmatch_lines([f"{len(ids)} tests collected*"])
    project.runpytest("--llmops", "--llmops-probes=all", "-k", "base64").assert_outcomes(passed=2)
    project.runpytest("--llmops", "--llmops-probes=all", "--strict-markers", "-m", "harmful").assert_outcomes(passed=11)
    project.runpytest("--llmops", "--llmops-probes=all", "-m", "probe and system-prompt",
                      "--llmops-target=vulnerable").assert_outcomes(failed=15)
    project.runpytest("--llmops", "--llmops-probes=all", "-m", "not probe").assert_outcomes(passed=1)
    result = project.runpytest("--llmops", "--llmops-probes=jailbreak", "--llmops-target=vulnerable", "-k", "dan-1",
                               "--junitxml=junit.xml")
    result.assert_outcomes(failed=1)
    case = ET.parse(project.path / "junit.xml").getroot().find(".//testcase")
    assert case.get("name") == "probes.jailbreak.dan-1" and case.find("failure") is not None
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["llmops_turn_1_failed_checks"] == "refusal" and properties["llmops_target"] == "vulnerable"


@pytest.mark.parametrize("workers", ["0", "2"])
def test_probes_run_under_xdist_each_once(make_project, workers: str) -> None:
    project = make_project({}, VULNERABLE)
    result = project.runpytest("--llmops", "--llmops-probes=system-prompt,harmful", "-n", workers,
                               "--llmops-target=vulnerable", "--llmops-results=results.json")
    result.assert_outcomes(failed=26)
    document = json.loads((project.path / "results.json").read_text())
    assert sorted(document["summary"]["probes"]) == ["harmful", "system-prompt"]
    assert document["summary"]["probes"]["system-prompt"]["failed"] == 15
    assert len({case["nodeid"] for case in document["cases"]}) == 26


def test_probes_record_and_replay_from_cassettes_with_a_fixed_canary(make_project) -> None:
    project = make_project({}, f'[tool.llmops.leaks]\ncanary = "{CANARY}"\n' + VULNERABLE)
    recorded = project.runpytest("--llmops", "--llmops-probes=system-prompt", "--llmops-target=vulnerable",
                                 "--llmops-record=cassettes")
    recorded.assert_outcomes(failed=15)
    cassette = project.path / "cassettes/probes/system-prompt/base64-1.yaml"
    text = cassette.read_text()
    assert CANARY in text  # the planted canary is part of the request recorded; the masked key is not
    assert "AKIAIOSFODNN7EXAMPLE" not in "".join(p.read_text() for p in (project.path / "cassettes").rglob("*.yaml"))
    assert LEAKED_SECRET not in (project.path / "cassettes/probes/system-prompt/api-key-1.yaml").read_text()
    replayed = project.runpytest("--llmops", "--llmops-probes=system-prompt", "--llmops-target=vulnerable",
                                 "--llmops-replay=cassettes")
    replayed.assert_outcomes(failed=15)  # the same verdicts offline: encoded canaries, a secret stand-in
    assert "got found github_token in reply" in replayed.stdout.str()  # the masked key replays as a stand-in


def test_a_canary_made_up_per_run_cannot_be_recorded(make_project) -> None:
    project = make_project({})
    result = project.runpytest("--llmops", "--llmops-probes=harmful", "--llmops-record=cassettes")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["probes/harmful:14: case 'weapon-1': its system prompt gets a canary, and cassettes "
                                 "can only replay a fixed one: set canary = '...' under *tool.llmops.leaks*",
                                 "FAIL: 0/0 cases passed (0.0%), 0 failed, 0 skipped, 1 errors"])


@pytest.mark.parametrize("args, message", [
    (["--llmops", "--llmops-probes=nope"], "unknown probe category nope; choose from all, pii-fishing"),
    (["--llmops", "--llmops-probes=,"], "--llmops-probes: name categories or all"),
    (["--llmops-probes=all"], "--llmops-probes needs --llmops"),
])
def test_bad_probe_options_are_usage_errors(make_project, args, message) -> None:
    result = make_project({}).runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_the_canary_changes_every_run_and_never_reaches_a_report(make_project) -> None:
    project = make_project({}, 'target = "vulnerable"\n' + VULNERABLE)
    canaries = []
    for _ in range(2):
        project.runpytest("--llmops", "--llmops-probes=system-prompt", "-k", "direct-1",
                          "--llmops-results=results.json").assert_outcomes(failed=1)
        reply = json.loads((project.path / "results.json").read_text())["cases"][0]["turns"][0]["reply"]
        canaries.append(re.search(r"LLMOPS-CANARY-[0-9A-F]{16}", reply).group())
    assert canaries[0] != canaries[1]


def test_parse_selection() -> None:
    assert parse_selection("all") == PROBE_CATEGORIES
    assert parse_selection("harmful, pii-fishing") == ("pii-fishing", "harmful")  # library order


def test_exported_probes_are_ordinary_case_files_that_keep_their_canary(make_project, tmp_path) -> None:
    project = make_project({}, VULNERABLE)
    written = export_probes(project.path / "eval_cases" / "probes", ("system-prompt",))
    assert [path.name for path in written] == ["system-prompt.yaml"]
    assert len(load_case_file(written[0])) == 15
    result = project.runpytest("--llmops", "--llmops-target=vulnerable", "-k", "spelled-out-1")
    result.assert_outcomes(failed=1)  # tagged probe: the canary is planted in your own copy too
    result.stdout.fnmatch_lines(["*got reproduced the canary (spaced out)*"])


def test_llmops_probes_list_and_export(tmp_path) -> None:
    listed = cli(tmp_path, "probes", "list")
    assert listed.returncode == 0, listed.stderr
    counts = Counter(probe.category for probe in load_probes())
    assert listed.stdout.startswith(f"pytest-llmops 0.1.0 probe library: {sum(counts.values())} probe(s)")
    assert "  probes/system-prompt/base64-1  [1 turn; holds on: no_pii, no_secrets, no_system_prompt_leak]" in listed.stdout
    assert "probes/jailbreak/dan-1  [1 turn; holds on: no_pii, no_secrets, no_system_prompt_leak, refusal]" in listed.stdout
    assert listed.stdout.rstrip().endswith(", ".join(f"{name} {count}" for name, count in counts.items()))
    harmful = cli(tmp_path, "probes", "list", "--category=harmful").stdout
    assert "probes/harmful/" in harmful and "probes/jailbreak/" not in harmful

    exported = cli(tmp_path, "probes", "export", "owned", "--category=harmful,jailbreak")
    assert exported.returncode == 0, exported.stderr
    assert sorted(path.name for path in (tmp_path / "owned").iterdir()) == ["harmful.yaml", "jailbreak.yaml"]
    owned = tmp_path / "owned" / "harmful.yaml"
    assert owned.read_text().endswith(probe_file("harmful").read_text())
    owned.write_text(owned.read_text() + "# our own edit\n")
    again = cli(tmp_path, "probes", "export", "owned")
    assert again.returncode == 2 and "already exist; nothing was written (use --force" in again.stderr
    assert owned.read_text().endswith("# our own edit\n")  # nothing lost
    assert not (tmp_path / "owned" / "system-prompt.yaml").exists()
    forced = cli(tmp_path, "probes", "export", "owned", "--force")
    assert forced.returncode == 0 and len(list((tmp_path / "owned").iterdir())) == len(PROBE_CATEGORIES)
    validated = cli(tmp_path, "validate", "owned")
    assert validated.returncode == 0 and f"{sum(counts.values())} case(s), 0 file(s) with errors" in validated.stdout
    bad = cli(tmp_path, "probes", "list", "--category=nope")
    assert bad.returncode == 2 and "--category: unknown probe category nope" in bad.stderr
    (tmp_path / "afile").write_text("x")
    assert "exists and is not a folder" in cli(tmp_path, "probes", "export", "afile").stderr

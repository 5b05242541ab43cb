"""Cassettes: record a run against a real server on 127.0.0.1, replay it offline and identically,
with no secret and (by default) no personal data in the files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pytest_llmops.targets.cassette import dump_cassette, load_cassette
from target_servers import RECORDER_CONFTEST, read_records
from test_targets_openai import openai_toml, stub_server  # noqa: F401  (a fixture)

SECRET = "sk-test-cassette-0123456789abcdef"

CASES = r"""
cases:
  - id: remembers-name
    system: "You are Acme's support assistant."
    turns:
      - user: "Hello, my name is Ann"
        expect: {contains: ["Ann"]}
      - user: "I want to talk to a human"
        save: {ticket: '(T-\d+)'}
      - user: "My ticket is {ticket}. What is my name?"
        expect: {contains: ["your name is Ann"]}
  - id: wrong-on-purpose
    turns:
      - user: "How long do I have to return an item?"
        expect: {contains: ["90 days"]}
"""


def _outcome(record: dict) -> dict:
    """What must replay identically: verdicts, texts, statuses and every check."""
    return {"passed": record["passed"], "skipped": record["skipped_turns"],
            "turns": [(t["user"], t["reply"], t["status"], t["error_kind"],
                       [(c["check"], c["passed"]) for c in t["checks"]]) for t in record["turns"]]}


def _cassette_latencies(folder: Path, name: str) -> list[float]:
    runs = load_cassette(folder / "memory" / f"{name}.yaml")
    return [turn["response"]["latency_ms"] for turn in runs[1].values()]


def test_recorded_run_replays_identically_with_the_server_stopped(make_project, stub_server, monkeypatch):  # noqa: F811
    monkeypatch.setenv("BOT_KEY", SECRET)
    server = stub_server(api_key_env="BOT_KEY", latency_ms=5)
    project = make_project({"memory.yaml": CASES}, openai_toml(server, api_key_env='"BOT_KEY"'))
    project.makeconftest(RECORDER_CONFTEST)
    recorded = project.runpytest("--llmops", "--llmops-target", "bot", "--llmops-record", "cassettes")
    recorded.assert_outcomes(passed=1, failed=1)
    recorded.stdout.fnmatch_lines(["llmops: cassettes: recording to */cassettes"])
    live = read_records(project.path)
    sent = server.requests
    (project.path / "records.jsonl").unlink()

    server.stop()
    monkeypatch.delenv("BOT_KEY")  # offline replay needs no key
    replayed = project.runpytest("--llmops", "--llmops-target", "bot", "--llmops-replay", "cassettes")
    replayed.assert_outcomes(passed=1, failed=1)
    replayed.stdout.fnmatch_lines(["llmops: cassettes: replaying from */cassettes, offline"])
    again = read_records(project.path)
    assert server.requests == sent
    for case_id in ("remembers-name", "wrong-on-purpose"):
        assert _outcome(again[case_id]) == _outcome(live[case_id])
        turns = again[case_id]["turns"]
        assert all(turn["latency_recorded"] for turn in turns)
        assert [turn["latency_ms"] for turn in turns] == _cassette_latencies(project.path / "cassettes", case_id)
        assert again[case_id]["target"]["cassette"]["mode"] == "replay"
    assert again["remembers-name"]["turns"][1]["saved"] == live["remembers-name"]["turns"][1]["saved"]


def test_a_cassette_holds_no_api_key(make_project, stub_server, monkeypatch):  # noqa: F811
    monkeypatch.setenv("BOT_KEY", SECRET)
    server = stub_server(api_key_env="BOT_KEY")
    project = make_project({"memory.yaml": CASES}, openai_toml(server, api_key_env='"BOT_KEY"', headers='{"X-Api-Key" = "sk-test-cassette-0123456789abcdef", "X-Team" = "support"}'))
    project.runpytest("--llmops", "--llmops-target", "bot", "--llmops-record", "cassettes").assert_outcomes(
        passed=1, failed=1)
    files = sorted((project.path / "cassettes").rglob("*.yaml"))
    assert [f.relative_to(project.path / "cassettes").as_posix() for f in files] == [
        "memory/remembers-name.yaml", "memory/wrong-on-purpose.yaml"]
    for path in files:
        text = path.read_text()
        assert SECRET not in text and "sk-test" not in text and not re.search(r"(?i)bearer\s+\S", text)
        headers = yaml.safe_load(text)["runs"][0]["turns"][0]["request"]["headers"]
        assert headers == {"Authorization": "[REDACTED]", "X-Api-Key": "[REDACTED]", "X-Team": "support"}


def test_personal_data_is_masked_in_cassettes_and_still_fails_on_replay(make_project):
    project = make_project({"leak.yaml": """
cases:
  - id: leaks
    turns:
      - user: "My email is bob@example.org, where is my order #48212?"
"""}, '[tool.llmops.targets.leaky]\ntype = "stub"\nleak = "email"\n')
    project.runpytest("--llmops", "--llmops-target", "leaky", "--llmops-record", "cas").assert_outcomes(failed=1)
    text = (project.path / "cas" / "leak" / "leaks.yaml").read_text()
    assert "jane.doe@example.com" not in text and "bob@example.org" not in text
    assert "My email is [EMAIL], where is my order #48212?" in text
    assert yaml.safe_load(text)["runs"][0]["turns"][0]["response"]["pii"] == ["email"]
    result = project.runpytest("--llmops", "--llmops-target", "leaky", "--llmops-replay", "cas")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*FAILED no_pii: expected no personal data; got found EMAIL in reply"])
    # the stand-in (a realistic address at a reserved example domain) is masked like the original
    assert not re.search(r"[\w.+-]+@example\.(com|net|org)", result.stdout.str())


def test_record_pii_keeps_personal_data_as_the_bot_said_it(make_project):
    project = make_project({"leak.yaml": "cases:\n  - id: leaks\n    turns: [{user: \"Where is my order #48212?\"}]\n"},
                           '[tool.llmops.targets.leaky]\ntype = "stub"\nleak = "email"\n')
    project.runpytest("--llmops", "--llmops-target", "leaky", "--llmops-record", "cas",
                      "--llmops-record-pii").assert_outcomes(failed=1)
    text = (project.path / "cas" / "leak" / "leaks.yaml").read_text()
    assert "jane.doe@example.com" in text and "personal_data: kept as the bot said it" in text
    result = project.runpytest("--llmops", "--llmops-target", "leaky", "--llmops-replay", "cas")
    result.assert_outcomes(failed=1)
    assert "jane.doe@example.com" not in result.stdout.str()


def test_latency_is_judged_on_the_recorded_latency_and_marked(make_project):
    project = make_project({"slow.yaml": "cases:\n  - id: slow\n    turns: [{user: \"hello\"}]\n"},
                           '[tool.llmops.targets.slow]\ntype = "stub"\nlatency_ms = 80\n')
    project.runpytest("--llmops", "--llmops-target", "slow", "--llmops-record", "cas").assert_outcomes(passed=1)
    result = project.runpytest("--llmops", "--llmops-target", "slow", "--llmops-replay", "cas",
                               "--llmops-max-latency-ms", "40", "--html=report.html")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*FAILED max_latency_ms: expected <= 40 ms; got * ms (recorded)"])
    assert "(recorded, replayed from a cassette)" in (project.path / "report.html").read_text()


def test_max_ttft_on_a_cassette_recorded_without_streaming_says_how_to_re_record(make_project):
    project = make_project({"t.yaml": "cases:\n  - id: first-token\n    turns: [{user: \"hello\"}]\n"})
    project.runpytest("--llmops", "--llmops-record", "cas").assert_outcomes(passed=1)
    (project.path / "eval_cases" / "t.yaml").write_text(
        "cases:\n  - id: first-token\n    turns: [{user: \"hello\", expect: {max_ttft_ms: 500}}]\n")
    result = project.runpytest("--llmops", "--llmops-replay", "cas")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*FAILED max_ttft_ms: expected first token <= 500 ms; got no time to first token "
                                 "measured (the cassette was recorded without streaming, so it holds no first-token "
                                 "time; re-record it with stream = true on the target: pytest --llmops "
                                 "--llmops-record=DIR)"])
    assert "does not stream" not in result.stdout.str()


def test_recorded_faults_replay_as_the_same_fault(make_project):
    project = make_project({"f.yaml": "cases:\n  - id: breaks\n    turns:\n      - user: \"refund please\"\n"
                                      "      - user: \"thanks\"\n"},
                           '[tool.llmops.targets.broken]\ntype = "stub"\nerror_on = "refund"\nerror_mode = "raise"\n')
    live = project.runpytest("--llmops", "--llmops-target", "broken", "--llmops-record", "cas")
    replayed = project.runpytest("--llmops", "--llmops-target", "broken", "--llmops-replay", "cas")
    for result in (live, replayed):
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*FAILED reply: expected a reply from the chatbot; got target_error: "
                                     "stub bot failed on purpose (error_on)", "1 later turn(s) not sent*"])


def test_missing_recordings_fail_clearly_or_are_recorded_with_record_missing(make_project, stub_server):  # noqa: F811
    server = stub_server()
    project = make_project({"memory.yaml": CASES}, openai_toml(server))
    (project.path / "cas").mkdir()
    result = project.runpytest("--llmops", "--llmops-target", "bot", "--llmops-replay", "cas")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*FAILED reply: expected a reply from the chatbot; got no_recording: no recording "
                                 "of memory.yaml::remembers-name (no cassette cas/memory/remembers-name.yaml); "
                                 "record it with --llmops-record=DIR, or add what is missing with --llmops-replay"
                                 "=DIR --llmops-record-missing"])
    assert server.requests == 0

    project.runpytest("--llmops", "--llmops-target", "bot", "--llmops-replay", "cas",
                      "--llmops-record-missing").assert_outcomes(passed=1, failed=1)
    assert server.requests == 4
    server.stop()
    project.runpytest("--llmops", "--llmops-target", "bot", "--llmops-replay", "cas").assert_outcomes(
        passed=1, failed=1)


def test_an_edited_turn_no_longer_matches_its_recording(make_project):
    project = make_project({"memory.yaml": CASES})
    project.runpytest("--llmops", "--llmops-record", "cas").assert_outcomes(passed=1, failed=1)
    case_file = project.path / "eval_cases" / "memory.yaml"
    case_file.write_text(CASES.replace("What is my name?", "Who am I?"))
    result = project.runpytest("--llmops", "--llmops-replay", "cas")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*got no_recording: cassette cas/memory/remembers-name.yaml: turn 3 was recorded "
                                 "for another conversation (message 6 (user) was 'My ticket is T-*. What is my "
                                 "name?', now 'My ticket is T-*. Who am I?')*"])

    # --llmops-record-missing re-records from the changed turn on, keeping the turns before it.
    project.runpytest("--llmops", "--llmops-replay", "cas", "--llmops-record-missing").assert_outcomes(failed=2)
    turns = load_cassette(project.path / "cas" / "memory" / "remembers-name.yaml")[1]
    assert turns[3, 1]["request"]["messages"][-1]["content"].endswith("Who am I?")


def test_an_unreadable_cassette_fails_its_case_and_the_others_still_run(make_project):
    project = make_project({"memory.yaml": CASES})
    project.runpytest("--llmops", "--llmops-record", "cas").assert_outcomes(passed=1, failed=1)
    (project.path / "cas" / "memory" / "remembers-name.yaml").write_text("runs: [unclosed\n")
    (project.path / "cas" / "memory" / "wrong-on-purpose.yaml").write_text(
        (project.path / "cas" / "memory" / "wrong-on-purpose.yaml").read_text())
    result = project.runpytest("--llmops", "--llmops-replay", "cas")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    assert "remembers-name.yaml: cannot read cassette" in out
    assert "FAILED contains: expected reply contains \"90 days\"" in out  # the other case replayed normally


def test_repeats_are_recorded_per_run_and_replay_with_the_same_distribution(make_project):
    project = make_project({"flaky.yaml": "cases:\n  - id: returns\n    repeat: 3\n    min_pass: 2\n"
                                          "    turns: [{user: \"How long do I have to return an item?\"}]\n"},
                           '[tool.llmops.targets.flaky]\ntype = "stub"\nleak = "email"\nleak_every = 3\n')
    project.makeconftest(RECORDER_CONFTEST)
    project.runpytest("--llmops", "--llmops-target", "flaky", "--llmops-record", "cas").assert_outcomes(passed=1)
    live = read_records(project.path)["returns"]["repeat"]
    (project.path / "records.jsonl").unlink()
    project.runpytest("--llmops", "--llmops-target", "flaky", "--llmops-replay", "cas").assert_outcomes(passed=1)
    again = read_records(project.path)["returns"]["repeat"]
    assert [r["passed"] for r in again["results"]] == [r["passed"] for r in live["results"]]
    assert [r["failed_checks"] for r in again["results"]] == [r["failed_checks"] for r in live["results"]]

    result = project.runpytest("--llmops", "--llmops-target", "flaky", "--llmops-replay", "cas", "--llmops-repeat", "4")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  run 4: FAILED turn 1 reply (no_recording: cassette cas/flaky/returns.yaml holds run(s) 1, 2, 3, "
                                 "not run 4*"])


@pytest.mark.parametrize("args, message", [
    (["--llmops-record", "a", "--llmops-replay", "a"], "--llmops-record and --llmops-replay cannot be combined"),
    (["--llmops-record-missing"], "--llmops-record-missing needs --llmops-replay=DIR"),
    (["--llmops-record-pii"], "--llmops-record-pii only applies when recording"),
    (["--llmops-replay", "nowhere"], "--llmops-replay nowhere: no such folder of cassettes"),
    (["--llmops-replay", "cas", "--llmops-target", "nobody"], "unknown target 'nobody'"),
])
def test_contradictory_cassette_options_are_usage_errors(make_project, args, message):
    project = make_project({"a.yaml": "cases:\n  - id: a\n    turns: [{user: hi}]\n"})
    (project.path / "cas").mkdir()
    result = project.runpytest("--llmops", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_cassettes_diff_well_re_recording_changes_only_timings(make_project):
    project = make_project({"memory.yaml": CASES})
    project.runpytest("--llmops", "--llmops-record", "cas").assert_outcomes(passed=1, failed=1)
    path = project.path / "cas" / "memory" / "remembers-name.yaml"
    first = path.read_text()
    project.runpytest("--llmops", "--llmops-record", "cas").assert_outcomes(passed=1, failed=1)
    second = path.read_text()
    strip = lambda text: re.sub(r"latency_ms: [0-9.]+", "latency_ms: N", text)  # noqa: E731
    assert strip(first) == strip(second)
    assert first.startswith("# pytest-llmops cassette")


def test_multi_line_replies_are_written_as_text_blocks():
    text = dump_cassette({"version": 1, "runs": [{"run": 1, "turns": [{"turn": 1, "response": {
        "reply": "Line one\nLine two\n"}}]}]})
    assert "reply: |\n        Line one\n        Line two\n" in text
    assert yaml.safe_load(text)["runs"][0]["turns"][0]["response"]["reply"] == "Line one\nLine two\n"


def test_record_and_replay_under_xdist(make_project):
    project = make_project({"memory.yaml": CASES, "more.yaml": "cases:\n  - id: hello\n    turns: [{user: hi}]\n"})
    project.runpytest("--llmops", "-n", "2", "--llmops-record", "cas").assert_outcomes(passed=2, failed=1)
    assert len(list((project.path / "cas").rglob("*.yaml"))) == 3
    result = project.runpytest("--llmops", "-n", "2", "--llmops-replay", "cas", "--llmops-repeat", "1")
    result.assert_outcomes(passed=2, failed=1)

"""``llmops cases from-monitor-log``: flagged interactions become reviewed-to-be regression cases."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from monitor_support import LEAKED_EMAIL, cli, make_project
from pytest_llmops.config import load_settings
from pytest_llmops.monitor.service import Monitor

PROJECT = """max_latency_ms = 200

[tool.llmops.targets.leaky]
type = "stub"
leak = "email"
leak_on = "receipt"
error_on = "gift card"
slow_on = "bulk order"
slow_ms = 400
"""


@pytest.fixture
def project(tmp_path):
    root = make_project(tmp_path / "shop", PROJECT)
    with Monitor(load_settings(root), console=False) as monitor:
        monitor.record("Hi", "Hello! How can I help?", 20.0, conversation_id="c1", user_id="u1")
        monitor.record(f"I am {LEAKED_EMAIL}. Can you email me the receipt?", f"Sent to {LEAKED_EMAIL}", 30.0,
                       conversation_id="c1", user_id="u1")
        monitor.record("Can I pay with a gift card?", "Sorry, an error occurred while processing your request.",
                       25.0, conversation_id="c2", user_id="u2")
        monitor.record("Can I pay with a gift card?", "Sorry, an error occurred while processing your request.",
                       25.0, conversation_id="c3", user_id="u3")
        monitor.record("Do you offer a bulk order discount?", "Yes, 10% above 100 items.", 900.0, user_id="u4")
        monitor.record("Thanks", "You're welcome!", 15.0, conversation_id="c1", user_id="u1")
    return root


STAND_IN_ASKED = r"I am [a-z]+\.[a-z]+\d\d@example\.(com|net|org)\. Can you email me the receipt\?"


def generated(root) -> dict[str, dict]:
    folder = root / "eval_cases" / "regressions"
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(folder.glob("*.yaml"))}


def test_each_flagged_interaction_becomes_a_masked_tagged_case(project):
    result = cli(project, "cases", "from-monitor-log")
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert "3 case file(s) written, 0 already present, 1 duplicate(s) merged" in out
    files = generated(project)
    assert len(files) == 3 and all(name.startswith("mon-") for name in files)
    by_rule = {}
    for doc in files.values():
        case = doc["cases"][0]
        by_rule[tuple(case["tags"])] = case
    pii = by_rule[("from-monitor", "needs-review", "pii")]
    # the masked address comes back as a realistic stand-in, so a bot echoing it still leaks
    [hi, asked] = [turn["user"] for turn in pii["turns"]]
    assert hi == "Hi" and re.fullmatch(STAND_IN_ASKED, asked), asked
    assert pii["turns"][-1]["expect"] == {"no_pii": True}
    error = by_rule[("from-monitor", "needs-review", "error")]
    assert error["turns"] == [{"user": "Can I pay with a gift card?", "expect": {"no_error": True}}]
    latency = by_rule[("from-monitor", "needs-review", "latency")]
    assert latency["turns"][-1]["expect"] == {"max_latency_ms": 200.0}
    for path in (project / "eval_cases" / "regressions").iterdir():
        text = path.read_text()
        assert LEAKED_EMAIL not in text and "u1" not in text.split("cases:")[1]
        assert "# source: monitor" in text
    assert cli(project, "validate").returncode == 0


def test_a_second_run_writes_nothing_and_force_rewrites(project):
    assert cli(project, "cases", "from-monitor-log").returncode == 0
    before = {name: (project / "eval_cases" / "regressions" / name).stat().st_mtime_ns for name in generated(project)}
    again = cli(project, "cases", "from-monitor-log")
    assert "0 case file(s) written, 3 already present" in again.stdout.decode()
    assert before == {name: (project / "eval_cases" / "regressions" / name).stat().st_mtime_ns
                      for name in generated(project)}
    forced = cli(project, "cases", "from-monitor-log", "--force")
    assert "3 case file(s) written" in forced.stdout.decode()


def test_dry_run_and_only(project):
    dry = cli(project, "cases", "from-monitor-log", "--dry-run", "--only", "pii")
    assert dry.returncode == 0
    assert "1 case file(s) would be written" in dry.stdout.decode()
    assert "no_pii: true" in dry.stdout.decode()
    assert not (project / "eval_cases").exists()
    bad = cli(project, "cases", "from-monitor-log", "--only", "pii,bad_input")
    assert bad.returncode == 2 and "not a finding category" in bad.stderr.decode()


def test_generated_cases_catch_the_regression_and_pass_on_a_good_bot(project):
    assert cli(project, "cases", "from-monitor-log").returncode == 0
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    run = [sys.executable, "-m", "pytest", "--llmops", "-p", "no:cacheprovider", "-q", "eval_cases/regressions"]
    bad = subprocess.run([*run, "--llmops-target", "leaky"], cwd=project, capture_output=True, env=env, timeout=120)
    assert bad.returncode == 1, bad.stdout.decode()
    assert "3 failed" in bad.stdout.decode()
    good = subprocess.run(run, cwd=project, capture_output=True, env=env, timeout=120)
    assert good.returncode == 0, good.stdout.decode()
    assert "3 passed" in good.stdout.decode()


def test_rotated_logs_are_read_oldest_first_and_bad_lines_reported(project):
    log = project / "chatbot_monitoring.log"
    log.rename(project / "chatbot_monitoring.log.1")
    with Monitor(load_settings(project), console=False) as monitor:
        monitor.record("And my receipt?", f"Here: {LEAKED_EMAIL}", 10.0, conversation_id="c1")
    with open(log, "ab") as handle:
        handle.write(b"{not json\n")
    result = cli(project, "cases", "from-monitor-log")
    assert result.returncode == 0
    assert "chatbot_monitoring.log:2: skipped: not valid JSON" in result.stderr.decode()
    texts = [turn["user"] for doc in generated(project).values() for turn in doc["cases"][0]["turns"]]
    assert "And my receipt?" in texts
    continued = next(doc["cases"][0] for doc in generated(project).values()
                     if doc["cases"][0]["turns"][-1]["user"] == "And my receipt?")
    [hi, asked] = [turn["user"] for turn in continued["turns"]][:2]
    assert hi == "Hi" and re.fullmatch(STAND_IN_ASKED, asked), asked
    strict = cli(project, "cases", "from-monitor-log", "--strict", "--out", "strict-out")
    assert strict.returncode == 1 and not (project / "strict-out").exists()


def test_no_log_is_a_clear_error(tmp_path):
    root = make_project(tmp_path / "empty")
    result = cli(root, "cases", "from-monitor-log")
    assert result.returncode == 2
    assert "no monitor log" in result.stderr.decode()


def test_the_second_read_skips_only_lines_that_cannot_be_earlier_turns_of_a_flagged_conversation(tmp_path,
                                                                                                 monkeypatch):
    """The earlier turns are collected by a second read that parses only the lines a flagged conversation
    could stand in; however a line spells its conversation id, the candidates are those of parsing them all."""
    import json

    from pytest_llmops.convert import from_monitor
    from pytest_llmops.monitor.settings import monitor_settings

    leak = [{"check": "no_pii", "category": "pii", "expected": "no personal data", "actual": "found EMAIL in reply"}]
    compact = {"separators": (",", ":"), "ensure_ascii": False}
    lines = [
        json.dumps({"conversation_id": "c-1", "user": "plain, compact"}, **compact),
        json.dumps({"conversation_id": "c-1", "user": "spaced"}),
        json.dumps({"conversation_id": "ç 2", "user": "unicode id, raw"}, **compact),
        json.dumps({"conversation_id": "ç 2", "user": "unicode id, escaped"}),  # \u00e7: a backslash
        '{"conversation\\u005fid":"c-1","user":"escaped key"}',
        json.dumps({"meta": {"conversation_id": "c-1"}, "conversation_id": "other", "user": "nested, other"},
                   **compact),
        json.dumps({"meta": {"conversation_id": "other"}, "conversation_id": "c-1", "user": "nested, ours"},
                   **compact),
        json.dumps({"conversation_id": "other", "user": 'says "conversation_id":"c-1"'}, **compact),
        json.dumps({"conversation_id": 1, "user": "a number"}, **compact),
        json.dumps({"conversation_id": "c-10", "user": "a longer id"}, **compact),
        '{"conversation_id":"c-1","user":"torn',
        "[1, 2]",
        json.dumps({"conversation_id": "c-1", "user": "the leak", "reply": "x", "findings": leak}, **compact),
        json.dumps({"conversation_id": "ç 2", "user": "the leak", "reply": "x", "findings": leak}, **compact),
        json.dumps({"conversation_id": "c-1", "user": "after the leak"}, **compact),
    ]
    log = tmp_path / "monitor.log"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text("[tool.llmops]\n")
    options = monitor_settings(load_settings(tmp_path))
    found = from_monitor.candidates_from_monitor_log([log], options, 200.0)
    assert [candidate.users for candidate in found[0]] == [
        ("plain, compact", "spaced", "escaped key", "nested, ours", "the leak"),
        ("unicode id, raw", "unicode id, escaped", "the leak")]
    monkeypatch.setattr(from_monitor, "_may_be_in", lambda raw, conversations: True)  # parse every line
    assert from_monitor.candidates_from_monitor_log([log], options, 200.0) == found


def test_log_lines_parse_to_what_parse_line_gives_them() -> None:
    """from-monitor-log reads lines with pydantic's faster JSON parser and hands what it refuses (or reads as
    no object) to jsonl.parse_line: every line must give parse_line's record, or its reason."""
    import json

    from hypothesis import given, settings as hypothesis_settings, strategies as st

    from pytest_llmops.convert.from_monitor import _parse
    from pytest_llmops.jsonl import parse_line

    texts = st.one_of(st.text(max_size=10), st.sampled_from(["\ud800", "a\udfffb", "\ud83d\ude00", "\x00", "\x7f",
                                                              "é", "\u2028", "\\", '"']))
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-10**40, 10**40),
                        st.floats(allow_nan=True, allow_infinity=True), texts)
    values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                           st.dictionaries(texts, inner, max_size=4)), max_leaves=12)
    dumped = st.builds(lambda value, ascii_only, indent: json.dumps(value, ensure_ascii=ascii_only).encode(
        "utf-8", "surrogatepass") if indent is None else json.dumps(value, indent=indent).encode("utf-8", "surrogatepass"),
        st.one_of(st.dictionaries(texts, values, max_size=5), values), st.booleans(), st.sampled_from([None, 0]))
    handmade = st.sampled_from([
        b'{"a":1,"a":2}', b'{"a":NaN,"b":-Infinity}', b'{"a":1} x', b'\xef\xbb\xbf{"a":1}', b'{"a":"x\x01y"}',
        b'{"a":01}', b'{"a":1.}', b'{"a":[1,]}', b'{"a":"\xed\xa0\x80"}', b'{"a":2.5e-324}', b'{"a":1e400}',
        b'{"a":"\\ud800"}', b'{"a":' + b"9" * 5000 + b"}", b"[" * 300 + b"]" * 300, b'{"a":' + b"[" * 300 + b"]" * 300 + b"}",
        b"{" * 3000, b'{"a":1}\x00', b"\xff", b"[1, 2]", b'"text"', b"null"])
    lines = st.one_of(dumped, handmade, st.binary(max_size=30)).filter(lambda raw: b"\n" not in raw and raw.strip())

    @hypothesis_settings(max_examples=600, deadline=None)
    @given(raw=lines)
    def same_as_parse_line(raw: bytes) -> None:
        fast, slow = _parse(7, raw), parse_line(7, raw)
        assert (repr(fast.record), fast.bad) == (repr(slow.record), slow.bad)

    same_as_parse_line()


def test_a_log_line_whose_conversation_id_is_not_a_string_is_never_taken_for_a_turn(project):
    log = project / "chatbot_monitoring.log"
    lines = log.read_text().splitlines(keepends=True)
    odd = [{"conversation_id": ["c1"], "user": "a list \\u00e9", "reply": "x", "findings": []},
           {"conversation_id": {"conversation_id": "c1"}, "user": "a mapping", "reply": "x", "findings": []}]
    log.write_text(lines[0] + "".join(json.dumps(entry) + "\n" for entry in odd) + "".join(lines[1:]))
    result = cli(project, "cases", "from-monitor-log")
    assert result.returncode == 0, result.stderr.decode()
    turns = [case["turns"] for data in generated(project).values() for case in data["cases"]]
    assert not any(turn["user"] in ("a list é", "a mapping") for conversation in turns for turn in conversation)

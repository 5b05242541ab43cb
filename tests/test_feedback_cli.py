"""``llmops feedback`` as a real subprocess: flags for scripts, prompts on a real pseudo-terminal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from pytest_llmops.feedback.store import FEEDBACK_TYPES, feedback_json_schema
from pytest_llmops.pseudonym import pseudonymize

from feedback_support import converse, llmops, spawn_llmops

RESULTS = {"schema": 1, "cases": [
    {"nodeid": "eval_cases/orders.yaml::where-is-my-order", "case_id": "where-is-my-order", "file": "x",
     "passed": False, "outcome": "failed",
     "turns": [{"turn": 1, "user": "Where is order 12345?", "reply": "Order 12345 shipped. Contact [EMAIL].",
                "latency_ms": 3.2, "checks": [], "passed": False}]},
    {"nodeid": "eval_cases/returns.yaml::return-window", "case_id": "return-window", "file": "y",
     "passed": True, "outcome": "passed",
     "turns": [{"turn": 1, "user": "How long to return?", "reply": "30 days.", "latency_ms": 1.0,
                "checks": [], "passed": True},
               {"turn": 2, "user": "Store credit?", "reply": "Yes.", "latency_ms": 1.0, "checks": [],
                "passed": True}]},
]}



@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.llmops]\n")
    (tmp_path / "results.json").write_text(json.dumps(RESULTS))
    return tmp_path


def stored(project: Path, name: str = "feedback.jsonl") -> list[dict]:
    return [json.loads(line) for line in (project / name).read_text().splitlines()]


def test_flags_record_without_asking(project: Path) -> None:
    result = llmops(project, "feedback", "--user-id", "u-1042", "--type", "slow", "--message", "took 9 s",
                    "--file", "fb.jsonl")
    assert result.returncode == 0, result.stderr
    [record] = stored(project, "fb.jsonl")
    assert record["type"] == "slow" and record["message"] == "took 9 s" and record["user_id"] == "u-1042"
    assert f"recorded feedback {record['id']} (slow)" in result.stdout


def test_without_a_terminal_missing_fields_fail_at_once(project: Path) -> None:
    result = llmops(project, "feedback", "--type", "slow")
    assert result.returncode == 2
    assert "missing --user-id, --message and no terminal to ask on" in result.stderr
    assert not (project / "feedback.jsonl").exists()


def test_identifying_user_id_flag_is_refused_and_the_file_kept(project: Path) -> None:
    llmops(project, "feedback", "--user-id", "u-1", "--type", "praise", "--message", "good")
    before = (project / "feedback.jsonl").read_bytes()
    result = llmops(project, "feedback", "--user-id", "jane.doe@example.com", "--type", "praise", "--message", "x")
    assert result.returncode == 2 and "looks like an email address" in result.stderr
    assert "jane.doe@example.com" not in result.stderr
    assert (project / "feedback.jsonl").read_bytes() == before


def test_unknown_type_flag_lists_the_choices(project: Path) -> None:
    result = llmops(project, "feedback", "--user-id", "u-1", "--type", "angry", "--message", "x")
    assert result.returncode == 2 and "invalid choice: 'angry'" in result.stderr and "pii_leak" in result.stderr


def test_description_is_masked_and_the_reporter_told(project: Path) -> None:
    result = llmops(project, "feedback", "--user-id", "u-1", "--type", "pii_leak",
                    "--message", "it gave me jane.doe@example.com")
    assert "personal data in the description was masked" in result.stdout
    assert stored(project)[0]["message"] == "it gave me [EMAIL]"


def test_keep_pii_with_a_reason(project: Path) -> None:
    result = llmops(project, "feedback", "--user-id", "u-1", "--type", "other",
                    "--message", "write to jane.doe@example.com", "--keep-pii", "customer asked us to reply")
    assert result.returncode == 0
    record = stored(project)[0]
    assert record["message"] == "write to jane.doe@example.com"
    assert record["pii_kept_reason"] == "customer asked us to reply"


def test_conversation_from_a_results_file_by_case_id(project: Path) -> None:
    result = llmops(project, "feedback", "--user-id", "u-1", "--type", "wrong_answer", "--message", "short",
                    "--conversation", "results.json", "--case", "return-window", "--turn", "2",
                    "--expected", "Yes, as store credit")
    assert result.returncode == 0, result.stderr
    record = stored(project)[0]
    assert [t["user"] for t in record["conversation"]] == ["How long to return?", "Store credit?"]
    assert record["turn"] == 2 and record["source"] == "results.json::return-window"
    assert record["conversation"][0]["latency_ms"] == 1.0


def test_results_file_with_several_cases_needs_case(project: Path) -> None:
    result = llmops(project, "feedback", "--user-id", "u-1", "--type", "error", "--message", "x",
                    "--conversation", "results.json")
    assert result.returncode == 2
    assert "holds 2 conversations; choose one with --case" in result.stderr and "return-window" in result.stderr
    unknown = llmops(project, "feedback", "--user-id", "u-1", "--type", "error", "--message", "x",
                     "--conversation", "results.json", "--case", "nope")
    assert unknown.returncode == 2 and "no conversation for case 'nope'" in unknown.stderr
    assert not (project / "feedback.jsonl").exists()


def test_conversation_from_pasted_text_file_and_bad_text(project: Path) -> None:
    (project / "chat.txt").write_text("user: Where is my order?\nbot: What is your order number?\n"
                                      "user: 12345\nbot: Order 12345 is being packed\nand ships tomorrow.\n")
    assert llmops(project, "feedback", "--user-id", "u-1", "--type", "error", "--message", "x",
                  "--conversation", "chat.txt").returncode == 0
    turns = stored(project)[0]["conversation"]
    assert turns[1] == {"user": "12345", "reply": "Order 12345 is being packed\nand ships tomorrow."}
    (project / "bad.txt").write_text("hello there\n")
    result = llmops(project, "feedback", "--user-id", "u-1", "--type", "error", "--message", "x",
                    "--conversation", "bad.txt")
    assert result.returncode == 2 and "bad.txt: line 1: expected 'user: ...' or 'bot: ...'" in result.stderr


def test_turn_out_of_range_is_refused(project: Path) -> None:
    result = llmops(project, "feedback", "--user-id", "u-1", "--type", "error", "--message", "x",
                    "--conversation", "results.json", "--case", "where-is-my-order", "--turn", "4")
    assert result.returncode == 2 and "turn: Value error" not in result.stderr
    assert "beyond the 1-turn conversation" in result.stderr


def test_schema_flag_prints_the_published_schema(project: Path) -> None:
    result = llmops(project, "feedback", "--schema")
    assert result.returncode == 0 and json.loads(result.stdout) == feedback_json_schema()


def test_prompts_show_choices_and_ask_again_after_bad_answers(project: Path) -> None:
    child = spawn_llmops(project, "feedback")
    converse(child, [("User id (a non-identifying internal id, not an email or phone): ", "jane.doe@example.com"),
                     ("user id looks like an email address", "u-1042")])
    for number, name in enumerate(FEEDBACK_TYPES, start=1):
        child.expect_exact(f"{number}. {name}")
    converse(child, [
        ("Type [1-7 or name]: ", "angry"),
        ("'angry' is not a feedback type", "2"),
        ("Description: ", ""),
        ("please enter something", "it told me jane.doe@example.com"),
        ("Attach the conversation? [p]aste turns, [f]ile, Enter to skip: ", "p"),
        ("an empty line ends it:", "user: Where is order 12345?"),
    ])
    for line in ("bot: Shipped. Contact jane.doe@example.com.", "user: thanks", "bot: You're welcome!", ""):
        child.sendline(line)
    converse(child, [("Which turn is it about? [1-2, Enter for the last]: ", "7"),
                     ("enter a turn number from 1 to 2", "1")])
    child.expect("recorded feedback fb-[0-9a-f]+ \\(pii_leak\\)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    [record] = stored(project)
    assert record["user_id"] == "u-1042" and record["type"] == "pii_leak" and record["turn"] == 1
    assert record["message"] == "it told me [EMAIL]" and record["source"] == "pasted"
    assert record["conversation"][0] == {"user": "Where is order 12345?", "reply": "Shipped. Contact [EMAIL]."}
    assert "jane.doe@example.com" not in (project / "feedback.jsonl").read_text()


def test_prompts_pick_a_case_from_a_results_file_and_ask_the_right_answer(project: Path) -> None:
    child = spawn_llmops(project, "feedback")
    converse(child, [
        ("User id", "u-7"),
        ("Type [1-7 or name]: ", "wrong_answer"),
        ("Description: ", "too vague"),
        ("Enter to skip: ", "f"),
        ("Path to a transcript, results JSON, case file or text file: ", "missing.json"),
        ("missing.json: no such file", "results.json"),
    ])
    child.expect_exact("results.json holds 2 conversations: ")
    converse(child, [
        ("Which case? ", "nope"),
        ("no conversation for case 'nope'", "return-window"),
        ("[1-2, Enter for the last]: ", ""),
        ("The right answer (optional, Enter to skip): ", "Yes, as store credit."),
    ])
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    [record] = stored(project)
    assert record["expected"] == "Yes, as store credit." and "turn" not in record
    assert record["source"] == "results.json::return-window" and len(record["conversation"]) == 2


def test_prompts_ended_by_end_of_input_record_nothing(project: Path) -> None:
    child = spawn_llmops(project, "feedback")
    child.expect_exact("User id")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2 and "nothing recorded" in child.before
    assert not (project / "feedback.jsonl").exists()


def test_user_id_is_pseudonymised_when_the_project_says_so(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "pyproject.toml").write_text("[tool.llmops.privacy]\npseudonymize = true\n")
    monkeypatch.delenv("LLMOPS_PSEUDONYM_KEY", raising=False)
    missing = llmops(project, "feedback", "--user-id", "u-1042", "--type", "praise", "--message", "nice")
    assert missing.returncode == 2 and "LLMOPS_PSEUDONYM_KEY" in missing.stderr
    monkeypatch.setenv("LLMOPS_PSEUDONYM_KEY", "a-key-of-at-least-16-bytes")
    assert llmops(project, "feedback", "--user-id", "u-1042", "--type", "praise", "--message", "nice").returncode == 0
    [record] = stored(project)
    assert record["user_id"] == pseudonymize("u-1042", "a-key-of-at-least-16-bytes")
    assert "u-1042" not in (project / "feedback.jsonl").read_text()


@pytest.mark.parametrize("name, content, message", [
    ("broken.json", '{"cases": [', "broken.json:1: not valid JSON"),
    ("empty.json", '{"cases": []}', "empty.json: no conversation found"),
    ("missing.txt", None, "missing.txt: cannot read conversation file"),
])
def test_unusable_conversation_files_are_named_and_nothing_is_stored(project: Path, name: str, content: str | None,
                                                                       message: str) -> None:
    if content is not None:
        (project / name).write_text(content)
    result = llmops(project, "feedback", "--user-id", "u-1", "--type", "error", "--message", "x",
                    "--conversation", name)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert not (project / "feedback.jsonl").exists()


def test_keep_pii_with_an_empty_reason_is_refused(project: Path) -> None:
    result = llmops(project, "feedback", "--user-id", "u-1", "--type", "other", "--message", "bob@example.org",
                    "--keep-pii", " ")
    assert result.returncode == 2 and "needs a reason" in result.stderr
    assert not (project / "feedback.jsonl").exists()


@pytest.mark.parametrize("piped", ["user: Where is order 12345?\nbot: Call (415) 555-0142.\n",
                                   '[{"user": "Where is order 12345?", "reply": "Call (415) 555-0142."}]'])
def test_conversation_piped_on_standard_input(project: Path, piped: str) -> None:
    result = subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "feedback", "--user-id", "u-1", "--type",
                             "pii_leak", "--message", "phone leaked", "--conversation", "-"], cwd=project,
                            input=piped, text=True, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    record = stored(project)[0]
    assert record["conversation"] == [{"user": "Where is order 12345?", "reply": "Call [PHONE]."}]
    assert record["source"] == "stdin"

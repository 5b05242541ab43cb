"""``llmops cases from-feedback``: rules per type, provenance, no PII, dedup, idempotence, --force,
--dry-run, malformed lines and --strict, all through the real command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from pytest_llmops.cases import load_case_file
from pytest_llmops.config import load_settings
from pytest_llmops.convert.core import Provenance, RegressionCandidate, forbidden_fragment, plan_cases
from pytest_llmops.feedback.store import FeedbackStore
from pytest_llmops.pii import PiiDetector

from feedback_support import llmops

LEAKY = "Order 12345 shipped. Contact jane.doe@example.com for details."



@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.llmops]\nmax_latency_ms = 1500\n")
    return tmp_path


@pytest.fixture
def store(project: Path) -> FeedbackStore:
    return FeedbackStore.from_settings(load_settings(project))


def conversation(last_reply: str = LEAKY) -> list[dict]:
    return [{"user": "Hi, I'm bob@example.org", "reply": "Hello! How can I help?"},
            {"user": "Where is order 12345? Call me on 415-555-0142", "reply": last_reply, "latency_ms": 9000}]


def generated(folder: Path) -> dict[str, dict]:
    """Every generated case by id, loaded through the case model (so each is valid)."""
    cases = {}
    for path in sorted(folder.glob("*.yaml")):
        for case in load_case_file(path):
            cases[case.id] = {"case": case, "path": path, "text": path.read_text()}
    return cases


def test_each_type_gives_its_rule_on_the_reported_turn(project: Path, store: FeedbackStore) -> None:
    store.record("pii_leak", "it leaked an email", user_id="u-1", conversation=conversation())
    store.record("slow", "took ages", user_id="u-2", conversation=conversation())
    store.record("error", "it failed", user_id="u-3", conversation=conversation(), turn=1)
    store.record("wrong_answer", "wrong", user_id="u-4", conversation=conversation("Returns take 14 days."),
                 expected="30 days")
    result = llmops(project, "cases", "from-feedback", "feedback.jsonl", "--out", "eval_cases/regressions")
    assert result.returncode == 0, result.stderr
    cases = {c["case"].case.tags[-1]: c for c in generated(project / "eval_cases" / "regressions").values()}
    assert set(cases) == {"pii_leak", "slow", "error", "wrong_answer"}

    leak = cases["pii_leak"]["case"]
    assert len(leak.case.turns) == 2 and leak.case.turns[1].expect.no_pii is True
    assert cases["slow"]["case"].case.turns[1].expect.max_latency_ms == 1500  # the project's limit
    error = cases["error"]["case"]
    assert len(error.case.turns) == 1 and error.case.turns[0].expect.no_error is True
    wrong = cases["wrong_answer"]["case"].case.turns[1].expect
    # the wrong claim, however it is worded; and the right answer
    assert wrong.not_contains is None and wrong.contains == ["30 days"] and len(wrong.not_matches) == 1
    assert re.search(wrong.not_matches[0], "Returns take 14 days.")
    assert re.search(wrong.not_matches[0], "You have 14 Days to send it back")
    assert not re.search(wrong.not_matches[0], "Returns take 30 days.")
    for entry in cases.values():
        assert {"from-feedback", "needs-review"} <= set(entry["case"].tags)
    assert "4 case file(s) written" in result.stdout


def test_generated_cases_name_their_source_and_hold_no_personal_data(project: Path, store: FeedbackStore) -> None:
    record = store.record("pii_leak", "leaked jane.doe@example.com", user_id="u-secret-42",
                          conversation=conversation())
    assert llmops(project, "cases", "from-feedback", "--out", "out").returncode == 0
    [entry] = generated(project / "out").values()
    text = entry["text"]
    assert record.id in text and record.timestamp in text and record.id in entry["case"].case.description
    for personal in ("u-secret-42", "bob@example.org", "jane.doe@example.com", "415-555-0142"):
        assert personal not in text
    # what is sent to the bot carries realistic stand-ins, never labels: an echo is caught
    first, second = (turn.user for turn in entry["case"].case.turns)
    assert re.fullmatch(r"Hi, I'm [a-z]+\.[a-z]+\d\d@example\.(com|net|org)", first)
    assert re.fullmatch(r"Where is order 12345\? Call me on \(\d{3}\) 555-01\d\d", second)
    assert [[f.kind for f in PiiDetector().find(turn)] for turn in (first, second)] == [["email"], ["phone"]]


def test_other_types_and_records_without_conversation_are_skipped_with_reasons(project: Path,
                                                                              store: FeedbackStore) -> None:
    praise = store.record("praise", "lovely", user_id="u-1", conversation=conversation())
    bare = store.record("pii_leak", "no conversation given", user_id="u-1")
    unhelpful = store.record("unhelpful", "meh", user_id="u-1", conversation=conversation())
    result = llmops(project, "cases", "from-feedback", "--out", "out")
    assert result.returncode == 0
    assert f"skipped feedback {praise.id}: type 'praise' implies no rule" in result.stdout
    assert f"skipped feedback {unhelpful.id}: type 'unhelpful' implies no rule" in result.stdout
    assert f"skipped feedback {bare.id}: no conversation attached" in result.stdout
    assert not (project / "out").exists() or not list((project / "out").iterdir())


def test_same_conversation_and_rule_give_one_case_with_both_sources(project: Path, store: FeedbackStore) -> None:
    first = store.record("pii_leak", "leak", user_id="u-1", conversation=conversation())
    second = store.record("pii_leak", "same leak again", user_id="u-2", conversation=conversation())
    store.record("slow", "and slow", user_id="u-2", conversation=conversation())  # same conversation, other rule
    result = llmops(project, "cases", "from-feedback", "--out", "out")
    assert "2 case file(s) written" in result.stdout and "1 duplicate(s) merged" in result.stdout
    cases = generated(project / "out")
    [leak] = [c for c in cases.values() if "pii_leak" in c["case"].tags]
    assert first.id in leak["text"] and second.id in leak["text"]


def test_running_twice_writes_nothing_new_and_keeps_edited_files(project: Path, store: FeedbackStore) -> None:
    store.record("error", "failed", user_id="u-1", conversation=conversation())
    assert llmops(project, "cases", "from-feedback", "--out", "out").returncode == 0
    [path] = (project / "out").glob("*.yaml")
    reviewed = path.read_text().replace("  - needs-review\n", "")
    path.write_text(reviewed)  # a reviewer accepted it
    before = {p.name: p.stat().st_mtime_ns for p in (project / "out").iterdir()}
    again = llmops(project, "cases", "from-feedback", "--out", "out")
    assert again.returncode == 0 and "0 case file(s) written, 1 already present" in again.stdout
    assert f"exists {Path('out') / path.name}: kept as it is (--force to regenerate)" in again.stdout
    assert {p.name: p.stat().st_mtime_ns for p in (project / "out").iterdir()} == before
    assert path.read_text() == reviewed

    forced = llmops(project, "cases", "from-feedback", "--out", "out", "--force")
    assert forced.returncode == 0 and "(--force)" in forced.stdout
    assert "needs-review" in path.read_text()


def test_dry_run_shows_the_files_and_writes_nothing(project: Path, store: FeedbackStore) -> None:
    store.record("pii_leak", "leak", user_id="u-1", conversation=conversation())
    result = llmops(project, "cases", "from-feedback", "--out", "out", "--dry-run")
    assert result.returncode == 0
    assert "would write out/fb-no-pii-" in result.stdout and "no_pii: true" in result.stdout
    assert "1 case file(s) would be written" in result.stdout
    assert not (project / "out").exists()


def test_malformed_lines_are_reported_by_number_and_skipped(project: Path, store: FeedbackStore) -> None:
    store.record("error", "failed", user_id="u-1", conversation=conversation())
    with (project / "feedback.jsonl").open("a") as handle:
        handle.write('{"oops"\n')
        handle.write(json.dumps({"id": "x", "type": "error"}) + "\n")
    store.record("pii_leak", "leak", user_id="u-1", conversation=conversation())
    result = llmops(project, "cases", "from-feedback", "--out", "out")
    assert result.returncode == 0
    assert "feedback.jsonl:2: skipped: not valid JSON" in result.stderr
    assert "feedback.jsonl:3: skipped: not a feedback record" in result.stderr
    assert "2 case file(s) written" in result.stdout and "2 malformed line(s)" in result.stdout


def test_strict_fails_and_writes_nothing(project: Path, store: FeedbackStore) -> None:
    store.record("error", "failed", user_id="u-1", conversation=conversation())
    with (project / "feedback.jsonl").open("a") as handle:
        handle.write("garbage\n")
    result = llmops(project, "cases", "from-feedback", "--out", "out", "--strict")
    assert result.returncode == 1
    assert "feedback.jsonl:2: error: not valid JSON" in result.stderr and "nothing written (--strict)" in result.stderr
    assert not (project / "out").exists()


def test_missing_input_file_is_a_clear_error(project: Path) -> None:
    result = llmops(project, "cases", "from-feedback", "nope.jsonl", "--out", "out")
    assert result.returncode == 2 and "nope.jsonl: no such feedback file" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_temporary_files_are_left_behind(project: Path, store: FeedbackStore) -> None:
    for n in range(3):
        store.record("error", f"failed {n}", user_id="u-1", conversation=[{"user": f"question {n}"}])
    assert llmops(project, "cases", "from-feedback", "--out", "out").returncode == 0
    assert len(list((project / "out").glob("*.yaml"))) == 3
    assert not [p for p in (project / "out").iterdir() if p.suffix == ".tmp"]


def test_wrong_answer_never_forbids_a_masked_label() -> None:
    # "[EMAIL]" never appears in a real reply, so forbidding it would be a check that cannot fail
    assert forbidden_fragment("Write to [EMAIL] and we reply within 3 business days.") == \
        "and we reply within 3 business days"
    assert forbidden_fragment("[EMAIL]") is None
    assert forbidden_fragment("No.") == "No."


def test_wrong_answer_with_only_a_masked_reply_is_skipped(project: Path, store: FeedbackStore) -> None:
    record = store.record("wrong_answer", "wrong address", user_id="u-1",
                          conversation=[{"user": "Your email?", "reply": "jane.doe@example.com"}])
    result = llmops(project, "cases", "from-feedback", "--out", "out")
    assert f"skipped feedback {record.id}: wrong_answer without a usable wrong text" in result.stdout


def test_candidates_from_any_source_plan_and_dedup_the_same_way() -> None:
    source = Provenance("monitor", "m-1", "2026-11-25T10:00:00Z")
    one = RegressionCandidate(("hi",), "no_pii", {"no_pii": True}, source, id_prefix="mon")
    two = RegressionCandidate(("hi",), "no_pii", {"no_pii": True}, Provenance("monitor", "m-2", "2026-11-25"),
                              id_prefix="mon")
    other = RegressionCandidate(("hi",), "no_error", {"no_error": True}, source, id_prefix="mon")
    planned = plan_cases([one, two, other])
    assert [len(p.sources) for p in planned] == [2, 1]
    assert planned[0].case_id == f"mon-no-pii-{one.key}" and one.key == two.key != other.key


def test_generated_file_is_plain_yaml_with_the_case_contract(project: Path, store: FeedbackStore) -> None:
    store.record("slow", "slow", user_id="u-1", conversation=conversation())
    llmops(project, "cases", "from-feedback", "--out", "out")
    [path] = (project / "out").glob("*.yaml")
    data = yaml.safe_load(path.read_text())
    assert set(data) == {"cases"} and set(data["cases"][0]) == {"id", "description", "tags", "turns"}


def test_personal_data_kept_on_purpose_in_feedback_never_reaches_a_case(project: Path, store: FeedbackStore) -> None:
    store.record("wrong_answer", "wrong, and mail me at bob@example.org", user_id="u-1", keep_pii_reason="reply",
                 conversation=[{"user": "I'm bob@example.org, what's my refund?",
                                "reply": "Refund sent to jane.doe@example.com within 3 business days"}],
                 expected="Refunds go to your original payment method")
    assert "bob@example.org" in (project / "feedback.jsonl").read_text()  # kept, with a reason
    assert llmops(project, "cases", "from-feedback", "--out", "out").returncode == 0
    [entry] = generated(project / "out").values()
    assert "bob@example.org" not in entry["text"] and "jane.doe@example.com" not in entry["text"]
    assert "bob" not in entry["case"].case.turns[0].user  # a stand-in of the kind, never the kept value
    expect = entry["case"].turn_expects[0]
    assert [re.search(pattern, "within 3 business days") is not None for pattern in expect.not_matches] == [True]
    assert expect.contains == ["Refunds go to your original payment method"]


def test_a_source_note_cannot_break_out_of_the_header_comment(tmp_path: Path) -> None:
    from pytest_llmops.convert.core import write_cases
    from pytest_llmops.pii import PiiDetector
    note = "line one\ncases: []\n# more"
    sources = [Provenance("monitor", f"m-{n}", "2026-11-25T10:00:00Z", note) for n in range(25)]
    candidates = [RegressionCandidate(("hi",), "no_error", {"no_error": True}, source, id_prefix="mon")
                  for source in sources]
    [planned] = plan_cases(candidates)
    write_cases([planned], tmp_path, PiiDetector())
    [path] = tmp_path.glob("*.yaml")
    [case] = load_case_file(path)
    text = path.read_text()
    assert case.id == planned.case_id and "# source: monitor m-0 (2026-11-25T10:00:00Z): line one cases: []" in text
    assert "# ... and 5 more source(s)" in text and "and 24 more" in case.case.description


def test_pii_leak_without_a_turn_is_about_the_first_reply_that_leaked(project: Path, store: FeedbackStore) -> None:
    store.record("pii_leak", "it leaked", user_id="u-1",
                 conversation=[{"user": "Hello", "reply": "Hi!"},
                               {"user": "Where is order 12345?", "reply": "Ask jane.doe@example.com"},
                               {"user": "Thanks", "reply": "You're welcome!"}])
    assert llmops(project, "cases", "from-feedback", "--out", "out").returncode == 0
    [entry] = generated(project / "out").values()
    assert [turn.user for turn in entry["case"].case.turns] == ["Hello", "Where is order 12345?"]
    assert entry["case"].turn_expects[1].no_pii is True


def test_long_runs_list_the_first_skips_and_count_the_rest(project: Path, store: FeedbackStore) -> None:
    records = [{"schema_version": 1, "id": f"fb-{n}", "timestamp": "2026-11-25T10:00:00Z", "user_id": "u-1",
                "type": "praise" if n % 2 else "unhelpful", "message": "m"} for n in range(120)]
    (project / "feedback.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    result = llmops(project, "cases", "from-feedback", "--out", "out")
    assert result.returncode == 0
    assert result.stdout.count("skipped feedback fb-") == 50
    assert "... and 70 more skipped: " in result.stdout
    assert "35 x type 'praise' implies no rule" in result.stdout
    assert "35 x type 'unhelpful' implies no rule" in result.stdout
    assert "120 record(s) skipped" in result.stdout


def test_a_case_moved_into_the_suite_is_not_generated_again(project: Path, store: FeedbackStore) -> None:
    store.record("error", "failed", user_id="u-1", conversation=conversation())
    assert llmops(project, "cases", "from-feedback").returncode == 0  # default: eval_cases/regressions/
    [path] = (project / "eval_cases" / "regressions").glob("*.yaml")
    (project / "eval_cases" / "support").mkdir()
    moved = project / "eval_cases" / "support" / "accepted.yaml"
    path.rename(moved)  # a reviewer accepted it into the suite proper
    again = llmops(project, "cases", "from-feedback")
    assert "0 case file(s) written, 1 already present" in again.stdout
    assert f"exists {moved}: kept as it is" in again.stdout
    assert not list((project / "eval_cases" / "regressions").glob("*.yaml"))


def test_several_feedback_files_convert_together(project: Path, store: FeedbackStore) -> None:
    store.record("error", "failed", user_id="u-1", conversation=conversation())
    other = FeedbackStore.from_settings(load_settings(project), project / "support.jsonl")
    other.record("error", "same failure, other channel", user_id="u-2", conversation=conversation())
    other.record("slow", "slow", user_id="u-2", conversation=conversation())
    with (project / "support.jsonl").open("a") as handle:
        handle.write("not json\n")
    result = llmops(project, "cases", "from-feedback", "feedback.jsonl", "support.jsonl", "--out", "out")
    assert result.returncode == 0 and "support.jsonl:3: skipped: not valid JSON" in result.stderr
    assert "2 case file(s) written, 0 already present, 1 duplicate(s) merged" in result.stdout


def test_a_pattern_as_the_feedback_file_is_a_clear_config_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.llmops.privacy]\nfeedback = ["feedback-*.jsonl"]\n')
    result = llmops(tmp_path, "feedback", "--user-id", "u-1", "--type", "praise", "--message", "ok")
    assert result.returncode == 2 and "the first entry must be a file path" in result.stderr


def test_reports_of_one_conversation_are_worked_out_once_and_give_what_each_gives_alone() -> None:
    """The converter works a (conversation, report) out once and reuses it for every record asking the same:
    records differing in any field it reads must still give their own candidate, key and skip reason."""
    from itertools import product

    from pytest_llmops.convert.from_feedback import candidates_from_feedback
    from pytest_llmops.feedback.store import FeedbackRecord

    turns = [[{"user": "Where is order 12?", "reply": "It ships in 14 days."}],
             [{"user": "Where is order 12?", "reply": "Mail jane@example.com"}, {"user": "ok", "reply": "Bye"}],
             [{"user": "Where is order 12?", "reply": "It ships in 14 days.", "latency_ms": 9000.0}]]
    records = []
    for number, (kind, conversation, turn, bad_text, expected, system, target) in enumerate(product(
            ["wrong_answer", "pii_leak", "slow", "error", "praise"], turns, [None, 1], [None, "14 days"],
            [None, "30 days"], [None, "Be brief."], [None, "staging"])):
        if turn is not None and turn > len(conversation):
            continue
        records.append(FeedbackRecord(id=f"fb-{number}", user_id="u-1", type=kind, conversation=conversation,
                                      turn=turn, bad_text=bad_text, expected=expected, system=system, target=target,
                                      message=f"report {number}"))
    detector = PiiDetector()
    together, skipped_together = candidates_from_feedback(records, detector, 5000)
    alone = [candidates_from_feedback([record], detector, 5000) for record in records]
    assert [(c, c.key) for c in together] == [(c, c.key) for found, _ in alone for c in found]
    assert skipped_together == [skip for _, skipped in alone for skip in skipped]
    assert len({c.key for c in together}) > 20  # the fields above do change what is asked for

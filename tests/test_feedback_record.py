"""The feedback record, its minimisation, safe appends and reading back (Python API)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from datetime import datetime
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from pytest_llmops.config import load_settings
from pytest_llmops.errors import FeedbackError
from pytest_llmops.feedback.store import (FEEDBACK_TYPES, FeedbackRecord, FeedbackStore, feedback_json_schema,
                                          read_feedback, record_feedback)
from pytest_llmops.pii.storage import storage_detector
from pytest_llmops.pseudonym import is_pseudonym, pseudonymize

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "docs" / "feedback.schema.json"
KEY = "k" * 32


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[tool.llmops.pii]\nallowlist = ["support@acme.example"]\n')
    return tmp_path


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_record_carries_id_utc_timestamp_and_fields(project: Path) -> None:
    path = project / "feedback.jsonl"
    record = record_feedback("wrong_answer", "said 14 days", user_id="u-1042",
                             conversation=[{"user": "How long to return?", "reply": "14 days."}],
                             expected="30 days", path=path, settings=load_settings(project))
    [stored] = _lines(path)
    assert stored["id"] == record.id and stored["id"].startswith("fb-")
    assert stored["user_id"] == "u-1042" and stored["type"] == "wrong_answer"
    assert stored["conversation"] == [{"user": "How long to return?", "reply": "14 days."}]
    assert stored["expected"] == "30 days"
    moment = datetime.fromisoformat(stored["timestamp"])
    assert stored["timestamp"].endswith("Z") and moment.utcoffset().total_seconds() == 0


def test_default_path_is_the_project_feedback_file(project: Path) -> None:
    record_feedback("praise", "great", user_id="u-1", settings=load_settings(project))
    assert len(_lines(project / "feedback.jsonl")) == 1


@pytest.mark.parametrize("user_id, kind", [("jane.doe@example.com", "email address"),
                                           ("+44 20 7946 0958", "phone number"),
                                           ("415-555-0142", "phone number")])
def test_identifying_user_id_is_refused_and_nothing_stored(project: Path, user_id: str, kind: str) -> None:
    path = project / "feedback.jsonl"
    with pytest.raises(FeedbackError) as info:
        record_feedback("praise", "ok", user_id=user_id, path=path, settings=load_settings(project))
    assert kind in str(info.value) and "non-identifying" in str(info.value)
    assert user_id not in str(info.value)
    assert not path.exists()


def test_pii_in_text_is_masked_before_storage(project: Path) -> None:
    path = project / "feedback.jsonl"
    record_feedback("pii_leak", "it told me jane.doe@example.com and (415) 555-0142", user_id="u-7",
                    conversation=[{"user": "I am bob@example.org", "reply": "Hi, jane.doe@example.com here"}],
                    path=path, settings=load_settings(project))
    text = path.read_text()
    for value in ("jane.doe@example.com", "555-0142", "bob@example.org"):
        assert value not in text
    [stored] = _lines(path)
    assert stored["message"] == "it told me [EMAIL] and [PHONE]"
    assert stored["conversation"][0] == {"user": "I am [EMAIL]", "reply": "Hi, [EMAIL] here"}


def test_allowlisted_values_stay_readable(project: Path) -> None:
    path = project / "feedback.jsonl"
    record_feedback("other", "it said write to support@acme.example", user_id="u-7", path=path,
                    settings=load_settings(project))
    assert _lines(path)[0]["message"] == "it said write to support@acme.example"


def test_keep_pii_needs_a_reason_and_records_it(project: Path) -> None:
    path = project / "feedback.jsonl"
    settings = load_settings(project)
    with pytest.raises(FeedbackError, match="needs a reason"):
        record_feedback("other", "bob@example.org", user_id="u-1", keep_pii_reason=" ", path=path, settings=settings)
    record_feedback("other", "bob@example.org", user_id="u-1", keep_pii_reason="legal hold #12", path=path,
                    settings=settings)
    [stored] = _lines(path)
    assert stored["message"] == "bob@example.org" and stored["pii_kept_reason"] == "legal hold #12"


def test_user_id_is_pseudonymised_when_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.llmops.privacy]\npseudonymize = true\n")
    monkeypatch.setenv("LLMOPS_PSEUDONYM_KEY", KEY)
    record = record_feedback("praise", "nice", user_id="u-1042", settings=load_settings(tmp_path))
    [stored] = _lines(tmp_path / "feedback.jsonl")
    assert stored["user_id"] == record.user_id == pseudonymize("u-1042", KEY)
    assert is_pseudonym(stored["user_id"]) and "u-1042" not in (tmp_path / "feedback.jsonl").read_text()


def test_pseudonymising_without_the_key_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.llmops.privacy]\npseudonymize = true\n")
    monkeypatch.delenv("LLMOPS_PSEUDONYM_KEY", raising=False)
    with pytest.raises(Exception, match="LLMOPS_PSEUDONYM_KEY"):
        record_feedback("praise", "nice", user_id="u-1", settings=load_settings(tmp_path))
    assert not (tmp_path / "feedback.jsonl").exists()


@pytest.mark.parametrize("fields, message", [
    ({"type": "bogus"}, "type"),
    ({"turn": 3, "conversation": [{"user": "hi", "reply": "hello"}]}, "beyond the 1-turn conversation"),
    ({"turn": 1}, "no conversation"),
    ({"conversation": [{"reply": "orphan"}]}, "conversation turn 1: user"),
])
def test_bad_fields_are_refused_with_the_field_named(project: Path, fields: dict, message: str) -> None:
    arguments = {"type": "other", "message": "x", "user_id": "u-1", **fields}
    with pytest.raises(FeedbackError, match=message):
        FeedbackStore.from_settings(load_settings(project)).record(**arguments)
    assert not (project / "feedback.jsonl").exists()


def test_published_schema_is_current_and_accepts_stored_records(project: Path) -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == feedback_json_schema(), \
        "docs/feedback.schema.json is stale: regenerate with `llmops feedback --schema > docs/feedback.schema.json`"
    path = project / "feedback.jsonl"
    settings = load_settings(project)
    for kind in FEEDBACK_TYPES:
        record_feedback(kind, f"about {kind}", user_id="u-1", path=path, settings=settings,
                        conversation=[{"user": "hi", "reply": "hello", "latency_ms": 12.5}], turn=1)
    schema = json.loads(SCHEMA_FILE.read_text())
    for stored in _lines(path):
        jsonschema.validate(stored, schema, format_checker=jsonschema.FormatChecker())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**stored, "type": "bogus"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({k: v for k, v in stored.items() if k != "user_id"}, schema)


def test_corrupt_lines_never_stop_reading_or_appending(project: Path) -> None:
    path = project / "feedback.jsonl"
    settings = load_settings(project)
    record_feedback("praise", "first", user_id="u-1", path=path, settings=settings)
    with path.open("ab") as handle:
        handle.write(b'{"half a record\n[1, 2]\n\xff\xfe\n{"type": "praise"}\n{"torn": ')  # no newline at the end
    record_feedback("praise", "second", user_id="u-1", path=path, settings=settings)
    records, bad = read_feedback(path)
    assert [r.message for r in records] == ["first", "second"]
    assert [b.line for b in bad] == [2, 3, 4, 5, 6]
    assert "not valid JSON" in bad[0].reason and "not an object" in bad[1].reason
    assert "UTF-8" in bad[2].reason and "not a feedback record" in bad[3].reason and "user_id" in bad[3].reason


def test_read_reports_records_whose_user_id_is_personal_data(project: Path) -> None:
    path = project / "feedback.jsonl"
    good = FeedbackRecord(user_id="u-1", type="praise").to_json_dict()
    path.write_text(json.dumps({**good, "user_id": "jane@example.com"}) + "\n" + json.dumps(good) + "\n")
    records, bad = read_feedback(path)
    assert len(records) == 1 and bad[0].line == 1 and "email" in bad[0].reason
    assert "jane@example.com" not in bad[0].reason


def test_missing_feedback_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FeedbackError, match="no such feedback file"):
        read_feedback(tmp_path / "nope.jsonl")


WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from pytest_llmops.config import load_settings
    from pytest_llmops.feedback.store import FeedbackStore
    path, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = FeedbackStore.from_settings(load_settings(Path(path).parent), path)
    sys.stdin.read(1)  # start together
    for n in range(count):
        store.record("other", f"worker {worker} record {n} " + "x" * 200, user_id=f"u-{worker}")
""")


@pytest.fixture
def fast_dir(tmp_path: Path):
    """A folder in RAM when there is one: each append fsyncs, and on a slow disk 8000 serialised
    fsyncs take over half a minute; the test is about the lock and whole lines, not the disk."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="llmops-feedback-", dir=shm))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_eight_processes_appending_1000_records_each_leave_exactly_8000_valid_lines(fast_dir: Path) -> None:
    path = fast_dir / "feedback.jsonl"
    path.write_bytes(b"not json at all\n")  # a corrupt line already there never stops the appends
    workers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(w), "1000"], stdin=subprocess.PIPE)
               for w in range(8)]
    for worker in workers:
        worker.stdin.write(b"g")
        worker.stdin.close()
    assert [worker.wait(timeout=120) for worker in workers] == [0] * 8
    records, bad = read_feedback(path)
    assert len(records) == 8000 and [b.line for b in bad] == [1]
    assert len(path.read_bytes().splitlines()) == 8001
    assert len({r.id for r in records}) == 8000
    for worker in range(8):
        numbers = [int(r.message.split()[3]) for r in records if r.user_id == f"u-{worker}"]
        assert numbers == list(range(1000))  # each writer's records complete and in its order


def test_bulk_reading_leaves_the_garbage_collector_as_it_found_it(project: Path) -> None:
    import gc
    path = project / "feedback.jsonl"
    record_feedback("praise", "x", user_id="u-1", path=path, settings=load_settings(project))
    assert gc.isenabled()
    read_feedback(path)
    assert gc.isenabled()
    gc.disable()
    try:
        read_feedback(path)
        assert not gc.isenabled()
    finally:
        gc.enable()


# letters only around the value: a lone digit next to a phone number is the detector's business (tests/test_pii_*)
_words = st.text(alphabet=st.characters(whitelist_categories=("L", "Zs"), max_codepoint=0x2FF), max_size=30)
_emails = st.from_regex(r"[a-z][a-z0-9._]{0,10}[a-z0-9]@[a-z]{2,8}\.(com|org|net|io)", fullmatch=True)
_phones = st.from_regex(r"(\([2-9][0-8][0-9]\) |[2-9][0-8][0-9]-)[2-9][0-9]{2}-[0-9]{4}", fullmatch=True)


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=_words, secret=st.one_of(_emails, _phones), after=_words)
def test_personal_data_anywhere_in_the_text_never_reaches_the_file(project: Path, before: str, secret: str,
                                                                    after: str) -> None:
    path = project / "feedback.jsonl"
    path.unlink(missing_ok=True)
    text = f"{before} {secret} {after}"
    store = FeedbackStore(path, storage_detector())
    store.record("pii_leak", text, user_id="u-1", conversation=[{"user": text, "reply": text}],
                 expected=text, bad_text=text)
    assert secret not in path.read_text(encoding="utf-8")


def test_text_that_masking_would_grow_past_the_limit_is_refused(project: Path) -> None:
    text = "a@b.co " * 2857  # 19,999 characters; masked, each address grows by one character
    with pytest.raises(FeedbackError, match="message: String should have at most 20000 characters"):
        FeedbackStore.from_settings(load_settings(project)).record("other", text, user_id="u-1")
    assert not (project / "feedback.jsonl").exists()


def test_a_read_never_sees_an_append_half_written(project: Path) -> None:
    import threading

    from lock_waits import LockWaits
    from pytest_llmops import jsonl
    path = project / "feedback.jsonl"
    settings = load_settings(project)
    record_feedback("praise", "first", user_id="u-1", path=path, settings=settings)
    line = (jsonl.dumps(FeedbackRecord(user_id="u-2", type="slow", message="second").to_json_dict()) + "\n").encode()
    results: list = []
    with LockWaits() as waits, jsonl.lock_for(path):  # a writer in the middle of its append
        with path.open("ab") as handle:
            handle.write(line[:40])
        reader = threading.Thread(target=lambda: results.append(read_feedback(path)), name="feedback-reader")
        reader.start()
        # the race happened: the reader reached the lock while the line was half written, and waits
        assert waits.wait_for_refusal(Path(str(path) + jsonl.LOCK_SUFFIX), "feedback-reader"), waits.refusals
        assert results == []
        with path.open("ab") as handle:
            handle.write(line[40:])
    reader.join(timeout=20)
    [(records, bad)] = results
    assert [r.message for r in records] == ["first", "second"] and bad == []

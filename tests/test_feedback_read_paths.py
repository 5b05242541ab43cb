"""Reading feedback parses and validates each line in one pydantic step, and reads a refused line again the
slow way: every line must give exactly what ``json.loads`` and then validating gives (the same record, or the
same bad-line reason), whatever odd JSON a line holds."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from pydantic import ValidationError

from pytest_llmops import jsonl
from pytest_llmops.feedback.store import FEEDBACK_TYPES, BadRecord, FeedbackRecord, iter_feedback
from pytest_llmops.validation import one_line


def reference(path: Path) -> list[tuple[int, object]]:
    """What reading gave before: json.loads each line, then validate the dict."""
    found: list[tuple[int, object]] = []
    for line in jsonl.iter_lines(path):
        if line.record is None:
            found.append((line.number, BadRecord(line.number, line.bad.reason)))
            continue
        try:
            found.append((line.number, FeedbackRecord.model_validate(line.record)))
        except ValidationError as exc:
            found.append((line.number, BadRecord(line.number, f"not a feedback record ({one_line(exc, whole='record')})")))
    return found


def as_comparable(items: list[tuple[int, object]]) -> list[tuple[int, str, object]]:
    return [(number, type(item).__name__, item.model_dump() if isinstance(item, FeedbackRecord) else item)
            for number, item in items]


GOOD = {"id": "fb-1", "timestamp": "2026-11-25T10:41:31Z", "user_id": "u-1", "type": "wrong_answer"}
_odd_scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.integers(), st.floats(allow_nan=True),
                         st.text(max_size=8), st.sampled_from(["1", "1.0", "2026-11-25T10:41:31+00:00", "u-1", "",
                                                               " ", "jane@example.com", "x\ud800y", "\x00"]))
_turn = st.fixed_dictionaries({"user": st.one_of(st.text(max_size=12), _odd_scalars)},
                              optional={"reply": _odd_scalars, "latency_ms": _odd_scalars, "error": _odd_scalars,
                                        "extra": _odd_scalars})
_field_values = {
    "schema_version": _odd_scalars, "id": _odd_scalars, "timestamp": _odd_scalars, "user_id": _odd_scalars,
    "type": st.one_of(st.sampled_from(FEEDBACK_TYPES), _odd_scalars), "message": _odd_scalars,
    "conversation": st.one_of(st.lists(_turn, max_size=3), _odd_scalars), "turn": _odd_scalars,
    "expected": _odd_scalars, "target": _odd_scalars, "unknown": _odd_scalars,
}
_records = st.builds(lambda good, changes: {**good, **changes}, st.just(GOOD),
                     st.fixed_dictionaries({}, optional=_field_values))
_raw_lines = st.one_of(
    _records.map(lambda record: json.dumps(record).encode("utf-8", "surrogatepass")),
    _records.map(lambda record: json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    st.sampled_from([b'{"half', b"[1, 2]", b"\xff\xfe", b"null", b'"text"', b"{}", b'\xef\xbb\xbf{"id": 1}',
                     b'{"id": "fb-1", "id": "fb-2"}', b"{" * 3000 + b"}" * 3000, b'{"turn": ' + b"9" * 5000 + b"}"]),
    st.binary(max_size=40),
)


@hypothesis_settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_raw_lines, min_size=1, max_size=6))
def test_every_line_reads_as_json_loads_then_validating_reads_it(tmp_path: Path, lines: list[bytes]) -> None:
    path = tmp_path / "feedback.jsonl"
    path.write_bytes(b"\n".join(line.replace(b"\n", b" ").replace(b"\r", b" ") for line in lines) + b"\n")
    assert as_comparable(list(iter_feedback(path))) == as_comparable(reference(path))


def test_lines_only_python_reads_are_still_records_and_bad_lines_keep_their_reasons(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    good = json.dumps({**GOOD, "conversation": [{"user": "hi", "latency_ms": float("inf")}]})  # Infinity
    path.write_bytes(good.encode() + b'\n{"half\n' + json.dumps({**GOOD, "user_id": "jane@example.com"}).encode()
                     + b"\n")
    found = list(iter_feedback(path))
    assert isinstance(found[0][1], FeedbackRecord) and found[0][1].conversation[0].latency_ms == float("inf")
    assert found[1] == (2, BadRecord(2, "not valid JSON (Unterminated string starting at)"))
    assert found[2][0] == 3 and "email" in found[2][1].reason and "jane@example.com" not in found[2][1].reason
    assert as_comparable(found) == as_comparable(reference(path))

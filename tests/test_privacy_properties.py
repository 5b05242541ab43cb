"""Properties of erase and purge over arbitrary stores: exactly the subject's records go, every other line stays byte for byte."""

from __future__ import annotations

import json
import tempfile
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_llmops import jsonl
from pytest_llmops.privacy.operations import PrivacyProject, erase_user, purge_older_than

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
USERS = ["cust-1", "cust-2", "u-3"]

records = st.builds(
    lambda user, days, text: jsonl.dumps({"id": "x", "timestamp": (NOW - timedelta(days=days)).isoformat(),
                                          "user_id": user, "message": text}).encode(),
    st.sampled_from(USERS), st.integers(0, 60), st.text(max_size=20))
junk = st.binary(min_size=1, max_size=40).map(lambda b: b.replace(b"\n", b" ").replace(b"\r", b" ")) \
    .filter(lambda b: b.strip() != b"")
store_lines = st.lists(st.one_of(records, records, junk), max_size=40)


def _object(raw: bytes) -> dict | None:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


@contextmanager
def _project(lines: list[bytes]) -> Iterator[tuple[PrivacyProject, Path]]:
    with tempfile.TemporaryDirectory(prefix="privacy-prop-") as folder:
        root = Path(folder)
        (root / "pyproject.toml").write_text("[tool.llmops]\n")
        store = root / "feedback.jsonl"
        store.write_bytes(b"".join(line + b"\n" for line in lines))
        yield PrivacyProject.load(root, environ={}), store


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(store_lines, st.sampled_from(USERS))
def test_erase_removes_exactly_the_subjects_records(lines: list[bytes], user: str):
    with _project(lines) as (project, store):
        report = erase_user(project, user)
        content = store.read_bytes()
    expected = [line for line in lines if (_object(line) or {}).get("user_id") != user]
    assert content == b"".join(line + b"\n" for line in expected)
    assert report.total == len(lines) - len(expected)
    assert sum(len(o.bad_lines) for o in report.files) == sum(1 for line in lines if _object(line) is None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(store_lines, st.integers(1, 60))
def test_purge_removes_exactly_the_records_older_than_the_cutoff(lines: list[bytes], days: int):
    with _project(lines) as (project, store):
        purge_older_than(project, timedelta(days=days), f"{days}d", now=NOW)
        content = store.read_bytes()
    cutoff = NOW - timedelta(days=days)

    def old(line: bytes) -> bool:
        record = _object(line)
        stamp = record and record.get("timestamp")
        return isinstance(stamp, str) and datetime.fromisoformat(stamp) < cutoff

    assert content == b"".join(line + b"\n" for line in lines if not old(line))

"""The summary numbers: percentiles, error turns, counts, and the git facts shown with them."""

from __future__ import annotations

import os
import statistics
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_llmops.results import CaseResult
from pytest_llmops.record import target_info
from pytest_llmops.redaction import public_url
from pytest_llmops.report.run_info import git_info
from pytest_llmops.report.summary import build_summary, latency_summary, percentile


def test_percentile_interpolates_like_statistics_inclusive() -> None:
    values = sorted([12.0, 3.0, 7.0, 40.0, 5.0, 9.0, 100.0])
    expected = statistics.quantiles(values, n=100, method="inclusive")
    for q in (50, 95, 99):
        assert percentile(values, q) == pytest.approx(expected[q - 1])
    assert percentile([4.0], 95) == 4.0
    with pytest.raises(ValueError):
        percentile([], 50)


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=200))
def test_latency_percentiles_are_ordered_and_bounded(values: list[float]) -> None:
    summary = latency_summary(values)
    assert min(values) - 0.001 <= summary.p50 <= summary.p95 <= summary.p99 <= summary.max + 0.001
    assert summary.max == round(max(values), 3)


def test_no_replies_means_no_latency() -> None:
    assert latency_summary([]).model_dump() == {"p50": None, "p95": None, "p99": None, "max": None}


def _case(outcome: str, turns: list[dict]) -> CaseResult:
    return CaseResult.model_validate({"nodeid": f"x.yaml::{outcome}{len(turns)}", "case_id": "c", "file": "x.yaml",
                                      "passed": outcome == "passed", "turns": turns, "outcome": outcome})


def _turn(reply: str | None, latency: float, *failed: str, pii: tuple[str, ...] = ()) -> dict:
    checks = [{"check": name, "passed": name not in failed, "expected": "", "actual": "",
               "pii_kinds": list(pii) if name == "no_pii" else []} for name in ("no_error", "no_pii", "contains")]
    if reply is None:
        checks = [{"check": "reply", "passed": False, "expected": "a reply", "actual": "timeout"}]
    return {"turn": 1, "user": "u", "reply": reply, "latency_ms": latency, "checks": checks,
            "passed": not failed and reply is not None}


def test_summary_counts_outcomes_checks_pii_and_error_turns() -> None:
    cases = [
        _case("passed", [_turn("ok", 10), _turn("ok", 20)]),
        _case("failed", [_turn("leak", 30, "no_pii", pii=("email", "phone"))]),
        _case("failed", [_turn("an error occurred", 40, "no_error"), _turn(None, 5000)]),
        _case("skipped", []),
        _case("error", []),
    ]
    summary = build_summary(cases, collection_errors=2, pii_kinds=["email", "phone", "iban"])
    assert (summary.cases, summary.passed, summary.failed, summary.skipped, summary.errors) == (5, 1, 2, 1, 3)
    assert summary.pass_rate == 0.25  # 1 of the 4 that ran
    assert summary.turns == 5 and summary.error_rate == 0.4  # the error phrase and the fault
    assert summary.checks_failed == {"contains": 0, "no_error": 1, "no_pii": 1, "reply": 1}
    assert summary.pii_findings == {"email": 1, "iban": 0, "phone": 1}
    assert summary.latency_ms.max == 40  # the fault's 5000 ms is an error, not a reply time


def test_empty_run_summary() -> None:
    summary = build_summary([])
    assert (summary.cases, summary.pass_rate, summary.turns, summary.error_rate) == (0, 0.0, 0, 0.0)


def test_public_url_and_target_hide_credentials() -> None:
    assert public_url("https://me:pw@api.example.test:8443/v1?key=abc&x") == "https://api.example.test:8443/v1?key=***&x"
    target = target_info({"name": "prod", "kind": "openai", "base_url": "http://u:p@127.0.0.1:1/v1",
                            "api_key_env": "OPENAI_API_KEY", "options": {"token": "t", "model": "m"}}).model_dump()
    assert target == {"name": "prod", "kind": "openai", "url": None, "base_url": "http://127.0.0.1:1/v1",
                      "options": {"model": "m"}}


def _git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def test_git_info_from_a_real_repository(tmp_path: Path) -> None:
    assert git_info(tmp_path).model_dump() == {"commit": None, "branch": None, "dirty": None}
    _git(tmp_path, "init", "-q", "-b", "release")
    assert git_info(tmp_path).commit is None  # no commit yet
    (tmp_path / "a.txt").write_text("one")
    _git(tmp_path, "add", "a.txt")
    _git(tmp_path, "commit", "-q", "-m", "first")
    head = _git(tmp_path, "rev-parse", "HEAD")
    assert git_info(tmp_path).model_dump() == {"commit": head, "branch": "release", "dirty": False}
    (tmp_path / "a.txt").write_text("two")
    assert git_info(tmp_path).dirty is True
    _git(tmp_path, "checkout", "-q", "--detach")
    assert git_info(tmp_path).branch is None

"""`llmops privacy export|erase|rectify|purge` end to end: the CLI as a subprocess on a real project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pytest_llmops import jsonl
from pytest_llmops.feedback.store import record_feedback
from pytest_llmops.pseudonym import pseudonymize

KEY = "test-pseudonym-key-0123456789"


def llmops(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "LLMOPS_PSEUDONYM_KEY"}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "pytest_llmops.cli", *args], cwd=project, env=full_env,
                          capture_output=True, text=True, timeout=60)


def make_project(root: Path, privacy_toml: str = "") -> Path:
    (root / "pyproject.toml").write_text("[tool.llmops]\n[tool.llmops.privacy]\n" + textwrap.dedent(privacy_toml))
    (root / "eval_cases").mkdir()
    (root / "eval_cases" / "smoke.yaml").write_text(textwrap.dedent("""\
        cases:
          - id: hello
            turns:
              - user: "Hello there"
    """))
    return root


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def monitor_line(user_id: str, when: datetime, text: str = "where is my order?") -> dict:
    return {"timestamp": iso(when), "level": "INFO", "conversation_id": f"conv-{user_id}", "user_id": user_id,
            "user": text, "reply": "It ships today.", "latency_ms": 12.0, "findings": []}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = make_project(tmp_path)
    for n in range(6):
        record_feedback("wrong_answer", f"reply {n} was wrong, write to me at ann{n}@mail.example",
                        user_id=f"cust-{n % 3}", path=root / "feedback.jsonl")
    now = datetime.now(timezone.utc)
    jsonl.append_records(root / "chatbot_monitoring.log", [monitor_line(f"cust-{n % 3}", now) for n in range(9)])
    jsonl.append_records(root / "chatbot_monitoring.log.1", [monitor_line("cust-1", now - timedelta(days=2))] * 4)
    jsonl.append_records(root / "chatbot_monitoring.log.2", [monitor_line("cust-2", now - timedelta(days=5))] * 3)
    return root


def user_ids(path: Path) -> list[str]:
    return [record["user_id"] for record in jsonl.read_records(path)[0]]


# ---------------------------------------------------------------- export

def test_export_gathers_every_record_of_the_user_from_every_store(project: Path):
    out = project / "sar" / "cust-1.json"
    proc = llmops(project, "privacy", "export", "--user-id", "cust-1", "--out", str(out), "--ticket", "SAR-7")
    assert proc.returncode == 0, proc.stderr
    document = json.loads(out.read_text())
    assert document["user_id"] == "cust-1" and document["total_records"] == 2 + 3 + 4
    by_path = {store["path"]: store["records"] for store in document["stores"]}
    assert set(by_path) == {"feedback.jsonl", "chatbot_monitoring.log", "chatbot_monitoring.log.1",
                            "chatbot_monitoring.log.2"}
    assert [len(by_path[p]) for p in sorted(by_path)] == [3, 4, 0, 2]
    assert all(r["user_id"] == "cust-1" for records in by_path.values() for r in records)
    assert (out.stat().st_mode & 0o777) == 0o600  # the export is personal data
    assert "no user ids" in proc.stdout and "9 record(s) exported" in proc.stdout
    audit = jsonl.read_records(project / "privacy_audit.jsonl")[0]
    assert audit[-1]["action"] == "export" and audit[-1]["ticket"] == "SAR-7" and audit[-1]["records"] == 9
    assert "cust-1" not in (project / "privacy_audit.jsonl").read_text()
    assert user_ids(project / "feedback.jsonl").count("cust-1") == 2  # export changes nothing


def test_export_to_stdout_is_one_json_document_and_the_summary_goes_to_stderr(project: Path):
    proc = llmops(project, "privacy", "export", "--user-id", "cust-0")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["total_records"] == 2 + 3
    assert "exported" in proc.stderr


def test_export_of_an_unknown_user_is_empty_not_an_error(project: Path):
    proc = llmops(project, "privacy", "export", "--user-id", "nobody-here")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["total_records"] == 0


# ---------------------------------------------------------------- erase

def test_erase_dry_run_counts_and_changes_nothing(project: Path):
    before = {p.name: p.read_bytes() for p in project.iterdir() if p.is_file()}
    proc = llmops(project, "privacy", "erase", "--user-id", "cust-1", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "feedback.jsonl: 2 to erase, 4 kept" in proc.stdout
    assert "chatbot_monitoring.log.1: 4 to erase, 0 kept" in proc.stdout
    assert "9 record(s) to erase (dry run: nothing changed)" in proc.stdout
    after = {p.name: p.read_bytes() for p in project.iterdir() if p.is_file()}
    assert after == before  # no audit line either


def test_erase_removes_the_user_everywhere_keeps_everyone_else_and_audits(project: Path):
    others_before = {name: [r for r in jsonl.read_records(project / name)[0] if r["user_id"] != "cust-1"]
                     for name in ("feedback.jsonl", "chatbot_monitoring.log", "chatbot_monitoring.log.2")}
    proc = llmops(project, "privacy", "erase", "--user-id", "cust-1", "--ticket", "DEL-1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for line in ("feedback     feedback.jsonl: 2 erased, 4 kept",
                 "monitor_log  chatbot_monitoring.log: 3 erased, 6 kept",
                 "monitor_log  chatbot_monitoring.log.1: 4 erased, 0 kept",
                 "monitor_log  chatbot_monitoring.log.2: 0 erased, 3 kept",
                 "results      0 file(s) checked: no user ids",
                 "cases        1 file(s) checked: no user ids",
                 "total: 9 record(s) erased; audit line in privacy_audit.jsonl"):
        assert line in proc.stdout
    for name, others in others_before.items():
        assert jsonl.read_records(project / name)[0] == others
    assert jsonl.read_records(project / "chatbot_monitoring.log.1") == ([], [])
    assert not list(project.glob(".*.tmp"))
    audit = jsonl.read_records(project / "privacy_audit.jsonl")[0][-1]
    assert audit["action"] == "erase" and audit["records"] == 9 and audit["complete"] is True
    assert audit["stores"] == {"feedback.jsonl": 2, "chatbot_monitoring.log": 3,
                               "chatbot_monitoring.log.1": 4, "chatbot_monitoring.log.2": 0}
    assert "cust-1" not in (project / "privacy_audit.jsonl").read_text()
    assert "reply" not in json.dumps(audit)  # what was erased is not copied into the audit


def test_erase_again_finds_nothing(project: Path):
    assert llmops(project, "privacy", "erase", "--user-id", "cust-2").returncode == 0
    proc = llmops(project, "privacy", "erase", "--user-id", "cust-2", "--json")
    assert json.loads(proc.stdout)["total"] == 0


def test_corrupt_lines_are_kept_and_reported_and_one_naming_the_user_needs_review(project: Path):
    feedback = project / "feedback.jsonl"
    with feedback.open("ab") as handle:
        handle.write(b'{"user_id": "cust-1", "type": "err\n')  # torn: mentions the user
        handle.write(b"\xff\xfe binary junk\n")
        handle.write(b"[1, 2, 3]\n")
    proc = llmops(project, "privacy", "erase", "--user-id", "cust-1")
    assert proc.returncode == 1  # erased what it could, but a human must look at line 7
    assert "feedback.jsonl:7: corrupt line kept (not valid JSON" in proc.stdout
    assert "mentions this user: inspect it by hand" in proc.stdout
    assert "feedback.jsonl:8: corrupt line kept (not valid UTF-8)" in proc.stdout
    assert "feedback.jsonl:9: corrupt line kept (a JSON list, not an object)" in proc.stdout
    raw = feedback.read_bytes()
    assert b'"type": "err' in raw and b"\xff\xfe binary junk" in raw and b"[1, 2, 3]" in raw
    audit = jsonl.read_records(project / "privacy_audit.jsonl")[0][-1]
    assert audit["complete"] is False and audit["left_for_review"] == ["feedback.jsonl:7"]

    proc = llmops(project, "privacy", "erase", "--user-id", "cust-1", "--include-corrupt")
    assert proc.returncode == 0, proc.stdout
    assert "corrupt line mentioning this user erased" in proc.stdout
    raw = feedback.read_bytes()
    assert b"cust-1" not in raw and b"\xff\xfe binary junk" in raw and b"[1, 2, 3]" in raw


def test_results_and_case_files_holding_a_user_id_are_flagged(project: Path):
    (project / "results.json").write_text(json.dumps({"schema": 1, "cases": [{"case_id": "x", "user_id": "cust-1"}]}))
    (project / "eval_cases" / "regressions").mkdir()
    (project / "eval_cases" / "regressions" / "fb.yaml").write_text(
        "cases:\n  - id: r1\n    description: reported by cust-1\n    turns:\n      - user: hi\n")
    (project / "eval_cases" / "regressions" / "fb2.yaml").write_text(
        "# source: feedback fb-1 (2026-11-20): cust-1 says hi\ncases:\n  - id: r2\n    turns:\n      - user: hi\n")
    proc = llmops(project, "privacy", "erase", "--user-id", "cust-1")
    assert proc.returncode == 1
    assert "results      1 file(s) checked: 1 need review" in proc.stdout
    assert "results.json: holds a user id at $.cases[0].user_id" in proc.stdout
    assert "cases        3 file(s) checked: 2 need review" in proc.stdout
    assert "eval_cases/regressions/fb.yaml: holds a user id at $.cases[0].description" in proc.stdout
    assert "eval_cases/regressions/fb2.yaml: holds a user id at line 1 (comment)" in proc.stdout
    audit = jsonl.read_records(project / "privacy_audit.jsonl")[0][-1]
    assert sorted(audit["left_for_review"]) == ["eval_cases/regressions/fb.yaml", "eval_cases/regressions/fb2.yaml",
                                                "results.json"]


def test_a_real_results_file_from_a_run_holds_no_user_id(project: Path):
    run = subprocess.run([sys.executable, "-m", "pytest", "--llmops", "-p", "no:cacheprovider",
                          "--llmops-results", "results.json"], cwd=project, capture_output=True, text=True)
    assert (project / "results.json").is_file(), run.stdout + run.stderr
    proc = llmops(project, "privacy", "erase", "--user-id", "cust-1", "--dry-run")
    assert "results      1 file(s) checked: no user ids" in proc.stdout


@pytest.mark.parametrize("user_turn, clean", [
    ("What is my email address?", True),
    ("What is my email? My customer id is cust-1042", False),  # the user typed the id: it reaches the case
])
def test_cases_generated_from_feedback_are_checked_for_user_ids(tmp_path: Path, user_turn: str, clean: bool):
    root = make_project(tmp_path)
    record_feedback("pii_leak", "it showed me an address", user_id="cust-1042", path=root / "feedback.jsonl",
                    conversation=[{"user": user_turn, "reply": "It is ann@mail.example"}])
    proc = llmops(root, "cases", "from-feedback")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    generated = sorted((root / "eval_cases" / "regressions").glob("*.yaml"))
    assert len(generated) == 1
    proc = llmops(root, "privacy", "erase", "--user-id", "cust-1042", "--dry-run")
    if clean:
        assert proc.returncode == 0, proc.stdout
        assert "cases        2 file(s) checked: no user ids" in proc.stdout
    else:
        assert proc.returncode == 1, proc.stdout
        assert f"{generated[0].relative_to(root)}: holds a user id at $.cases[0].turns[0].user" in proc.stdout


def test_compressed_rotated_log_is_reported_as_not_searched(project: Path):
    (project / "chatbot_monitoring.log.3.gz").write_bytes(b"\x1f\x8b not really")
    proc = llmops(project, "privacy", "erase", "--user-id", "cust-1")
    assert proc.returncode == 1
    assert "not searched: chatbot_monitoring.log.3.gz is compressed" in proc.stdout


def test_stores_follow_the_config_and_the_monitor_log_file(tmp_path: Path):
    root = make_project(tmp_path, 'feedback = ["data/fb-*.jsonl"]\n')
    with (root / "pyproject.toml").open("a") as handle:
        handle.write('[tool.llmops.monitor]\nlog_file = "logs/bot.log"\n')
    now = datetime.now(timezone.utc)
    jsonl.append_records(root / "data" / "fb-a.jsonl", [{"id": "a", "timestamp": iso(now), "user_id": "cust-9"}])
    jsonl.append_records(root / "data" / "fb-b.jsonl", [{"id": "b", "timestamp": iso(now), "user_id": "cust-9"}])
    jsonl.append_records(root / "logs" / "bot.log.2026-11-24", [monitor_line("cust-9", now)])
    jsonl.append_records(root / "chatbot_monitoring.log", [monitor_line("cust-9", now)])  # not configured
    proc = llmops(root, "privacy", "erase", "--user-id", "cust-9")
    assert proc.returncode == 0, proc.stderr
    assert "data/fb-a.jsonl: 1 erased" in proc.stdout and "data/fb-b.jsonl: 1 erased" in proc.stdout
    assert "logs/bot.log.2026-11-24: 1 erased" in proc.stdout
    assert "chatbot_monitoring.log" not in proc.stdout


# ---------------------------------------------------------------- pseudonymous ids

def test_pseudonymised_stores_are_exported_and_erased_by_the_raw_id(tmp_path: Path):
    root = make_project(tmp_path, "pseudonymize = true\n")
    env = {"LLMOPS_PSEUDONYM_KEY": KEY}
    writer = textwrap.dedent("""\
        from pytest_llmops.feedback.store import record_feedback
        from pytest_llmops.monitor.service import Monitor
        record_feedback("slow", "took ages", user_id="cust-7")
        record_feedback("praise", "great", user_id="cust-8")
        with Monitor(console=False) as monitor:
            monitor.record("hi", "hello", 10.0, user_id="cust-7", conversation_id="c1")
            monitor.record("hi", "hello", 10.0, user_id="cust-8", conversation_id="c2")
    """)
    proc = subprocess.run([sys.executable, "-c", writer], cwd=root, env={**os.environ, **env},
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    stored = (root / "feedback.jsonl").read_text() + (root / "chatbot_monitoring.log").read_text()
    assert "cust-7" not in stored and pseudonymize("cust-7", KEY) in stored  # logs never carry the raw id

    proc = llmops(root, "privacy", "export", "--user-id", "cust-7", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["total_records"] == 2

    proc = llmops(root, "privacy", "erase", "--user-id", "cust-7", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "total: 2 record(s) erased" in proc.stdout
    assert user_ids(root / "feedback.jsonl") == [pseudonymize("cust-8", KEY)]
    assert user_ids(root / "chatbot_monitoring.log") == [pseudonymize("cust-8", KEY)]
    audit = jsonl.read_records(root / "privacy_audit.jsonl")[0][-1]
    assert audit["subject"] == pseudonymize("cust-7", KEY)  # the audit names the pseudonym, never the raw id


def test_erase_without_the_key_when_ids_are_pseudonymised_is_a_clear_error(tmp_path: Path):
    root = make_project(tmp_path, 'pseudonymize = true\npseudonym_key_env = "ACME_PSEUDO_KEY"\n')
    jsonl.append_record(root / "feedback.jsonl", {"id": "a", "user_id": pseudonymize("cust-7", KEY)})
    before = (root / "feedback.jsonl").read_bytes()
    proc = llmops(root, "privacy", "erase", "--user-id", "cust-7")
    assert proc.returncode == 2
    assert "ACME_PSEUDO_KEY" in proc.stderr and "not set" in proc.stderr
    assert (root / "feedback.jsonl").read_bytes() == before


# ---------------------------------------------------------------- rectify

def test_rectify_corrects_one_record_in_place_masks_pii_and_audits(project: Path):
    records = jsonl.read_records(project / "feedback.jsonl")[0]
    target = records[2]
    proc = llmops(project, "privacy", "rectify", "--record-id", target["id"],
                  "--set", "message=My order number was wrong; call +44 20 7946 0958", "--set", "type=unhelpful")
    assert proc.returncode == 0, proc.stderr
    assert "feedback.jsonl: 1 corrected, 5 kept" in proc.stdout
    after = jsonl.read_records(project / "feedback.jsonl")[0]
    assert [r["id"] for r in after] == [r["id"] for r in records]  # same order, same records
    assert after[2]["message"] == "My order number was wrong; call [PHONE]"
    assert after[2]["type"] == "unhelpful" and after[2]["timestamp"] == target["timestamp"]
    assert after[:2] + after[3:] == records[:2] + records[3:]
    audit = jsonl.read_records(project / "privacy_audit.jsonl")[0][-1]
    assert audit["action"] == "rectify" and audit["fields"] == ["message", "type"]
    assert "wrong" not in json.dumps(audit)  # field names, not values


def test_rectify_user_id_is_pseudonymised_and_identifying_ids_refused(tmp_path: Path):
    root = make_project(tmp_path, "pseudonymize = true\n")
    env = {"LLMOPS_PSEUDONYM_KEY": KEY}
    jsonl.append_record(root / "feedback.jsonl", {"id": "fb-1", "timestamp": "2026-11-01T00:00:00Z",
                                                  "user_id": pseudonymize("wrong-user", KEY), "type": "other"})
    proc = llmops(root, "privacy", "rectify", "--record-id", "fb-1", "--set", "user_id=cust-3", env=env)
    assert proc.returncode == 0, proc.stderr
    assert user_ids(root / "feedback.jsonl") == [pseudonymize("cust-3", KEY)]
    proc = llmops(root, "privacy", "rectify", "--record-id", "fb-1", "--set", "user_id=ann@mail.example", env=env)
    assert proc.returncode == 2 and "email address" in proc.stderr and "ann@mail.example" not in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["--record-id", "fb-missing", "--set", "type=other"], "no feedback record with id 'fb-missing'"),
    (["--record-id", "{id}", "--set", "id=fb-2"], "field 'id' cannot be rectified"),
    (["--record-id", "{id}", "--set", "timestamp=2020-01-01T00:00:00Z"], "field 'timestamp' cannot be rectified"),
    (["--record-id", "{id}", "--set", "type=nonsense"], "type: Input should be"),
    (["--record-id", "{id}", "--set", "colour=red"], "colour: unknown field"),
    (["--record-id", "{id}", "--set", "no-equals-sign"], "expected field=value"),
    (["--record-id", "{id}", "--set", "turn:={bad json"], "not valid JSON"),
])
def test_rectify_bad_requests_are_clear_errors_and_change_nothing(project: Path, args: list[str], message: str):
    record_id = jsonl.read_records(project / "feedback.jsonl")[0][0]["id"]
    before = (project / "feedback.jsonl").read_bytes()
    proc = llmops(project, "privacy", "rectify", *[a.replace("{id}", record_id) for a in args])
    assert proc.returncode == 2, proc.stdout
    assert message in proc.stderr
    assert (project / "feedback.jsonl").read_bytes() == before
    audit = jsonl.read_records(project / "privacy_audit.jsonl")[0] if (project / "privacy_audit.jsonl").exists() else []
    assert [line["status"] for line in audit] in ([], ["started", "failed"])
    assert all(message not in json.dumps(line) or line["status"] == "failed" for line in audit)


def test_rectify_a_legacy_record_changes_only_existing_fields(tmp_path: Path):
    root = make_project(tmp_path)
    jsonl.append_record(root / "feedback.jsonl", {"id": "old-1", "user_id": "cust-1", "feedback": "bad", "n": 1})
    proc = llmops(root, "privacy", "rectify", "--record-id", "old-1", "--set", "feedback=fine", "--set", "n:=2")
    assert proc.returncode == 0, proc.stderr
    assert jsonl.read_records(root / "feedback.jsonl")[0] == [
        {"id": "old-1", "user_id": "cust-1", "feedback": "fine", "n": 2}]
    proc = llmops(root, "privacy", "rectify", "--record-id", "old-1", "--set", "extra=1")
    assert proc.returncode == 2 and "has no field(s) extra" in proc.stderr


# ---------------------------------------------------------------- purge

def test_purge_drops_only_old_records_keeps_undated_and_corrupt(project: Path):
    old = datetime.now(timezone.utc) - timedelta(days=40)
    jsonl.append_records(project / "feedback.jsonl", [
        {"id": "old", "timestamp": iso(old), "user_id": "cust-5", "type": "other"},
        {"id": "epoch", "timestamp": old.timestamp(), "user_id": "cust-5"},
        {"id": "undated", "user_id": "cust-5"},
        {"id": "bad-date", "timestamp": "yesterday", "user_id": "cust-5"}])
    with (project / "feedback.jsonl").open("a") as handle:
        handle.write("{not json\n")
    proc = llmops(project, "privacy", "purge", "--older-than", "30d", "--dry-run")
    assert "feedback.jsonl: 2 to purge, 8 kept (2 without a usable timestamp, kept)" in proc.stdout
    proc = llmops(project, "privacy", "purge", "--older-than", "3d")
    assert proc.returncode == 0, proc.stderr
    assert "feedback.jsonl: 2 purged, 8 kept (2 without a usable timestamp, kept)" in proc.stdout
    assert "chatbot_monitoring.log.2: 3 purged, 0 kept" in proc.stdout
    assert "chatbot_monitoring.log.1: 0 purged, 4 kept" in proc.stdout
    assert "feedback.jsonl:11: corrupt line kept" in proc.stdout
    ids = [r["id"] for r in jsonl.read_records(project / "feedback.jsonl")[0]]
    assert "old" not in ids and "epoch" not in ids and {"undated", "bad-date"} <= set(ids)
    audit = jsonl.read_records(project / "privacy_audit.jsonl")[0][-1]
    assert audit["action"] == "purge" and audit["older_than"] == "3d" and audit["records"] == 5


def test_purge_uses_retention_days_from_the_config(tmp_path: Path):
    root = make_project(tmp_path, "retention_days = 30\n")
    now = datetime.now(timezone.utc)
    jsonl.append_records(root / "feedback.jsonl", [
        {"id": "a", "timestamp": iso(now - timedelta(days=31)), "user_id": "c"},
        {"id": "b", "timestamp": iso(now - timedelta(days=29)), "user_id": "c"}])
    proc = llmops(root, "privacy", "purge")
    assert proc.returncode == 0, proc.stderr
    assert "retention: older than 30d" in proc.stdout
    assert [r["id"] for r in jsonl.read_records(root / "feedback.jsonl")[0]] == ["b"]


@pytest.mark.parametrize("args, message", [
    ([], "no retention period: pass --older-than"),
    (["--older-than", "30"], "expected a positive number and a unit"),
    (["--older-than", "0d"], "expected a positive number and a unit"),
    (["--older-than", "thirty days"], "expected a positive number and a unit"),
])
def test_purge_bad_age_is_a_clear_error(project: Path, args: list[str], message: str):
    before = (project / "feedback.jsonl").read_bytes()
    proc = llmops(project, "privacy", "purge", *args)
    assert proc.returncode == 2 and message in proc.stderr
    assert (project / "feedback.jsonl").read_bytes() == before


def test_unknown_privacy_setting_is_a_clear_error(tmp_path: Path):
    root = make_project(tmp_path, "retention = 30\n")
    proc = llmops(root, "privacy", "purge", "--older-than", "1d")
    assert proc.returncode == 2 and "unknown key 'retention'" in proc.stderr


@pytest.mark.parametrize("action", ["export", "erase"])
def test_empty_user_id_is_refused(project: Path, action: str):
    before = (project / "feedback.jsonl").read_bytes()
    proc = llmops(project, "privacy", action, "--user-id", " ")
    assert proc.returncode == 2 and "--user-id must not be empty" in proc.stderr
    assert (project / "feedback.jsonl").read_bytes() == before


def test_absolute_store_paths_and_globs_work(tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    (tmp_path / "project").mkdir()
    root = make_project(tmp_path / "project", f'feedback = ["{elsewhere}/*.jsonl"]\nmonitor_logs = ["{elsewhere}/bot.log"]\n')
    jsonl.append_record(elsewhere / "fb.jsonl", {"id": "a", "user_id": "cust-4"})
    jsonl.append_record(elsewhere / "bot.log.1", monitor_line("cust-4", datetime.now(timezone.utc)))
    proc = llmops(root, "privacy", "erase", "--user-id", "cust-4")
    assert proc.returncode == 0, proc.stderr
    assert f"{elsewhere}/fb.jsonl: 1 erased" in proc.stdout and f"{elsewhere}/bot.log.1: 1 erased" in proc.stdout


def test_no_stores_yet_is_fine(tmp_path: Path):
    proc = llmops(make_project(tmp_path), "privacy", "erase", "--user-id", "cust-1")
    assert proc.returncode == 0 and "no JSON Lines store exists yet" in proc.stdout

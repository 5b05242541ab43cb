"""Finding the stores (rotated logs, compressed ones) and the rewrite details privacy relies on."""

from __future__ import annotations

import os
from pathlib import Path


from pytest_llmops import jsonl
from pytest_llmops.privacy.operations import PrivacyProject, erase_user
from pytest_llmops.monitor.rotation import rotated_siblings
from pytest_llmops.privacy.stores import check_document
from tooling import missing_procfs, require


def test_rotated_siblings_in_rotation_order_and_compressed_apart(tmp_path: Path):
    log = tmp_path / "chatbot_monitoring.log"
    names = ["chatbot_monitoring.log.10", "chatbot_monitoring.log.2", "chatbot_monitoring.log.1",
             "chatbot_monitoring.log.2026-11-24", "chatbot_monitoring.log.3.gz", "chatbot_monitoring.log.lock",
             ".chatbot_monitoring.log.abc.tmp", "chatbot_monitoring.log.bak", "chatbot_monitoring.logger"]
    for name in names:
        (tmp_path / name).write_text("")
    plain, packed = rotated_siblings(log)
    assert [p.name for p in plain] == ["chatbot_monitoring.log.2026-11-24", "chatbot_monitoring.log.1",
                                       "chatbot_monitoring.log.2", "chatbot_monitoring.log.10"]
    assert [p.name for p in packed] == ["chatbot_monitoring.log.3.gz"]


def test_an_erase_that_removes_nothing_leaves_the_file_untouched(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[tool.llmops]\n")
    store = tmp_path / "feedback.jsonl"
    jsonl.append_records(store, [{"id": "a", "user_id": "cust-1"}, {"id": "b", "user_id": "cust-2"}])
    inode = os.stat(store).st_ino
    report = erase_user(PrivacyProject.load(tmp_path, environ={}), "cust-3")
    assert report.total == 0
    assert os.stat(store).st_ino == inode  # not replaced: a tail -f on it sees no rotation
    erase_user(PrivacyProject.load(tmp_path, environ={}), "cust-2")
    assert os.stat(store).st_ino != inode
    assert not list(tmp_path.glob(".feedback.jsonl.*.tmp"))


def test_a_rewrite_keeps_the_file_mode(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[tool.llmops]\n")
    store = tmp_path / "feedback.jsonl"
    jsonl.append_records(store, [{"id": "a", "user_id": "cust-1"}, {"id": "b", "user_id": "cust-2"}])
    os.chmod(store, 0o640)
    erase_user(PrivacyProject.load(tmp_path, environ={}), "cust-1")
    assert os.stat(store).st_mode & 0o777 == 0o640


def test_write_file_atomic_replaces_whole_file_with_given_mode(tmp_path: Path):
    target = tmp_path / "out" / "export.json"
    jsonl.write_file_atomic(target, b"first")
    jsonl.write_file_atomic(target, b"second", mode=0o600)
    assert target.read_bytes() == b"second" and os.stat(target).st_mode & 0o777 == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["export.json"]


def test_unreadable_documents_are_reported_not_passed(tmp_path: Path):
    bad_json = tmp_path / "results.json"
    bad_json.write_text("{not json")
    bad_yaml = tmp_path / "case.yaml"
    bad_yaml.write_bytes(b"cases: [\xff\xfe")
    for path, kind in ((bad_json, "results"), (bad_yaml, "cases")):
        check = check_document(path, {"cust-1"}, kind)
        assert not check.clean and "cannot parse" in (check.unreadable or "")


def test_short_ids_count_only_as_exact_values(tmp_path: Path):
    case = tmp_path / "case.yaml"
    case.write_text("cases:\n  - id: c\n    description: waited 42 days\n    turns:\n      - user: '42'\n")
    assert check_document(case, {"42"}, "cases").places == ["$.cases[0].turns[0].user"]


def test_a_broad_glob_never_turns_the_audit_log_into_a_store(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text('[tool.llmops.privacy]\nfeedback = ["*.jsonl"]\n')
    jsonl.append_record(tmp_path / "feedback.jsonl", {"id": "a", "timestamp": "2020-01-01T00:00:00Z", "user_id": "c"})
    project = PrivacyProject.load(tmp_path, environ={})
    erase_user(project, "c")  # writes audit lines
    assert [f.path.name for f in project.refresh().jsonl_files] == ["feedback.jsonl"]


def test_a_rewrite_fsyncs_the_temp_file_beside_the_store_before_the_rename_then_the_folder(tmp_path: Path,
                                                                                         monkeypatch):
    require(missing_procfs())  # names open files through /proc
    # A power cut cannot be staged here, so watch the calls (each still does its real work).
    (tmp_path / "pyproject.toml").write_text("[tool.llmops]\n")
    store = tmp_path / "feedback.jsonl"
    jsonl.append_records(store, [{"id": "a", "user_id": "cust-1"}, {"id": "b", "user_id": "cust-2"}])
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst) -> None:
        events.append(("replace", f"{src} -> {dst}"))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    erase_user(PrivacyProject.load(tmp_path, environ={}), "cust-1")
    rename = next(i for i, (kind, _) in enumerate(events) if kind == "replace")
    source = events[rename][1].split(" -> ")[0]
    assert Path(source).parent == tmp_path and Path(source).name.startswith(".feedback.jsonl.")
    assert ("fsync", source) in events[:rename]  # the new content is on disk before it takes the name
    assert ("fsync", str(tmp_path)) in events[rename:]  # and the rename itself is made durable

"""Full disks and read-only folders, for real: every command that writes fails clearly, leaves nothing torn.

A 1 MiB tmpfs filled to the last byte stands for a full disk; a tmpfs remounted
read-only (or a ``chmod a-w`` folder when not root) for a read-only folder. Each
command is the real ``llmops`` (or ``pytest``) process: a clear one-line error, a
non-zero exit, no traceback, and every file exactly as it was (no partial line, no
partial file, no temporary file left).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_llmops import jsonl
from pytest_llmops.cases import load_case_file
from pytest_llmops.errors import StorageError
from pytest_llmops.feedback.store import record_feedback
from disk_support import fill, read_only_folder, small_disk  # noqa: F401 - fixtures
from feedback_support import llmops
from monitor_support import interaction, write_jsonl

LONG_MESSAGE = "The bot told me the wrong return window, twice, and then it " + "kept repeating itself. " * 250  # past the free room of the file's last page: a short write
BEFORE_FEEDBACK = [("wrong_answer", "It said 14 days; the policy says 30."), ("slow", "Took ages to reply.")]


def project_in(folder: Path, toml: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text("[tool.llmops]\n" + toml)
    return folder


def seed_feedback(project: Path) -> bytes:
    for kind, message in BEFORE_FEEDBACK:
        record_feedback(kind, message, user_id="u-1", path=project / "feedback.jsonl",
                        conversation=[{"user": "How long do I have to return an item?", "reply": "14 days."}])
    return (project / "feedback.jsonl").read_bytes()


def files_in(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (but the filler and empty lock files) with its bytes: what must not change."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file() and path.name != "filler.bin" and path.suffix != ".lock"}


def assert_clean_failure(done, command: str, *needles: str) -> None:
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output, output
    assert f"llmops {command}: error: " in done.stderr, output
    for needle in needles:
        assert needle in done.stderr, output


# -- appends: all bytes or none ---------------------------------------------------------------------


def test_an_append_on_a_full_disk_writes_nothing_and_says_so(small_disk):
    project = project_in(small_disk)
    before = seed_feedback(project)
    fill(small_disk)
    for attempt in range(2):  # the second append used to die with a raw OSError traceback
        done = llmops(project, "feedback", "--user-id", "u-2", "--type", "unhelpful", "--message", LONG_MESSAGE)
        assert_clean_failure(done, "feedback", "feedback.jsonl: No space left on device; nothing was written")
        assert "recorded feedback" not in done.stdout
        assert (project / "feedback.jsonl").read_bytes() == before, f"attempt {attempt + 1} left a torn line"
    (small_disk / "filler.bin").unlink()
    done = llmops(project, "feedback", "--user-id", "u-2", "--type", "unhelpful", "--message", LONG_MESSAGE,
                  check=True)
    records, bad = jsonl.read_records(project / "feedback.jsonl")
    assert bad == [] and len(records) == 3


def test_a_short_write_is_cut_back_to_where_the_append_started(small_disk):
    """The issue's torn line: 777 of 3156 bytes written, no newline. Here the last page's free room takes part."""
    path = small_disk / "store.jsonl"
    jsonl.append_records(path, [{"n": 1, "text": "x" * 1000}])
    before = path.read_bytes()
    fill(small_disk)
    with pytest.raises(StorageError, match="No space left on device; nothing was written"):
        jsonl.append_records(path, [{"n": 2, "text": "y" * 3000}, {"n": 3, "text": "z" * 3000}])
    assert path.read_bytes() == before
    with pytest.raises(StorageError):
        jsonl.append_records(small_disk / "new.jsonl", [{"n": 1}] * 2000)
    assert not (small_disk / "new.jsonl").exists()  # a file the failed append created is removed again


def test_feedback_into_a_read_only_folder_fails_clearly(read_only_folder):
    project = project_in(read_only_folder.folder)
    read_only_folder.seal()
    done = llmops(project, "feedback", "--user-id", "u-2", "--type", "praise", "--message", "Great help!")
    assert_clean_failure(done, "feedback", "cannot write", "feedback.jsonl", "nothing was written")
    assert not (project / "feedback.jsonl").exists()


# -- privacy: erase, export ------------------------------------------------------------------------


def privacy_project(folder: Path) -> Path:
    project = project_in(folder, "[tool.llmops.privacy]\n")
    for n in range(60):
        record_feedback("wrong_answer", f"reply {n} was wrong " + "and long " * 40, user_id=f"cust-{n % 3}",
                        path=project / "feedback.jsonl")
    jsonl.append_records(project / "chatbot_monitoring.log",
                         [{**interaction(n), "user_id": f"cust-{n % 3}", "findings": []} for n in range(30)])
    return project


def test_erase_on_a_full_disk_changes_nothing_and_audits_the_failure(small_disk):
    project = privacy_project(small_disk)
    fill(small_disk, leave=8192)  # room for audit lines, none for the rewritten copy of a store
    before = files_in(small_disk)
    done = llmops(project, "privacy", "erase", "--user-id", "cust-1")
    assert_clean_failure(done, "privacy", "No space left on device", "the file is unchanged")
    after = files_in(small_disk)
    audit = [json.loads(line) for line in after.pop("privacy_audit.jsonl", b"").decode().splitlines()]
    assert after == before  # every store byte for byte, and no temporary file left
    assert [line["status"] for line in audit] == ["started", "failed"]


def test_erase_in_a_read_only_folder_fails_before_changing_anything(read_only_folder):
    project = privacy_project(read_only_folder.folder)
    read_only_folder.seal()
    before = files_in(project)
    done = llmops(project, "privacy", "erase", "--user-id", "cust-1")
    assert_clean_failure(done, "privacy", "privacy_audit.jsonl", "nothing was written")
    assert files_in(project) == before


def test_export_is_not_handed_out_without_its_audit_line(read_only_folder, tmp_path):
    project = privacy_project(read_only_folder.folder)
    read_only_folder.seal()
    out = tmp_path / "sar" / "cust-1.json"
    done = llmops(project, "privacy", "export", "--user-id", "cust-1", f"--out={out}")
    assert_clean_failure(done, "privacy", "privacy_audit.jsonl", "nothing was written")
    assert not out.exists()
    done = llmops(project, "privacy", "export", "--user-id", "cust-1")  # to stdout: nothing printed either
    assert_clean_failure(done, "privacy", "privacy_audit.jsonl")
    assert done.stdout == ""


def test_export_onto_a_full_disk_leaves_no_partial_file(small_disk, tmp_path):
    project = privacy_project(tmp_path / "project")
    fill(small_disk)
    out = small_disk / "cust-1.json"
    done = llmops(project, "privacy", "export", "--user-id", "cust-1", f"--out={out}")
    assert_clean_failure(done, "privacy", "cust-1.json: No space left on device")
    assert sorted(path.name for path in small_disk.iterdir()) == ["filler.bin"]  # no file, no temporary file
    audit = jsonl.read_records(project / "privacy_audit.jsonl")[0]
    assert [line["status"] for line in audit] == ["started", "failed"]


# -- generated cases -------------------------------------------------------------------------------


def feedback_project(folder: Path) -> Path:
    project = project_in(folder)
    for n in range(30):
        record_feedback("wrong_answer", f"wrong {n}", user_id="u-1", path=project / "feedback.jsonl",
                        conversation=[{"user": f"How long do I have to return item {n}?",
                                       "reply": f"Only {n} days, sorry."}], bad_text=f"Only {n} days")
    return project


def test_cases_from_feedback_on_a_full_disk_leaves_only_whole_files(small_disk, tmp_path):
    project = feedback_project(tmp_path / "project")
    out = small_disk / "regressions"
    out.mkdir()
    fill(small_disk, leave=6000)  # a few case files fit, then the disk is full
    done = llmops(project, "cases", "from-feedback", f"--out={out}")
    assert_clean_failure(done, "cases", "No space left on device", "case file(s) written before it, each whole")
    written = list(out.iterdir())
    assert written and all(path.suffix == ".yaml" for path in written)  # no temporary file left
    for path in written:
        assert load_case_file(path)  # each one whole: a valid case file


def test_cases_into_a_read_only_folder_fail_clearly(read_only_folder, tmp_path):
    project = feedback_project(tmp_path / "project")
    read_only_folder.seal()
    out = read_only_folder.folder / "regressions"
    done = llmops(project, "cases", "from-feedback", f"--out={out}")
    assert_clean_failure(done, "cases", "cannot write")
    (project / "chatbot_monitoring.log").write_text(json.dumps(
        {**interaction(1, reply="mail jane.doe@example.com"), "level": "ERROR",
         "findings": [{"check": "no_pii", "category": "pii", "expected": "no personal data",
                       "actual": "found EMAIL in reply"}]}) + "\n")
    done = llmops(project, "cases", "from-monitor-log", f"--out={out}")
    assert_clean_failure(done, "cases", "cannot write")


def test_temporary_files_left_by_a_killed_run_are_cleaned_up_by_the_next(tmp_path):
    project = feedback_project(tmp_path / "project")
    out = project / "eval_cases" / "regressions"
    out.mkdir(parents=True)
    killed = out / ".regression-wrong-answer-0123456789ab.yaml.999999999.k1ll3d.tmp"  # no such process
    old = out / ".regression-old.yaml.a1b2c3d4.tmp"  # from before temp names carried a process id
    running = out / f".regression-busy.yaml.{os.getpid()}.busy0001.tmp"  # a writer still at work
    for path in (killed, old, running):
        path.write_text("cases: [half a file")
    os.utime(old, (0, 0))
    llmops(project, "cases", "from-feedback", check=True)
    assert not killed.exists() and not old.exists()
    assert running.exists()
    assert not [path for path in out.iterdir() if path.suffix == ".tmp" and path != running]


def test_a_first_run_killed_while_writing_leaves_only_whole_files_and_the_next_run_finishes_the_job(tmp_path):
    """Case files go to temporary files, one sync makes them durable, then they are renamed: a run killed
    in the middle leaves whole case files and temporary ones, never a torn case file, and the next run
    removes the temporary files and writes exactly what an uninterrupted run writes."""
    from pytest_llmops.feedback.store import FeedbackRecord

    def project_with_many_cases(folder: Path) -> Path:
        project = project_in(folder)
        jsonl.append_records(project / "feedback.jsonl", [FeedbackRecord(
            user_id="u-1", type="wrong_answer", bad_text=f"Only {n} days",
            conversation=[{"user": f"How long do I have to return item {n}?", "reply": f"Only {n} days, sorry."}]
        ).to_json_dict() for n in range(1500)])
        return project

    project = project_with_many_cases(tmp_path / "project")
    out = project / "regressions"
    run = subprocess.Popen([sys.executable, "-m", "pytest_llmops.cli", "cases", "from-feedback", f"--out={out}"],
                           cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while run.poll() is None and not (out.is_dir() and any(p.suffix == ".tmp" for p in out.iterdir())):
            pass  # until it is writing
        run.kill()
    finally:
        run.wait()
    assert run.returncode == -9, "the run ended before it could be killed while writing"
    left = list(out.iterdir())
    assert any(path.suffix == ".tmp" for path in left)
    for path in left:
        if path.suffix == ".yaml":
            assert load_case_file(path)  # whole: a valid case file
    llmops(project, "cases", "from-feedback", f"--out={out}", check=True)
    clean = project_in(tmp_path / "clean") / "regressions"
    (clean.parent / "feedback.jsonl").write_bytes((project / "feedback.jsonl").read_bytes())
    llmops(clean.parent, "cases", "from-feedback", f"--out={clean}", check=True)
    assert files_in(out) == files_in(clean) and len(files_in(clean)) == 1500  # no temporary file left


def test_a_batch_whose_rename_fails_keeps_the_files_before_it_whole_and_leaves_no_temporary_file(tmp_path):
    out = tmp_path / "out"
    (out / "b.yaml" / "in-the-way").mkdir(parents=True)  # a folder where the second file goes: its rename fails
    with jsonl.FileBatch(mode=0o644) as batch:
        for name in ("a.yaml", "b.yaml", "c.yaml"):
            batch.add(out / name, f"file {name}\n".encode())
        assert len([path for path in out.iterdir() if path.suffix == ".tmp"]) == 3
        with pytest.raises(StorageError, match=r"cannot write .*b\.yaml: Is a directory"):
            batch.commit()
    assert batch.renamed == [out / "a.yaml"] and (out / "a.yaml").read_text() == "file a.yaml\n"
    assert sorted(path.name for path in out.iterdir()) == ["a.yaml", "b.yaml"]  # no c.yaml, no temporary file
    assert oct((out / "a.yaml").stat().st_mode & 0o777) == "0o644"


def test_a_batch_left_by_an_error_before_its_commit_removes_its_temporary_files(tmp_path):
    with pytest.raises(KeyError), jsonl.FileBatch() as batch:
        batch.add(tmp_path / "a.yaml", b"a")
        raise KeyError("interrupted")
    assert list(tmp_path.iterdir()) == []


# -- the monitor log -------------------------------------------------------------------------------


def test_the_monitor_on_a_full_disk_exits_non_zero_and_keeps_every_line_whole(small_disk, tmp_path):
    project = project_in(small_disk)
    source = tmp_path / "in.jsonl"
    write_jsonl(source, [interaction(n, reply="Thirty days. " * 20) for n in range(3000)])
    done = llmops(project, "monitor", "-q", str(source))
    assert_clean_failure(done, "monitor", "interaction record(s) could not be written to",
                         "No space left on device")
    assert "llmops monitor summary: 3000 interaction(s)" in done.stderr  # it went on to the end
    lines = (project / "chatbot_monitoring.log").read_bytes().splitlines(keepends=True)
    assert lines and all(line.endswith(b"\n") and json.loads(line) for line in lines)


def test_the_monitor_with_a_read_only_log_folder_fails_clearly(read_only_folder, tmp_path):
    project = project_in(read_only_folder.folder)
    read_only_folder.seal()
    source = tmp_path / "in.jsonl"
    write_jsonl(source, [interaction(1)])
    done = llmops(project, "monitor", "-q", str(source))
    assert_clean_failure(done, "monitor", "1 interaction record(s) could not be written to")
    assert not (project / "chatbot_monitoring.log").exists()


# -- the results file ------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["full", "read-only"])
def test_a_results_write_that_fails_is_reported_and_not_named_as_written(small_disk, read_only_folder, tmp_path,
                                                                         where):
    project = project_in(tmp_path / "project")
    (project / "eval_cases").mkdir()
    (project / "eval_cases" / "c.yaml").write_text("cases:\n  - id: greets\n    turns: [{user: hello}]\n")
    if where == "full":
        fill(small_disk)
        target = small_disk / "results.json"
    else:
        read_only_folder.seal()
        target = read_only_folder.folder / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--llmops", "-p", "no:cacheprovider", "-p", "no:randomly",
         f"--llmops-results={target}"], cwd=project, capture_output=True, text=True, timeout=120)
    assert done.returncode == pytest.ExitCode.INTERNAL_ERROR, done.stdout + done.stderr
    assert f"pytest-llmops: cannot write results to {target}: " in done.stderr
    assert "results:" not in done.stdout  # the summary does not name a file that was not written
    assert "llmops summary" in done.stdout
    assert [path.name for path in target.parent.iterdir() if path.name != "filler.bin"] == []

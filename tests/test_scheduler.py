"""The replay pool on its own: bounded, in submission order, cancellable, never blocking exit."""

from __future__ import annotations

import threading
import time

import pytest

from pytest_llmops.errors import JobCancelled
from pytest_llmops.scheduler import ReplayScheduler


def test_runs_at_most_workers_jobs_at_once_and_returns_each_result():
    scheduler = ReplayScheduler(3)
    lock = threading.Lock()
    running = peak = 0

    def job(n: int):
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return n * n

    for n in range(12):
        assert scheduler.submit(n, lambda n=n: job(n))
    assert [scheduler.result(n) for n in range(12)] == [n * n for n in range(12)]
    assert peak == 3
    assert scheduler.running_threads <= 3
    scheduler.shutdown()
    assert scheduler.join(2)


def test_a_key_is_submitted_once_and_its_result_handed_out_once():
    scheduler = ReplayScheduler(2)
    calls = []
    assert scheduler.submit("a", lambda: calls.append(1) or "first")
    assert not scheduler.submit("a", lambda: calls.append(2) or "second")
    assert scheduler.result("a") == "first"
    assert calls == [1]
    with pytest.raises(KeyError):
        scheduler.result("a")
    with pytest.raises(KeyError):
        scheduler.result("never-submitted")
    scheduler.shutdown()


def test_a_job_exception_is_raised_to_whoever_waits_for_it():
    scheduler = ReplayScheduler(1)

    def broken():
        raise ValueError("boom")

    scheduler.submit("x", broken)
    scheduler.submit("y", lambda: "still runs")
    with pytest.raises(ValueError, match="boom"):
        scheduler.result("x")
    assert scheduler.result("y") == "still runs"
    scheduler.shutdown()


def test_cancel_pending_cancels_only_jobs_not_started():
    scheduler = ReplayScheduler(1)
    gate = threading.Event()
    started = threading.Event()
    ran = []

    def first():
        started.set()
        gate.wait(5)
        return "first"

    scheduler.submit(0, first)
    for n in range(1, 5):
        scheduler.submit(n, lambda n=n: ran.append(n))
    assert started.wait(5)
    assert scheduler.cancel_pending() == 4
    gate.set()
    assert scheduler.result(0) == "first"
    for n in range(1, 5):
        with pytest.raises(JobCancelled):
            scheduler.result(n)
    assert ran == []
    scheduler.shutdown()


def test_shutdown_never_waits_for_a_hung_job_and_cancels_later_submissions():
    scheduler = ReplayScheduler(2)
    release = threading.Event()
    scheduler.submit("hung", lambda: release.wait(30))
    time.sleep(0.05)
    began = time.perf_counter()
    scheduler.shutdown()
    assert time.perf_counter() - began < 0.5
    assert scheduler.stopping.is_set()
    assert all(thread.daemon for thread in scheduler._threads)
    assert scheduler.submit("late", lambda: "never")
    with pytest.raises(JobCancelled):
        scheduler.result("late")
    release.set()
    assert scheduler.join(2)


def test_workers_must_be_positive():
    with pytest.raises(ValueError):
        ReplayScheduler(0)


def test_a_job_someone_waits_for_jumps_the_queue_without_exceeding_the_limit():
    scheduler = ReplayScheduler(1)
    gate = threading.Event()
    order = []
    scheduler.submit("blocker", lambda: gate.wait(5))
    for n in range(5):
        scheduler.submit(n, lambda n=n: order.append(n) or n)
    waiter = threading.Thread(target=lambda: order.append(("got", scheduler.result(4))))
    waiter.start()
    time.sleep(0.05)  # the waiter is now blocked on job 4, which sits at the back of the queue
    gate.set()
    waiter.join(5)
    assert order[0] == 4 and ("got", 4) in order  # job 4 ran before the jobs queued ahead of it
    assert [scheduler.result(n) for n in range(4)] == [0, 1, 2, 3]
    assert scheduler.running_threads == 1
    scheduler.shutdown()

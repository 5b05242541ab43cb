"""A bounded pool that runs replay jobs ahead of pytest while pytest reports in order.

Replaying is waiting on the network, so the plugin hands every selected case to this
pool as soon as collection ends, and each pytest item only waits for its own result.
The pool knows nothing of pytest or targets: a task is any callable, keyed by any
hashable (the plugin submits one task per run of a replay job, keyed ``(node id, run)``).

Worker threads are started on demand. :meth:`ReplayScheduler.shutdown` cancels what has
not started and raises the ``stopping`` flag that long jobs check between turns; a job
blocked inside a request is ended by whoever owns the request (the plugin closes the
run's targets), and :meth:`ReplayScheduler.join` then waits for the workers to exit.
They are daemons only so that a job nobody can end (a Python callable that never
returns) cannot keep the process alive.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any, Callable, Hashable

from .errors import JobCancelled


class _Job:
    __slots__ = ("key", "func", "started", "done", "result", "error", "cancelled")

    def __init__(self, key: Hashable, func: Callable[[], Any]):
        self.key = key
        self.func = func
        self.started = False  # taken off the queue by a worker
        self.done = False  # guarded by the scheduler's lock; one shared condition, not an Event a job
        self.result: Any = None
        self.error: BaseException | None = None
        self.cancelled = False


class ReplayScheduler:
    """Runs submitted callables on at most ``workers`` threads, first submitted first started."""

    def __init__(self, workers: int, name: str = "llmops-replay"):
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self.name = name
        self.stopping = threading.Event()
        self._jobs: dict[Hashable, _Job] = {}
        self._queue: collections.deque[_Job] = collections.deque()
        self._lock = threading.Condition()  # workers wait on it for jobs
        self._finished = threading.Condition(self._lock)  # result() waits on it for jobs to end
        self._threads: list[threading.Thread] = []

    # -- submitting -----------------------------------------------------------------
    def submit(self, key: Hashable, func: Callable[[], Any]) -> bool:
        """Queue ``func`` under ``key``; False (and nothing queued) if ``key`` was already submitted."""
        with self._lock:
            if key in self._jobs:
                return False
            if self.stopping.is_set():
                job = _Job(key, func)
                job.cancelled = job.done = True
                self._jobs[key] = job
                return True
            job = _Job(key, func)
            self._jobs[key] = job
            self._queue.append(job)
            if len(self._threads) < self.workers:
                self._start_worker()
            else:
                self._lock.notify()
            return True

    def submitted(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._jobs

    def _start_worker(self) -> None:
        thread = threading.Thread(target=self._work, name=f"{self.name}-{len(self._threads) + 1}", daemon=True)
        self._threads.append(thread)
        thread.start()

    # -- collecting results ---------------------------------------------------------
    def result(self, key: Hashable, timeout: float | None = None) -> Any:
        """Wait for the job under ``key`` and return its value (or raise its exception).

        The job is forgotten afterwards, so each result is handed out once.
        Raises KeyError if nothing was submitted under ``key``, JobCancelled if it
        was cancelled before it started, TimeoutError if ``timeout`` runs out.
        """
        with self._lock:
            job = self._jobs[key]
            if not job.started and not job.done and self._queue[0] is not job:
                self._queue.remove(job)  # someone waits for it now: it goes next, not behind later work
                self._queue.appendleft(job)
            if not self._finished.wait_for(lambda: job.done, timeout):
                raise TimeoutError(f"job {key!r} still running after {timeout} s")
            self._jobs.pop(key, None)
        if job.cancelled:
            raise JobCancelled(f"job {key!r} was cancelled before it started")
        if job.error is not None:
            raise job.error
        return job.result

    # -- stopping -------------------------------------------------------------------
    def cancel_pending(self) -> int:
        """Cancel every job that has not started; returns how many were cancelled."""
        with self._lock:
            cancelled = list(self._queue)
            self._queue.clear()
            for job in cancelled:
                job.cancelled = job.done = True
            self._finished.notify_all()
        return len(cancelled)

    def shutdown(self) -> int:
        """Cancel pending jobs and tell running ones to stop; never waits for a running request."""
        self.stopping.set()
        cancelled = self.cancel_pending()
        with self._lock:
            self._lock.notify_all()
        return cancelled

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds in all for the workers to exit after :meth:`shutdown`; True if all did."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(deadline - time.monotonic(), 0))
        return not any(thread.is_alive() for thread in self._threads)

    @property
    def running_threads(self) -> int:
        return sum(thread.is_alive() for thread in self._threads)

    # -- the worker loop ------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self.stopping.is_set():
                    self._lock.wait()
                if self.stopping.is_set() and not self._queue:
                    return
                job = self._queue.popleft()
                job.started = True
            try:
                job.result = job.func()
            except BaseException as exc:  # handed to whoever waits for the result
                job.error = exc
            finally:
                with self._lock:
                    job.done = True
                    self._finished.notify_all()

"""Seeing someone wait for a store's lock, through filelock's own debug log.

filelock takes a lock with non-blocking ``flock`` attempts, and logs every refused one
(``Lock 1234 not acquired on /path/feedback.jsonl.lock, waiting 0.05 seconds ...``) to
the ``filelock`` logger at DEBUG level. A test that holds a lock can thus prove that a
reader or an erase really reached that lock and is waiting for it, not merely slow.
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

LOGGER = "filelock"
REFUSED = "not acquired on"
ACQUIRED = "acquired on"

# `python -c` code that logs filelock's attempts to stderr, then runs the llmops command with the other arguments.
LLMOPS_LOGGING_LOCKS = (
    "import logging, sys\n"
    "handler = logging.StreamHandler(sys.stderr)\n"
    "handler.setFormatter(logging.Formatter('filelock: %(message)s'))\n"
    f"log = logging.getLogger({LOGGER!r}); log.setLevel(logging.DEBUG); log.addHandler(handler); log.propagate = False\n"
    "from pytest_llmops.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def llmops_logging_locks(*args: str) -> list[str]:
    """The command line of ``llmops ARGS`` in a subprocess whose stderr shows every lock attempt."""
    return [sys.executable, "-c", LLMOPS_LOGGING_LOCKS, *args]


def refused(line: str, lock_file: Path) -> bool:
    """True if ``line`` (of that stderr) says an attempt on ``lock_file`` was refused."""
    return REFUSED in line and line.rstrip().split(f"{REFUSED} ", 1)[1].startswith(f"{lock_file},")


class LockWaits(logging.Handler):
    """Collects, in this process, the lock files on which filelock was refused, and by which thread."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.refusals: list[tuple[str, str]] = []  # (thread name, lock file)
        self._changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if REFUSED in message:
            lock_file = message.split(f"{REFUSED} ", 1)[1].split(",", 1)[0]
            with self._changed:
                self.refusals.append((record.threadName, lock_file))
                self._changed.notify_all()

    def wait_for_refusal(self, lock_file: Path, thread: str, timeout: float = 20) -> bool:
        """Wait until ``thread`` was refused ``lock_file`` at least once; False if that never happened."""
        with self._changed:
            return self._changed.wait_for(lambda: (thread, str(lock_file)) in self.refusals, timeout)

    def __enter__(self) -> "LockWaits":
        logger = logging.getLogger(LOGGER)
        self._previous_level = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        logger = logging.getLogger(LOGGER)
        logger.removeHandler(self)
        logger.setLevel(self._previous_level)

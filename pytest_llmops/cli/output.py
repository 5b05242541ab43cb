"""The command's standard output going away: ``llmops ... | head`` ends quietly.

When the reader of a pipe exits, the next write raises BrokenPipeError. A command then
stops at once (as ``grep`` or ``cat`` would, killed by SIGPIPE) without a traceback,
with exit code 141 (128 + SIGPIPE), which a shell under ``pipefail`` sees as the pipe
closing rather than as success.
"""

from __future__ import annotations

import os
import sys

#: 128 + SIGPIPE: what a shell reports for a command whose reader went away
EXIT_PIPE_CLOSED = 141


def discard_stdout() -> None:
    """Point standard output at /dev/null, so what is still buffered never raises again (at exit)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real stdout (embedded, captured): nothing to protect
        pass

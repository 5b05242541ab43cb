"""A subprocess's output, read line by line on a thread, so a test can wait for a line without blocking."""

from __future__ import annotations

import threading
import time
from typing import IO, Callable


class PipeLines:
    """Every line read so far from ``stream`` (text or bytes, decoded), collected until it ends."""

    def __init__(self, stream: IO) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO) -> None:
        for line in stream:
            self.lines.append(line.decode() if isinstance(line, bytes) else line)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float) -> str | None:
        """The first line ``predicate`` accepts, waiting up to ``timeout`` s; None if none came (or the stream ended)."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((line for line in list(self.lines) if predicate(line)), None)
            if found is not None or time.monotonic() >= deadline or not self._thread.is_alive():
                return found if found is not None else next((line for line in list(self.lines) if predicate(line)), None)
            time.sleep(0.02)

    def text(self, timeout: float = 10) -> str:
        """Everything, once the stream has ended (waiting up to ``timeout`` s for it to)."""
        self._thread.join(timeout)
        return "".join(self.lines)

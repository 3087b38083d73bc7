"""The Logs page's data: how many of the newest log lines it shows, and a watcher that sees
the file grow."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from twisted.internet.task import LoopingCall

#: How many lines the Logs page shows, and how far back from the end they are looked for.
TAIL_LINES = 200
TAIL_BYTES = 256 * 1024
#: How often the log file is checked for new lines (seconds).
WATCH_INTERVAL_SECONDS = 1.0


def _fileStamp(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


class LogFileWatcher:
    """Calls ``onChange()`` when the log file grows, is rotated or appears (polled)."""

    def __init__(
        self,
        path: Path,
        onChange: Callable[[], None],
        *,
        clock: Any,
        interval: float = WATCH_INTERVAL_SECONDS,
    ) -> None:
        self.path = path
        self._onChange = onChange
        self._interval = interval
        self._stamp = _fileStamp(path)
        self._loop = LoopingCall(self._check)
        self._loop.clock = clock

    def start(self) -> None:
        """Start polling."""
        self._loop.start(self._interval, now=False)

    def stop(self) -> None:
        """Stop polling."""
        if self._loop.running:
            self._loop.stop()

    def _check(self) -> None:
        stamp = _fileStamp(self.path)
        if stamp != self._stamp:
            self._stamp = stamp
            self._onChange()

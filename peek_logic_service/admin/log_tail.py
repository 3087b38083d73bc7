"""The Logs page's data: the newest lines of a log file, and a watcher that sees it grow."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from twisted.internet.task import LoopingCall

#: How many lines the Logs page shows, and how far back from the end they are looked for.
TAIL_LINES = 200
TAIL_BYTES = 256 * 1024
#: How often the log file is checked for new lines (seconds).
WATCH_INTERVAL_SECONDS = 1.0


def readTail(path: Path, lines: int = TAIL_LINES, maxBytes: int = TAIL_BYTES) -> list[str]:
    """The last ``lines`` lines of ``path`` (none when it does not exist yet)."""
    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            start = max(0, size - maxBytes)
            f.seek(start)
            data = f.read()
    except FileNotFoundError:
        return []
    text = data.decode("utf-8", "replace").splitlines()
    if start > 0 and text:
        text = text[1:]  # the first line was cut by the seek
    return text[-lines:]


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

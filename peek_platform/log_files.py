"""Reading a service's log file: its newest lines, bounded (the admin Logs page, diagnostics)."""

from __future__ import annotations

import os
from pathlib import Path


def readLogTail(path: Path, lines: int, maxBytes: int) -> list[str]:
    """The last ``lines`` whole lines within the last ``maxBytes`` of ``path`` (a line cut
    by that limit is dropped); none when the file does not exist yet."""
    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            start = max(0, size - maxBytes)
            f.seek(start)
            data = f.read(maxBytes)
    except FileNotFoundError:
        return []
    text = data.decode("utf-8", "replace").splitlines()
    if start > 0 and text:
        text = text[1:]  # the first line was cut by the seek
    return text[-lines:]

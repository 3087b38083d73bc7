"""A stack dump of every thread of this process, for diagnostics of a stuck service."""

from __future__ import annotations

import sys
import threading
import traceback

#: The dump is cut after this many characters, so one answer stays small.
MAX_DUMP_CHARS = 256 * 1024


def threadStacks(maxChars: int = MAX_DUMP_CHARS) -> str:
    """Each thread's name, id and current stack, the calling thread first."""
    names = {thread.ident: thread for thread in threading.enumerate()}
    frames = sys._current_frames()
    current = threading.get_ident()
    order = sorted(frames, key=lambda ident: (ident != current, ident))
    parts = [f"{len(frames)} threads\n"]
    for ident in order:
        thread = names.get(ident)
        name = thread.name if thread is not None else "(unknown)"
        daemon = " daemon" if thread is not None and thread.daemon else ""
        parts.append(f'\nThread "{name}" id {ident}{daemon}:\n')
        parts.append("".join(traceback.format_stack(frames[ident])))
    text = "".join(parts)
    if len(text) > maxChars:
        text = text[:maxChars] + f"\n... cut at {maxChars} characters\n"
    return text

"""One link's frames waiting to be written, in two classes: priority and normal.

A payload that cannot be written at once — one sent in chunk frames, or one that must wait
behind such a transfer — waits here. The core writes frames only while the socket takes
them (it is the socket's push producer), and always takes the next frame from the priority
class first, so an RPC or action reply sent during a bulk transfer goes out after at most
the chunk being written. Within a class, order is kept: a normal payload sent after a bulk
one still arrives after it (observable updates are never reordered).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator


class _Outgoing:
    """The frames of one payload still to be written."""

    __slots__ = ("frames", "next")

    def __init__(self, frames: Iterator[bytes]) -> None:
        self.frames = frames
        self.next: bytes | None = next(frames)


class SendQueue:
    """Frames waiting for the socket, priority class first; counts their bytes."""

    def __init__(self) -> None:
        #: Payloads of each class waiting, oldest first; empty deques are false, which is
        #: how the core's fast path asks "is anything of this class waiting?".
        self.priority: deque[_Outgoing] = deque()
        self.normal: deque[_Outgoing] = deque()
        #: Bytes of every frame waiting, written or not yet made.
        self.queuedBytes = 0

    def __bool__(self) -> bool:
        return bool(self.priority or self.normal)

    def add(self, frames: Iterable[bytes], frameBytes: int, priority: bool) -> None:
        """Queue a payload's frames (``frameBytes`` in all) behind its class."""
        (self.priority if priority else self.normal).append(_Outgoing(iter(frames)))
        self.queuedBytes += frameBytes

    def pop(self) -> bytes | None:
        """The next frame to write (priority class first), or None when nothing waits."""
        queue = self.priority or self.normal
        if not queue:
            return None
        outgoing = queue[0]
        frame = outgoing.next
        assert frame is not None  # a payload leaves the queue with its last frame
        outgoing.next = next(outgoing.frames, None)
        if outgoing.next is None:
            queue.popleft()
        self.queuedBytes -= len(frame)
        return frame

    def clear(self) -> None:
        """Forget everything (the link closed)."""
        self.priority.clear()
        self.normal.clear()
        self.queuedBytes = 0

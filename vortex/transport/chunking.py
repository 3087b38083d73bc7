"""Chunk frames: how a payload larger than one frame crosses a link and is put back together.

A side that reads chunk frames says so in its hello or welcome (``"chunks": 1``). To such
a peer a payload longer than the sender's chunk size goes as a run of chunk frames, each
one websocket message::

    0x00 | message id (uint32, big-endian) | total bytes (uint32, big-endian) | data

Every payload of the layer above starts with ``{`` (a JSON header), so a first byte 0x00
marks a chunk frame; a payload that does start with 0x00 is sent as one chunk. The frames
of one message go in order; frames of other messages (and whole payloads) may come between
them, which is how small replies overtake a bulk transfer (``send_queue``). The receiver
holds the pieces of each message, bounded per link and per process, and delivers the
payload once its last byte has arrived. Specified in ``docs/vortex/transport.rst``.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Iterator

logger = logging.getLogger(__name__)

#: First byte of a chunk frame.
CHUNK_MARKER = 0
_HEADER = struct.Struct(">BII")
#: Bytes of the header in front of every chunk's data.
CHUNK_HEADER_BYTES = _HEADER.size
#: Message ids run from 0 to this and wrap around.
MAX_MESSAGE_ID = 0xFFFFFFFF
#: The largest payload the header can describe.
MAX_CHUNKED_BYTES = 0xFFFFFFFF
#: Default bound on the bytes of chunked messages all links of a process hold at once.
DEFAULT_TOTAL_REASSEMBLY_BYTES = 256 * 1024 * 1024


class ChunkFrameError(ValueError):
    """A chunk frame breaks the format (the peer is broken; its link is closed)."""


def chunkFrames(messageId: int, data: bytes, chunkBytes: int) -> Iterator[bytes]:
    """The chunk frames of ``data``, made one at a time (each copies its slice once)."""
    header = _HEADER.pack(CHUNK_MARKER, messageId, len(data))
    view = memoryview(data)
    for start in range(0, len(data), chunkBytes):
        yield header + view[start : start + chunkBytes]


def frameCount(size: int, chunkBytes: int) -> int:
    """How many chunk frames a payload of ``size`` bytes takes."""
    return -(-size // chunkBytes)


class ReassemblyBudget:
    """The bytes of partly received chunked messages every link of a process may hold.

    One is shared by the links of a ``VortexFactory`` (or of one endpoint or client made
    without a factory); each link's own share is bounded by its ``maxReassemblyBytes``.
    """

    def __init__(self, maxBytes: int = DEFAULT_TOTAL_REASSEMBLY_BYTES) -> None:
        if maxBytes < 1:
            raise ValueError(f"ReassemblyBudget.maxBytes must be >= 1, got {maxBytes}")
        self.maxBytes = maxBytes
        #: Bytes reserved by messages being received right now.
        self.heldBytes = 0

    def reserve(self, size: int) -> bool:
        """Take ``size`` bytes if they fit; False (nothing taken) when they do not."""
        if self.heldBytes + size > self.maxBytes:
            return False
        self.heldBytes += size
        return True

    def release(self, size: int) -> None:
        """Give back bytes taken by :meth:`reserve`."""
        self.heldBytes -= size


class _Partial:
    """One chunked message being received: its pieces, or None once it was refused."""

    __slots__ = ("pieces", "received", "total")

    def __init__(self, total: int, keep: bool) -> None:
        self.total = total
        self.received = 0
        self.pieces: list[memoryview] | None = [] if keep else None


class Reassembler:
    """The chunked messages one link is receiving, within the link's and the process's bound.

    A message whose size does not fit either bound is refused at its first frame: an ERROR
    naming the link (``describeLink()``), the size and the bound is logged, its frames are
    read and dropped, and the link carries on.
    """

    def __init__(
        self, maxBytes: int, budget: ReassemblyBudget, describeLink: Callable[[], str]
    ) -> None:
        self._maxBytes = maxBytes
        self._budget = budget
        self._describeLink = describeLink
        self._partial: dict[int, _Partial] = {}
        #: Bytes reserved by this link's messages being received (their full sizes).
        self.heldBytes = 0
        #: Chunked messages refused for a bound.
        self.refusedMessages = 0

    def receive(self, frame: bytes) -> bytes | None:
        """Take one chunk frame; the whole payload once this was its last frame, else None.

        Raises :class:`ChunkFrameError` for a frame that breaks the format.
        """
        if len(frame) <= CHUNK_HEADER_BYTES:
            raise ChunkFrameError(f"chunk frame of {len(frame)} bytes carries no data")
        _marker, messageId, total = _HEADER.unpack_from(frame)
        data = memoryview(frame)[CHUNK_HEADER_BYTES:]
        partial = self._partial.get(messageId)
        if partial is None:
            if len(data) == total:
                return bytes(data)  # a payload starting with 0x00, in one chunk
            partial = self._partial[messageId] = _Partial(total, self._admit(total))
        elif partial.total != total:
            raise ChunkFrameError(
                f"chunk of message {messageId} says {total} bytes, its first said {partial.total}"
            )
        partial.received += len(data)
        if partial.received > total:
            raise ChunkFrameError(
                f"chunks of message {messageId} carry more than its {total} bytes"
            )
        pieces = partial.pieces
        if pieces is not None:
            pieces.append(data)
        if partial.received < total:
            return None
        del self._partial[messageId]
        if pieces is None:
            return None
        self._release(total)
        return b"".join(pieces)

    def discard(self) -> None:
        """Drop every message being received (the link closed) and give back their bytes."""
        for partial in self._partial.values():
            if partial.pieces is not None:
                self._release(partial.total)
        self._partial.clear()

    def _admit(self, total: int) -> bool:
        held = self.heldBytes
        if held + total > self._maxBytes:
            why = f"the bound of {self._maxBytes} bytes per link ({held} held)"
        elif not self._budget.reserve(total):
            why = (
                f"the bound of {self._budget.maxBytes} bytes for all links "
                f"({self._budget.heldBytes} held)"
            )
        else:
            self.heldBytes = held + total
            return True
        self.refusedMessages += 1
        logger.error(
            "Vortex link %s: dropped a chunked message of %d bytes: it exceeds %s; "
            "the link stays up",
            self._describeLink(),
            total,
            why,
        )
        return False

    def _release(self, total: int) -> None:
        self.heldBytes -= total
        self._budget.release(total)

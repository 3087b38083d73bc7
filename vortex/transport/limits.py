"""Per-connection limits and timings of the vortex websocket transport."""

from __future__ import annotations

from dataclasses import dataclass

from vortex.transport.handshake import (
    MAX_HEARTBEAT_SECONDS,
    MIN_HEARTBEAT_SECONDS,
    isValidHeartbeat,
)


@dataclass(frozen=True)
class TransportLimits:
    """Bounds that protect a vortex process from a misbehaving or dead peer."""

    #: Largest websocket message (bytes) accepted, and the largest sent whole to a peer that
    #: does not read chunk frames; a peer sending more is disconnected.
    maxMessageBytes: int = 16 * 1024 * 1024
    #: A payload longer than this goes to a peer that reads chunk frames as frames of this
    #: many bytes (``vortex.transport.chunking``), so one bulk transfer holds the link for at
    #: most one frame at a time. Capped at ``maxMessageBytes`` less the chunk header.
    chunkBytes: int = 256 * 1024
    #: Bytes of chunked messages one link may hold while putting them back together, and so
    #: the largest payload sent or received in chunks; a message over it is dropped with a
    #: logged error (the link stays up).
    maxReassemblyBytes: int = 64 * 1024 * 1024
    #: Bytes a connection may queue while the socket is not draining; past it: disconnect.
    maxQueuedBytes: int = 64 * 1024 * 1024
    #: Interval between the heartbeats this side sends (0.1 to 300 s), announced in the
    #: handshake; a peer silent for ``missedHeartbeats`` of the longer of the two sides'
    #: intervals is dead.
    heartbeatSeconds: float = 5.0
    #: Number of silent heartbeat intervals after which the peer is declared dead.
    missedHeartbeats: int = 3
    #: Time allowed from websocket open to an authenticated link.
    handshakeTimeoutSeconds: float = 10.0
    #: Time allowed for the websocket closing handshake before the socket is dropped.
    closeTimeoutSeconds: float = 2.0

    def __post_init__(self) -> None:
        """Reject values that would disable a protection by accident."""
        for name in (
            "maxMessageBytes",
            "maxQueuedBytes",
            "missedHeartbeats",
            "chunkBytes",
            "maxReassemblyBytes",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"TransportLimits.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("handshakeTimeoutSeconds", "closeTimeoutSeconds"):
            if not getattr(self, name) > 0:
                raise ValueError(f"TransportLimits.{name} must be > 0, got {getattr(self, name)}")
        if not isValidHeartbeat(self.heartbeatSeconds):
            raise ValueError(
                f"TransportLimits.heartbeatSeconds must be from {MIN_HEARTBEAT_SECONDS:g} to "
                f"{MAX_HEARTBEAT_SECONDS:g} (the range peers accept), got {self.heartbeatSeconds}"
            )


#: The defaults, shared (the dataclass is frozen).
DEFAULT_LIMITS = TransportLimits()

"""PayloadEnvelope: a routable message whose payload body stays encoded until it is needed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from twisted.internet.defer import Deferred

from vortex.Payload import Payload
from vortex.serialise import frames
from vortex.serialise.deferred import INLINE_MAX_BYTES, runDeferred
from vortex.serialise.errors import VortexDecodeError, VortexEncodeError

__all__ = ["PayloadEnvelope", "VortexDecodeError", "VortexEncodeError"]


class PayloadEnvelope:
    """Routing header (filt, destination, result, date) around an encoded payload body.

    Proxies read and rewrite the header and forward ``encodedPayload`` byte for byte,
    so the tuples are decoded only by the process that uses them.
    """

    __slots__ = ("date", "destVortexName", "destVortexUuid", "encodedPayload", "filt", "result")

    def __init__(
        self,
        filt: dict | None = None,
        encodedPayload: bytes | None = None,
        destVortexName: str | None = None,
        destVortexUuid: str | None = None,
        result: Any = None,
        date: datetime | None = None,
    ) -> None:
        self.filt: dict = {} if filt is None else filt
        self.encodedPayload = encodedPayload
        self.destVortexName = destVortexName
        self.destVortexUuid = destVortexUuid
        self.result = result
        self.date: datetime | None = datetime.now(UTC) if date is None else date

    def _inline(self) -> bool:
        return self.encodedPayload is None or len(self.encodedPayload) <= INLINE_MAX_BYTES

    def toVortexMsg(self) -> bytes:
        """The wire message: one header line, then the payload body if there is one."""
        return frames.encodeEnvelope(
            self.filt,
            self.destVortexName,
            self.destVortexUuid,
            self.result,
            self.date,
            self.encodedPayload,
        )

    def toVortexMsgDefer(self, reactor: Any = None) -> Deferred:
        """Deferred variant of :meth:`toVortexMsg`."""
        return runDeferred(self.toVortexMsg, inline=self._inline(), reactor=reactor)

    @classmethod
    def fromVortexMsg(cls, vortexMsg: bytes) -> PayloadEnvelope:
        """Parse a wire message's header, keeping the body encoded; bad input: VortexDecodeError."""
        parts = frames.decodeEnvelope(vortexMsg)
        return cls(
            filt=parts.filt,
            encodedPayload=parts.encodedPayload,
            destVortexName=parts.destVortexName,
            destVortexUuid=parts.destVortexUuid,
            result=parts.result,
            date=parts.date,
        )

    @classmethod
    def fromVortexMsgDefer(cls, vortexMsg: bytes, reactor: Any = None) -> Deferred:
        """Deferred variant of :meth:`fromVortexMsg` (inline: only the header is parsed)."""
        return runDeferred(cls.fromVortexMsg, vortexMsg, inline=True, reactor=reactor)

    def decodePayload(self) -> Payload:
        """Decode the body; an envelope without one yields a tuple-less payload of its header."""
        if self.encodedPayload is None:
            return Payload(filt=self.filt, tuples=[], result=self.result, date=self.date)
        return Payload.fromEncodedPayload(self.encodedPayload)

    def decodePayloadDefer(self, reactor: Any = None) -> Deferred:
        """Deferred variant of :meth:`decodePayload` (threaded for large bodies)."""
        return runDeferred(self.decodePayload, inline=self._inline(), reactor=reactor)

    def isEmpty(self) -> bool:
        """True when the envelope carries no payload body."""
        return self.encodedPayload is None

    def __repr__(self) -> str:
        size = None if self.encodedPayload is None else len(self.encodedPayload)
        return (
            f"PayloadEnvelope(filt={self.filt!r}, destVortexName={self.destVortexName!r},"
            f" destVortexUuid={self.destVortexUuid!r}, result={self.result!r},"
            f" date={self.date!r}, encodedPayload=<{size} bytes>)"
        )

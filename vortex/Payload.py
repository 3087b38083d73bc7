"""Payload: the vortex's unit of data, a routing ``filt`` plus tuples, a result and a date."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred

import vortex.TupleSelector  # noqa: F401  (registers the built-in tuple type receivers need)
from vortex.serialise import frames
from vortex.serialise.deferred import INLINE_MAX_BYTES, INLINE_MAX_TUPLES, runDeferred
from vortex.serialise.errors import VortexDecodeError, VortexEncodeError

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorThreads

    from vortex.PayloadEnvelope import PayloadEnvelope

__all__ = ["Payload", "VortexDecodeError", "VortexEncodeError"]


class Payload:
    """A ``filt`` dict (routing), a list of tuples, an optional result and a timestamp."""

    __slots__ = ("date", "filt", "result", "tuples")

    def __init__(
        self,
        filt: dict | None = None,
        tuples: list | None = None,
        result: Any = None,
        date: datetime | None = None,
    ) -> None:
        self.filt: dict = {} if filt is None else filt
        self.tuples: list = [] if tuples is None else tuples
        self.result = result
        self.date: datetime | None = datetime.now(UTC) if date is None else date

    def toEncodedPayload(self) -> bytes:
        """Encode the whole payload (filt, tuples, result, date) as the wire body."""
        return frames.encodePayload(self.filt, self.tuples, self.result, self.date)

    def toEncodedPayloadDefer(self, reactor: IReactorThreads | None = None) -> Deferred:
        """Deferred variant of :meth:`toEncodedPayload` (threaded for large payloads)."""
        return runDeferred(
            self.toEncodedPayload, inline=len(self.tuples) <= INLINE_MAX_TUPLES, reactor=reactor
        )

    @classmethod
    def fromEncodedPayload(cls, encodedPayload: bytes) -> Payload:
        """Decode a body made by :meth:`toEncodedPayload`; bad input → VortexDecodeError."""
        parts = frames.decodePayload(encodedPayload)
        return cls(filt=parts.filt, tuples=parts.tuples, result=parts.result, date=parts.date)

    @classmethod
    def fromEncodedPayloadDefer(
        cls, encodedPayload: bytes, reactor: IReactorThreads | None = None
    ) -> Deferred:
        """Deferred variant of :meth:`fromEncodedPayload` (threaded for large bodies)."""
        inline = isinstance(encodedPayload, bytes) and len(encodedPayload) <= INLINE_MAX_BYTES
        return runDeferred(cls.fromEncodedPayload, encodedPayload, inline=inline, reactor=reactor)

    def makePayloadEnvelope(
        self, destVortexName: str | None = None, destVortexUuid: str | None = None
    ) -> PayloadEnvelope:
        """Wrap this payload, encoded, in an envelope routed by the same filt/result/date."""
        from vortex.PayloadEnvelope import PayloadEnvelope

        return PayloadEnvelope(
            filt=self.filt,
            encodedPayload=self.toEncodedPayload(),
            destVortexName=destVortexName,
            destVortexUuid=destVortexUuid,
            result=self.result,
            date=self.date,
        )

    def makePayloadEnvelopeDefer(
        self,
        destVortexName: str | None = None,
        destVortexUuid: str | None = None,
        reactor: IReactorThreads | None = None,
    ) -> Deferred:
        """Deferred variant of :meth:`makePayloadEnvelope`."""
        return runDeferred(
            self.makePayloadEnvelope,
            destVortexName,
            destVortexUuid,
            inline=len(self.tuples) <= INLINE_MAX_TUPLES,
            reactor=reactor,
        )

    def toVortexMsg(
        self, destVortexName: str | None = None, destVortexUuid: str | None = None
    ) -> bytes:
        """The complete wire message for this payload (what the manual's providers return)."""
        return self.makePayloadEnvelope(destVortexName, destVortexUuid).toVortexMsg()

    def toVortexMsgDefer(
        self,
        destVortexName: str | None = None,
        destVortexUuid: str | None = None,
        reactor: IReactorThreads | None = None,
    ) -> Deferred:
        """Deferred variant of :meth:`toVortexMsg`."""
        return runDeferred(
            self.toVortexMsg,
            destVortexName,
            destVortexUuid,
            inline=len(self.tuples) <= INLINE_MAX_TUPLES,
            reactor=reactor,
        )

    def __repr__(self) -> str:
        return (
            f"Payload(filt={self.filt!r}, tuples=<{len(self.tuples)}>,"
            f" result={self.result!r}, date={self.date!r})"
        )

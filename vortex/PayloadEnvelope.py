"""PayloadEnvelope: a routable message whose payload body stays encoded until it is needed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred

from vortex.Payload import Payload
from vortex.RequestIdentity import RequestIdentity
from vortex.serialise import frames
from vortex.serialise.deferred import INLINE_MAX_BYTES, runDeferred
from vortex.serialise.errors import VortexDecodeError, VortexEncodeError
from vortex.serialise.tags import DATETIME as DATETIME_TAG

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorThreads

__all__ = ["PayloadEnvelope", "VortexDecodeError", "VortexEncodeError"]


class PayloadEnvelope:
    """Routing header (filt, destination, result, date) around an encoded payload body.

    Proxies read and rewrite the header and forward ``encodedPayload`` byte for byte,
    so the tuples are decoded only by the process that uses them.
    """

    __slots__ = (
        "_date",
        "_dateText",
        "destVortexName",
        "destVortexUuid",
        "encodedPayload",
        "filt",
        "identity",
        "result",
    )

    def __init__(
        self,
        filt: dict | None = None,
        encodedPayload: bytes | None = None,
        destVortexName: str | None = None,
        destVortexUuid: str | None = None,
        result: Any = None,
        date: datetime | None = None,
        identity: RequestIdentity | None = None,
    ) -> None:
        self.filt: dict = {} if filt is None else filt
        #: Who the request is for (``vortex.RequestIdentity``); None for a service's own.
        self.identity = identity
        self.encodedPayload = encodedPayload
        self.destVortexName = destVortexName
        self.destVortexUuid = destVortexUuid
        self.result = result
        self._date: datetime | None = datetime.now(UTC) if date is None else date
        #: A received ``~dt`` date's wire text, parsed only when ``date`` is read.
        self._dateText: str | None = None

    @property
    def date(self) -> datetime | None:
        """When the payload was made; a received date is parsed on first read.

        A received date whose text is not a valid datetime raises VortexDecodeError here.
        """
        if self._dateText is not None:
            self._date = frames.parseDate(self._dateText)
            self._dateText = None
        elif self._date is None:
            self._date = datetime.now(UTC)
        return self._date

    @date.setter
    def date(self, value: datetime | None) -> None:
        self._date = value
        self._dateText = None

    def _inline(self) -> bool:
        return self.encodedPayload is None or len(self.encodedPayload) <= INLINE_MAX_BYTES

    def toVortexMsg(self) -> bytes:
        """The wire message: one header line, then the payload body if there is one."""
        return frames.encodeEnvelopeWire(
            self.filt,
            self.destVortexName,
            self.destVortexUuid,
            self.result,
            self.wireDate(),
            self.encodedPayload,
            self.identity,
        )

    def wireDate(self) -> dict | None:
        """The date as written on the wire; a received date is passed on without parsing."""
        dateText = self._dateText
        if dateText is not None:
            return {DATETIME_TAG: dateText}
        date = self._date
        if type(date) is datetime and (date.tzinfo is UTC or date.tzinfo is None):
            return {DATETIME_TAG: date}  # orjson writes it as isoformat() would
        return frames.wireDate(date)

    def toVortexMsgDefer(self, reactor: IReactorThreads | None = None) -> Deferred:
        """Deferred variant of :meth:`toVortexMsg`."""
        return runDeferred(self.toVortexMsg, inline=self._inline(), reactor=reactor)

    @classmethod
    def fromVortexMsg(cls, vortexMsg: bytes) -> PayloadEnvelope:
        """Parse a wire message's header, keeping the body encoded; bad input: VortexDecodeError."""
        filt, destVortexName, destVortexUuid, result, date, body, identity = frames.decodeHeader(
            vortexMsg
        )
        self = cls.__new__(cls)
        self.filt = filt
        self.identity = identity
        self.encodedPayload = body
        self.destVortexName = destVortexName
        self.destVortexUuid = destVortexUuid
        self.result = result
        if type(date) is str:
            self._date, self._dateText = None, date
        else:
            self._date, self._dateText = date, None
        return self

    @classmethod
    def fromVortexMsgDefer(
        cls, vortexMsg: bytes, reactor: IReactorThreads | None = None
    ) -> Deferred:
        """Deferred variant of :meth:`fromVortexMsg` (inline: only the header is parsed)."""
        return runDeferred(cls.fromVortexMsg, vortexMsg, inline=True, reactor=reactor)

    def decodePayload(self) -> Payload:
        """Decode the body; an envelope without one yields a tuple-less payload of its header."""
        if self.encodedPayload is None:
            return Payload(filt=self.filt, tuples=[], result=self.result, date=self.date)
        return Payload.fromEncodedPayload(self.encodedPayload)

    def decodePayloadDefer(self, reactor: IReactorThreads | None = None) -> Deferred:
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

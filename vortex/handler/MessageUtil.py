"""Pieces shared by RPC, observables and actions: error objects, errors, pending requests.

The message shapes are specified in ``docs/vortex/messaging.rst``.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.python import threadable
from twisted.python.failure import Failure

from vortex.handler.TransientFailure import RetryLaterError, isTransientFailure
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.RequestIdentity import RequestIdentity, missingPermissions
from vortex.serialise import frames
from vortex.VortexFactory import NoVortexException, RemoteVortexInfo, VortexFactory

# Error codes carried in the ``error`` key of an error result object.
ERROR_EXCEPTION = "exception"
ERROR_TIMEOUT = "timeout"
ERROR_REFUSED = "refused"
ERROR_NOT_CONNECTED = "not-connected"
ERROR_NO_DELEGATE = "no-delegate"
ERROR_UNKNOWN_TUPLE = "unknown-tuple"
ERROR_BAD_REQUEST = "bad-request"
ERROR_FORBIDDEN = "forbidden"
#: A transient failure (``TransientFailure.isTransientFailure``): send the request again later.
ERROR_RETRY_LATER = "retry-later"

MAX_ID_LENGTH = 128

_logger = logging.getLogger(__name__)


class VortexRemoteError(Exception):
    """A request was answered with an error object (or failed at a hop on the way)."""

    def __init__(self, code: str, remoteType: str, remoteMessage: str, where: str) -> None:
        super().__init__(f"{where}: {remoteType} ({code}): {remoteMessage}")
        self.code = code
        self.remoteType = remoteType
        self.remoteMessage = remoteMessage
        self.where = where


class VortexRPCError(VortexRemoteError):
    """An RPC failed remotely: ``remoteType``/``remoteMessage`` name the remote exception."""


class TupleActionError(VortexRemoteError):
    """A tuple action was answered with an error (no delegate, delegate raised, timeout...)."""


class TupleObserveError(VortexRemoteError):
    """An observable answered a subscription or poll with an error."""


class VortexTimeoutError(TimeoutError):
    """No response arrived within the request's timeout."""


def errorResult(code: str, errorType: str, message: str) -> dict:
    """The error object put in a response's ``result``."""
    return {"error": code, "type": errorType, "message": message}


def errorResultForFailure(failure: Failure) -> dict:
    """An error object describing a failure: timeouts get the ``timeout`` code, transient
    failures (``isTransientFailure``) ``retry-later``, anything else ``exception``."""
    value = failure.value
    if isinstance(value, (TimeoutError, defer.TimeoutError)):
        return errorResult(ERROR_TIMEOUT, "TimeoutError", str(value) or "timed out")
    if isTransientFailure(value):
        # A driver's text names hosts and statements: a device needs only to wait.
        message = str(value) if isinstance(value, RetryLaterError) else "briefly unavailable"
        return errorResult(ERROR_RETRY_LATER, type(value).__name__, message)
    return errorResult(ERROR_EXCEPTION, type(value).__name__, str(value))


def isErrorResult(result: Any) -> bool:
    """True when a header ``result`` is an error object."""
    return type(result) is dict and "error" in result


def errorFromResult(errorClass: type[VortexRemoteError], result: dict, where: str) -> Exception:
    """Turn a received error object into an exception of errorClass."""
    return errorClass(
        str(result.get("error")), str(result.get("type")), str(result.get("message")), where
    )


def makeErrorMsg(filt: dict, code: str, errorType: str, message: str) -> bytes:
    """A header-only response carrying an error object."""
    return frames.encodeEnvelope(
        filt, None, None, errorResult(code, errorType, message), None, None
    )


def makeMsg(filt: dict, tuples: list, identity: RequestIdentity | None = None) -> bytes:
    """A successful message: header and body with filt and tuples (no date: hot path),
    sent for ``identity`` when one is given."""
    if identity is None:
        return frames.encodeMessage(filt, tuples)
    return frames.encodeMessageWithFilt(frames.encodeFilt(filt), tuples, identity)


class MsgIdFilt:
    """A fixed filt plus a per-message ``msgId``, its JSON made once (request hot path).

    ``msg(msgId, tuples)`` gives the same bytes as ``makeMsg(filt(msgId), tuples)``.
    """

    __slots__ = ("_items", "_prefix")

    def __init__(self, items: dict) -> None:
        self._items = dict(items)
        self._prefix: bytes | None = None
        if "msgId" not in items and frames.isPlainFilt(self._items):
            filtJson = frames.encodeFilt(self._items)
            self._prefix = filtJson[:-1] + (b',"msgId":' if self._items else b'"msgId":')

    def filt(self, msgId: str) -> dict:
        """The filt of the message with this msgId."""
        filt = dict(self._items)
        filt["msgId"] = msgId
        return filt

    def msg(self, msgId: str, tuples: list, identity: RequestIdentity | None = None) -> bytes:
        """A successful message with this msgId and tuples (sent for ``identity``)."""
        if self._prefix is None:
            return makeMsg(self.filt(msgId), tuples, identity)
        return frames.encodeMessageWithFilt(
            self._prefix + orjson.dumps(msgId) + b"}", tuples, identity
        )


def rerouteMsg(
    envelope: PayloadEnvelope, filt: dict, identity: RequestIdentity | None = None
) -> bytes:
    """The same message with a new header filt (and, forwarding for a device, its
    ``identity``); the body is forwarded byte for byte."""
    return frames.encodeEnvelopeWire(
        filt, None, None, envelope.result, envelope.wireDate(), envelope.encodedPayload, identity
    )


def rerouteTail(envelope: PayloadEnvelope) -> bytes:
    """What follows the filt in ``rerouteMsg(envelope, filt)`` (no identity), the same for
    every filt: an update sent on to many subscribers is encoded once (``Target.sendTail``)."""
    return frames.encodeEnvelopeTail(
        None, None, envelope.result, envelope.wireDate(), envelope.encodedPayload
    )


def permissionNames(value: str | Iterable[str] | None, where: str) -> frozenset[str]:
    """A handler's ``requiredPermissions`` as a set (one name may be given as a str)."""
    if value is None:
        return frozenset()
    names = (value,) if isinstance(value, str) else tuple(value)
    for name in names:
        if type(name) is not str or not name:
            raise ValueError(f"{where}: requiredPermissions must be permission names, got {name!r}")
    return frozenset(names)


def refusal(identity: RequestIdentity | None, required: frozenset[str], where: str) -> str | None:
    """Why ``identity`` may not make this request (logged), or None when it may.

    A request without an identity is a service's own and is never refused here.
    """
    if not required or identity is None:
        return None
    missing = missingPermissions(identity, required)
    if not missing:
        return None
    who = "an anonymous device" if identity.isAnonymous else f"user {identity.userName!r}"
    named = ", ".join(repr(p) for p in missing)
    plural = "s" if len(missing) > 1 else ""
    message = f"{where} requires permission{plural} {named}, which {who} does not hold"
    _logger.warning(
        "refused: %s (user id %s, device %s, site %s)",
        message,
        identity.userId,
        identity.deviceId,
        identity.site,
    )
    return message


def decodeTuples(envelope: PayloadEnvelope) -> list:
    """The tuples of a received message (none for a header-only one)."""
    if envelope.encodedPayload is None:
        return []
    return frames.decodePayload(envelope.encodedPayload).tuples


def isValidId(value: Any) -> bool:
    """True for a usable ``msgId``/``subId``: a str of 1 to 128 characters."""
    return type(value) is str and 0 < len(value) <= MAX_ID_LENGTH


def ignoreClosedLink(failure: Failure) -> None:
    """Errback for replies to a peer that has gone: there is nobody left to tell."""
    failure.trap(NoVortexException)


def isInReactorThread() -> bool:
    """True on the reactor's thread (the main thread before the reactor runs)."""
    if threadable.ioThread is not None:
        return threadable.isInIOThread()
    return threading.current_thread() is threading.main_thread()


def resolveFactory(vortexFactory: VortexFactory | None) -> VortexFactory:
    """The given factory, or the process default."""
    return vortexFactory if vortexFactory is not None else VortexFactory.default()


def canReach(factory: VortexFactory, vortexName: str) -> bool:
    """True when a message to vortexName would be delivered (linked, or this process)."""
    return factory.isVortexNameLocal(vortexName) or factory.isVortexNameConnected(vortexName)


def isUpstreamLink(info: RemoteVortexInfo, vortexName: str) -> bool:
    """True when a link event concerns the service vortex named vortexName."""
    return not info.isDevice and info.name == vortexName


class PendingRequests:
    """Outstanding requests by id; each settles exactly once: response, timeout or link loss.

    Timeouts share one timer per instance (a heap of deadlines, the timer set for the
    earliest): a per-request ``addTimeout`` would schedule and cancel a reactor call for
    every request, which costs more than the rest of a small request.
    """

    def __init__(self, clock: IReactorTime, where: str) -> None:
        self._clock = clock
        self._where = where
        self._prefix = uuid.uuid4().hex[:12] + ":"
        self._counter = itertools.count(1)
        self._pending: dict[str, defer.Deferred] = {}
        # (deadline, msgId, timeoutSeconds); entries of settled requests are dropped lazily.
        self._deadlines: list[tuple[float, str, float]] = []
        self._timer: IDelayedCall | None = None
        self._timerAt = 0.0

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, msgId: object) -> bool:
        return type(msgId) is str and msgId in self._pending

    def newId(self) -> str:
        """A fresh id, unique in this process for the life of this object."""
        return self._prefix + str(next(self._counter))

    def add(self, msgId: str, timeoutSeconds: float) -> defer.Deferred:
        """A Deferred for msgId that fails with VortexTimeoutError after timeoutSeconds.

        Cancelling it forgets the request (it fails with CancelledError).
        """
        pending = self._pending

        def cancel(_: defer.Deferred) -> None:
            pending.pop(msgId, None)

        d: defer.Deferred = defer.Deferred(cancel)
        pending[msgId] = d
        deadline = self._clock.seconds() + timeoutSeconds
        deadlines = self._deadlines
        if len(deadlines) > 2 * len(pending) + 64:
            deadlines[:] = [entry for entry in deadlines if entry[1] in pending]
            heapq.heapify(deadlines)
        heapq.heappush(deadlines, (deadline, msgId, timeoutSeconds))
        if self._timer is None or deadline < self._timerAt:
            self._schedule(deadline, timeoutSeconds)
        return d

    def _schedule(self, deadline: float, delay: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timerAt = deadline
        self._timer = self._clock.callLater(delay, self._expire)

    def _expire(self) -> None:
        self._timer = None
        now = self._clock.seconds()
        due = max(now, self._timerAt)  # the clock said it is time; no float rounding games
        deadlines, pending = self._deadlines, self._pending
        while deadlines and deadlines[0][0] <= due:
            _, msgId, timeout = heapq.heappop(deadlines)
            d = pending.pop(msgId, None)
            if d is not None:
                d.errback(VortexTimeoutError(f"{self._where}: no response within {timeout} s"))
        while deadlines and deadlines[0][1] not in pending:
            heapq.heappop(deadlines)
        if deadlines and self._timer is None:
            deadline = deadlines[0][0]
            self._schedule(deadline, max(0.0, deadline - now))

    def resolve(self, msgId: Any, value: Any) -> bool:
        """Fire the request msgId with value; False when it is unknown (late or foreign)."""
        d = self._pending.pop(msgId, None) if type(msgId) is str else None
        if d is None:
            return False
        d.callback(value)
        return True

    def fail(self, msgId: Any, error: Exception | Failure) -> bool:
        """Fail the request msgId; False when it is unknown (late or foreign)."""
        d = self._pending.pop(msgId, None) if type(msgId) is str else None
        if d is None:
            return False
        d.errback(error)
        return True

    def failAll(self, makeError: Callable[[], Exception]) -> None:
        """Fail every outstanding request (the link they went out on is gone)."""
        pending, self._pending = self._pending, {}
        self._deadlines = []
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for d in pending.values():
            d.errback(makeError())

"""Pieces shared by RPC, observables and actions: error objects, errors, pending requests.

The message shapes are specified in ``docs/vortex/messaging.rst``.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.python import threadable
from twisted.python.failure import Failure

from vortex.PayloadEnvelope import PayloadEnvelope
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

MAX_ID_LENGTH = 128


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
    """An error object describing a failure (timeouts get the ``timeout`` code)."""
    value = failure.value
    if isinstance(value, (TimeoutError, defer.TimeoutError)):
        return errorResult(ERROR_TIMEOUT, "TimeoutError", str(value) or "timed out")
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


def makeMsg(filt: dict, tuples: list) -> bytes:
    """A successful message: header and body with filt and tuples (no date: hot path)."""
    return frames.encodeEnvelope(
        filt, None, None, None, None, frames.encodePayload(filt, tuples, None, None)
    )


def rerouteMsg(envelope: PayloadEnvelope, filt: dict) -> bytes:
    """The same message with a new header filt; the body is forwarded byte for byte."""
    return frames.encodeEnvelope(
        filt, None, None, envelope.result, envelope.date, envelope.encodedPayload
    )


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
    """Outstanding requests by id; each settles exactly once: response, timeout or link loss."""

    def __init__(self, clock: Any, where: str) -> None:
        self._clock = clock
        self._where = where
        self._prefix = uuid.uuid4().hex[:12] + ":"
        self._counter = itertools.count(1)
        self._pending: dict[str, defer.Deferred] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, msgId: object) -> bool:
        return type(msgId) is str and msgId in self._pending

    def newId(self) -> str:
        """A fresh id, unique in this process for the life of this object."""
        return self._prefix + str(next(self._counter))

    def add(self, msgId: str, timeoutSeconds: float) -> defer.Deferred:
        """A Deferred for msgId that fails with VortexTimeoutError after timeoutSeconds."""
        pending = self._pending

        def cancel(_: defer.Deferred) -> None:
            pending.pop(msgId, None)

        d: defer.Deferred = defer.Deferred(cancel)
        pending[msgId] = d
        d.addTimeout(timeoutSeconds, self._clock, onTimeoutCancel=self._timedOut)
        return d

    def _timedOut(self, result: Any, timeout: float) -> Any:
        if isinstance(result, Failure) and result.check(defer.CancelledError):
            return Failure(VortexTimeoutError(f"{self._where}: no response within {timeout} s"))
        return result

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
        for d in pending.values():
            d.errback(makeError())

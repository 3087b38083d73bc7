"""Vortex RPC: ``@vortexRPC`` functions run in one service and are called from any other.

Message shapes: ``docs/vortex/messaging.rst`` (section RPC).
"""

from __future__ import annotations

import contextvars
import functools
import logging
import weakref
from collections.abc import Callable, Iterable
from inspect import iscoroutine
from time import perf_counter
from typing import Any

from twisted.internet import defer, threads
from twisted.python.failure import Failure

from vortex.handler.MessageUtil import (
    ERROR_BAD_REQUEST,
    ERROR_FORBIDDEN,
    ERROR_REFUSED,
    ERROR_RETRY_LATER,
    MsgIdFilt,
    PendingRequests,
    VortexRemoteError,
    VortexRPCError,
    VortexTimeoutError,
    decodeTuples,
    errorFromResult,
    errorResultForFailure,
    ignoreClosedLink,
    isErrorResult,
    isUpstreamLink,
    isValidId,
    makeErrorMsg,
    makeMsg,
    permissionNames,
    refusal,
    resolveFactory,
)
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.RequestIdentity import currentIdentity, enterIdentity, leaveIdentity
from vortex.serialise.errors import VortexDecodeError, VortexEncodeError
from vortex.stats import LatencyCounts
from vortex.VortexFactory import (
    NoVortexException,
    RemoteVortexInfo,
    VortexFactory,
    prioritySender,
)

__all__ = [
    "VortexRPCError",
    "VortexRemoteError",
    "VortexTimeoutError",
    "vortexRPC",
]

logger = logging.getLogger(__name__)

CALL_KEY_PREFIX = "vortex.rpc.call:"
RESPONSE_KEY_PREFIX = "vortex.rpc.response:"


class RPCAlreadyStartedError(RuntimeError):
    """``start()`` was called on an RPC that is already registered."""


def vortexRPC(
    listeningVortexName: str,
    timeoutSeconds: float = 30.0,
    acceptOnlyFromVortex: str | Iterable[str] | None = None,
    additionalFilt: dict | None = None,
    deferToThread: bool = False,
    vortexFactory: VortexFactory | None = None,
    requiredPermissions: str | Iterable[str] | None = None,
) -> Callable[[Callable[..., Any]], _VortexRPC]:
    """Decorate a function or method so that calling it anywhere runs it in listeningVortexName.

    The decorated object's ``start(funcSelf=...)`` registers it in the listening service;
    calling it returns a Deferred of the result. A call made for a user (one arriving from
    a device, or made while handling a device's request) needs ``requiredPermissions``
    and runs with that user's identity current; a service's own calls need none.
    """

    def wrap(func: Callable[..., Any]) -> _VortexRPC:
        return _VortexRPC(
            func,
            listeningVortexName,
            timeoutSeconds,
            acceptOnlyFromVortex,
            additionalFilt,
            deferToThread,
            vortexFactory,
            requiredPermissions,
        )

    return wrap


class _VortexRPC:
    """A function callable over the vortex; see :func:`vortexRPC`.

    It is deliberately not a descriptor: ``Class.method(...)`` and ``self.method`` both give
    this object, and calls never pass ``self`` (the listening side supplies ``funcSelf``).
    """

    def __init__(
        self,
        func: Callable[..., Any],
        listeningVortexName: str,
        timeoutSeconds: float,
        acceptOnlyFromVortex: str | Iterable[str] | None,
        additionalFilt: dict | None,
        deferToThread: bool,
        vortexFactory: VortexFactory | None,
        requiredPermissions: str | Iterable[str] | None = None,
    ) -> None:
        functools.update_wrapper(self, func)
        self._func = func
        self.listeningVortexName = listeningVortexName
        self.timeoutSeconds = timeoutSeconds
        if isinstance(acceptOnlyFromVortex, str):
            acceptOnlyFromVortex = (acceptOnlyFromVortex,)
        self.acceptOnlyFromVortex: frozenset[str] | None = (
            None if acceptOnlyFromVortex is None else frozenset(acceptOnlyFromVortex)
        )
        self.additionalFilt = dict(additionalFilt or {})
        self.deferToThread = deferToThread
        self.rpcName = f"{func.__module__}.{func.__qualname__}"
        self.requiredPermissions = permissionNames(requiredPermissions, f"RPC {self.rpcName}")
        self._callFilt = {**self.additionalFilt, "key": CALL_KEY_PREFIX + self.rpcName}
        self._callFiltSize = len(self._callFilt)
        self._responseKey = RESPONSE_KEY_PREFIX + self.rpcName
        # Messages are spliced from the filts' JSON, made once here (hot path).
        self._requestFilt = MsgIdFilt(self._callFilt)
        self._responseFilt = MsgIdFilt({**self._callFilt, "key": self._responseKey})
        self._vortexFactory = vortexFactory
        self._listener: _Listener | None = None
        self._callers: weakref.WeakKeyDictionary[VortexFactory, _Caller] = (
            weakref.WeakKeyDictionary()
        )

    # ---- listening side -----------------------------------------------------------

    def start(self, funcSelf: Any = None, vortexFactory: VortexFactory | None = None) -> _VortexRPC:
        """Register this RPC in this service (whose vortex is the listening one); returns self."""
        if self._listener is not None:
            raise RPCAlreadyStartedError(
                f"RPC {self.rpcName} is already started; call shutdown() before starting it again"
            )
        factory = resolveFactory(vortexFactory or self._vortexFactory)
        if not factory.isVortexNameLocal(self.listeningVortexName):
            raise ValueError(
                f"RPC {self.rpcName} listens on vortex {self.listeningVortexName!r} but this"
                f" process is {factory.vortexName!r}; start it in {self.listeningVortexName!r}"
            )
        self._listener = _Listener(self, factory, funcSelf)
        return self

    def shutdown(self) -> None:
        """Unregister this RPC (calls arriving afterwards are not answered here)."""
        if self._listener is not None:
            self._listener.endpoint.shutdown()
            self._listener = None

    def _invoke(self, factory: VortexFactory, funcSelf: Any, args: list, kwargs: dict) -> Any:
        """Run the function (in a thread when deferToThread), giving a Deferred; it runs with
        the caller's identity current (a thread gets a copy of the caller's context)."""
        if funcSelf is not None:
            args = [funcSelf, *args]
        if self.deferToThread:
            reactor = factory.reactor
            return threads.deferToThreadPool(
                reactor,
                reactor.getThreadPool(),
                contextvars.copy_context().run,
                self._func,
                *args,
                **kwargs,
            )
        return defer.maybeDeferred(self._func, *args, **kwargs)

    # ---- calling side -------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> defer.Deferred:
        """Call the RPC through the default (or decorator-given) vortex factory."""
        return self._call(resolveFactory(self._vortexFactory), args, kwargs)

    def using(self, vortexFactory: VortexFactory) -> Callable[..., defer.Deferred]:
        """A callable that calls this RPC through vortexFactory (tests, several vortexes)."""
        return lambda *args, **kwargs: self._call(vortexFactory, args, kwargs)

    def _call(self, factory: VortexFactory, args: tuple, kwargs: dict) -> defer.Deferred:
        listener = self._listener
        if listener is not None and listener.factory is factory:
            return self._callLocally(listener, list(args), kwargs)
        caller = self._callers.get(factory)
        if caller is None:
            caller = self._callers[factory] = _Caller(self, factory)
        return caller.call(list(args), kwargs)

    def _callLocally(self, listener: _Listener, args: list, kwargs: dict) -> defer.Deferred:
        """Run the RPC here; counted as served here (it runs in this process)."""
        listener.counts.calls += 1
        started = perf_counter()
        d = self._invoke(listener.factory, listener.funcSelf, args, kwargs)
        d.addBoth(_finishCall, listener.counts, started)
        d.addErrback(self._wrapLocalFailure)
        return d

    def _wrapLocalFailure(self, failure: Failure) -> Failure:
        error = VortexRPCError(
            "exception", type(failure.value).__name__, str(failure.value), self.rpcName
        )
        error.__cause__ = failure.value
        return Failure(error)

    def __repr__(self) -> str:
        return f"vortexRPC({self.rpcName!r} on {self.listeningVortexName!r})"


class _Listener:
    """The registration of one RPC in its listening service: one endpoint for all calls."""

    def __init__(self, rpc: _VortexRPC, factory: VortexFactory, funcSelf: Any) -> None:
        self.rpc = rpc
        self.factory = factory
        self.funcSelf = funcSelf
        #: The calls served here (``factory.stats``).
        self.counts = factory.stats.rpcCounts(rpc.rpcName, served=True)
        self.endpoint = PayloadEndpoint(rpc._callFilt, self._onCall, payloadIO=factory.payloadIO)

    def _onCall(
        self,
        envelope: PayloadEnvelope,
        vortexName: str | None = None,
        *,
        sendResponse: Callable[[bytes], defer.Deferred],
        **_: Any,
    ) -> defer.Deferred | None:
        rpc = self.rpc
        counts = self.counts
        counts.calls += 1
        reply = _Reply(rpc, envelope.filt, sendResponse, counts)
        if not isValidId(reply.msgId):
            reply.error(ERROR_BAD_REQUEST, "ValueError", f"RPC {rpc.rpcName}: missing msgId")
            return None
        accept = rpc.acceptOnlyFromVortex
        if accept is not None and vortexName not in accept:
            reply.error(
                ERROR_REFUSED,
                "PermissionError",
                f"RPC {rpc.rpcName} accepts calls only from {sorted(accept)},"
                f" not from {vortexName!r}",
            )
            return None
        try:
            args, kwargs = decodeTuples(envelope)
            if type(args) is not list or type(kwargs) is not dict:
                raise ValueError("tuples must be [args list, kwargs dict]")
        except (VortexDecodeError, ValueError) as e:
            reply.error(
                ERROR_BAD_REQUEST, type(e).__name__, f"RPC {rpc.rpcName}: bad call body: {e}"
            )
            return None
        identity = envelope.identity
        if identity is None:
            return self._run(reply, args, kwargs)
        refused = refusal(identity, rpc.requiredPermissions, f"RPC {rpc.rpcName}")
        if refused is not None:
            reply.error(ERROR_FORBIDDEN, "PermissionError", refused)
            return None
        token = enterIdentity(identity)
        try:
            return self._run(reply, args, kwargs)
        finally:
            leaveIdentity(token)

    def _run(self, reply: _Reply, args: list, kwargs: dict) -> defer.Deferred | None:
        """Call the function as the current identity and answer with its outcome."""
        rpc = self.rpc
        if rpc.deferToThread:
            d = rpc._invoke(self.factory, self.funcSelf, args, kwargs)
            return d.addCallbacks(reply.value, reply.failure)
        # maybeDeferred, inlined: a plain return value is answered without any Deferred.
        if self.funcSelf is not None:
            args = [self.funcSelf, *args]
        try:
            value = rpc._func(*args, **kwargs)
        except Exception:
            reply.failure(Failure())
            return None
        if isinstance(value, defer.Deferred):
            d = value
        elif iscoroutine(value):
            d = defer.Deferred.fromCoroutine(value)
        elif isinstance(value, Failure):
            reply.failure(value)
            return None
        else:
            reply.value(value)
            return None
        return d.addCallbacks(reply.value, reply.failure)


class _Reply:
    """The answer to one call: its response filt is the call's, with the response key."""

    __slots__ = ("_callFilt", "_counts", "_rpc", "_sendResponse", "_started", "msgId")

    def __init__(
        self,
        rpc: _VortexRPC,
        callFilt: dict,
        sendResponse: Callable[[bytes], defer.Deferred],
        counts: LatencyCounts,
    ) -> None:
        self._rpc = rpc
        self._sendResponse = prioritySender(sendResponse)  # never behind a bulk transfer
        self._counts = counts
        self._started = perf_counter()
        # As received: checked by isValidId before the call runs, echoed as is in errors.
        self.msgId: Any = callFilt.get("msgId")
        # The endpoint matched, so a call filt of one more item than the RPC's, that item
        # being the msgId, is exactly the RPC's filt plus the msgId: the response is then
        # spliced from the RPC's precomputed response filt. Other filts are copied now, in
        # case the envelope's filt is changed before an asynchronous result is answered.
        exact = len(callFilt) == rpc._callFiltSize + 1 and "msgId" in callFilt
        self._callFilt = None if exact else dict(callFilt)

    def _filt(self) -> dict:
        if self._callFilt is None:
            return self._rpc._responseFilt.filt(self.msgId)
        filt = dict(self._callFilt)
        filt["key"] = self._rpc._responseKey
        return filt

    def value(self, value: Any) -> None:
        """Send the function's return value (or, if it cannot be encoded, that error)."""
        try:
            if self._callFilt is None:
                msg = self._rpc._responseFilt.msg(self.msgId, [value])
            else:
                msg = makeMsg(self._filt(), [value])
        except VortexEncodeError as e:
            self.failure(Failure(e))
            return
        self._counts.finish(perf_counter() - self._started, False)
        self._sendResponse(msg).addErrback(ignoreClosedLink)

    def failure(self, failure: Failure) -> None:
        """Send the error object of a failed call: ``retry-later`` for a transient failure
        (``TransientFailure.isTransientFailure``), else ``exception``."""
        result = errorResultForFailure(failure)
        code = ERROR_RETRY_LATER if result["error"] == ERROR_RETRY_LATER else "exception"
        self.error(code, result["type"], result["message"])

    def error(self, code: str, errorType: str, message: str) -> None:
        """Send an error object with this code."""
        self._counts.finish(perf_counter() - self._started, True)
        msg = makeErrorMsg(self._filt(), code, errorType, message)
        self._sendResponse(msg).addErrback(ignoreClosedLink)


class _Caller:
    """Calls of one RPC made through one factory: one response endpoint, calls by msgId.

    Only the factory (through its endpoint and listener lists) holds this object strongly;
    it refers back weakly, so a discarded factory is not kept alive by the RPC's cache.
    """

    def __init__(self, rpc: _VortexRPC, factory: VortexFactory) -> None:
        self.rpc = rpc
        self._factoryRef = weakref.ref(factory)
        #: The calls made through this factory (``factory.stats``).
        self.counts = factory.stats.rpcCounts(rpc.rpcName, served=False)
        self.pending = PendingRequests(factory.reactor, f"RPC {rpc.rpcName}")
        self.endpoint = PayloadEndpoint(
            {**rpc.additionalFilt, "key": rpc._responseKey},
            self._onResponse,
            acceptOnlyFromVortex=rpc.listeningVortexName,
            payloadIO=factory.payloadIO,
        )
        factory.addOfflineListener(self._onOffline)

    @property
    def factory(self) -> VortexFactory:
        """The factory these calls go through (alive while anyone calls through it)."""
        factory = self._factoryRef()
        if factory is None:
            raise ReferenceError(f"RPC {self.rpc.rpcName}: its vortex factory was discarded")
        return factory

    def call(self, args: list, kwargs: dict) -> defer.Deferred:
        rpc = self.rpc
        factory = self.factory
        name = rpc.listeningVortexName
        counts = self.counts
        counts.calls += 1
        if factory.isVortexNameLocal(name):
            counts.finish(0.0, True)
            return defer.fail(
                NoVortexException(f"RPC {rpc.rpcName} is not started in this vortex {name!r}")
            )
        if not factory.isVortexNameConnected(name):
            counts.finish(0.0, True)
            return defer.fail(
                NoVortexException(
                    f"RPC {rpc.rpcName}: vortex {name!r} is not connected to {factory.vortexName!r}"
                )
            )
        msgId = self.pending.newId()
        try:
            msg = rpc._requestFilt.msg(msgId, [args, kwargs], currentIdentity())
        except VortexEncodeError as e:
            counts.finish(0.0, True)
            return defer.fail(e)
        d = self.pending.add(msgId, rpc.timeoutSeconds)
        d.addBoth(_finishCall, counts, perf_counter())
        try:
            factory.sendVortexMsgNow(msg, destVortexName=name, priority=True)
        except NoVortexException as e:
            self.pending.fail(msgId, e)
        return d

    def _onResponse(self, envelope: PayloadEnvelope, **_: Any) -> None:
        msgId = envelope.filt.get("msgId")
        if msgId not in self.pending:
            return
        result = envelope.result
        if isErrorResult(result):
            self.pending.fail(msgId, errorFromResult(VortexRPCError, result, self.rpc.rpcName))
            return
        try:
            value = decodeTuples(envelope)[0]
        except (VortexDecodeError, IndexError) as e:
            self.pending.fail(msgId, e)
            return
        self.pending.resolve(msgId, value)

    def _onOffline(self, info: RemoteVortexInfo, reason: str) -> None:
        name = self.rpc.listeningVortexName
        if isUpstreamLink(info, name) and not self.factory.isVortexNameConnected(name):
            self.pending.failAll(
                lambda: NoVortexException(
                    f"RPC {self.rpc.rpcName}: link to {name!r} lost ({reason})"
                )
            )


def _finishCall(result: Any, counts: LatencyCounts, started: float) -> Any:
    """Record a call that settled (a Failure is an error); pass its result on unchanged."""
    counts.finish(perf_counter() - started, isinstance(result, Failure))
    return result

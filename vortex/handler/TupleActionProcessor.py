"""TupleActionProcessor: receives tuple actions and answers each with exactly one response.

Message shapes: ``docs/vortex/messaging.rst`` (section Tuple actions).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterable
from time import perf_counter
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from vortex.handler.MessageUtil import (
    ERROR_BAD_REQUEST,
    ERROR_FORBIDDEN,
    ERROR_NO_DELEGATE,
    ERROR_REFUSED,
    decodeTuples,
    errorResultForFailure,
    ignoreClosedLink,
    isValidId,
    makeErrorMsg,
    makeMsg,
    permissionNames,
    refusal,
    resolveFactory,
)
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.RequestIdentity import runAs
from vortex.serialise.errors import VortexDecodeError, VortexEncodeError
from vortex.Tuple import Tuple
from vortex.TupleAction import TupleActionABC
from vortex.VortexFactory import VortexFactory, prioritySender

ACTION_KEY_PREFIX = "vortex.action:"
RESPONSE_KEY_PREFIX = "vortex.action.response:"

#: How long a delegate may take before the action is answered with a timeout error.
DEFAULT_PROCESS_TIMEOUT_SECONDS = 30.0
#: Actions (by uuid and user) a processor remembers to recognise one pushed again: a device
#: re-sends an action whose answer a dropped link lost, and it must not be applied twice.
RECENT_ACTIONS = 10_000


class TupleActionProcessorDelegateABC(ABC):
    """Processes the actions of one or more tuple types."""

    @abstractmethod
    def processTupleAction(self, tupleAction: TupleActionABC) -> Any:
        """Process one action; return None, a list of tuples, or a Deferred of either."""


class TupleActionProcessor:
    """Dispatches actions sent to ``tupleActionProcessorName`` to the delegate for their type.

    Every action gets exactly one response: the delegate's result tuples, or an error
    (no delegate for the type, a missing permission, the delegate raised, or it took longer
    than timeoutSeconds). A delegate failing only because its database was briefly
    unavailable (``TransientFailure.isTransientFailure``) is answered ``retry-later``, which
    device queues push again. ``requiredPermissions`` here guard every action; those given to
    :meth:`setDelegate` guard that type's actions too. A delegate runs with the request's
    identity current (``vortex.RequestIdentity.currentIdentity``).

    An action pushed again with the same ``uuid`` by the same user (a device's offline queue
    re-sends one whose answer it did not get) is not given to the delegate again: while the
    first is running the repeat waits for its outcome; once it succeeded the repeat gets the
    same result (the last ``RECENT_ACTIONS`` are remembered). A failed action is forgotten,
    so pushing it again tries again.
    """

    def __init__(
        self,
        tupleActionProcessorName: str,
        additionalFilt: dict | None = None,
        defaultDelegate: TupleActionProcessorDelegateABC | None = None,
        acceptOnlyFromVortex: str | Iterable[str] | None = None,
        timeoutSeconds: float = DEFAULT_PROCESS_TIMEOUT_SECONDS,
        vortexFactory: VortexFactory | None = None,
        clock: IReactorTime | None = None,
        requiredPermissions: str | Iterable[str] | None = None,
    ) -> None:
        factory = resolveFactory(vortexFactory)
        self.tupleActionProcessorName = tupleActionProcessorName
        self._where = f"tuple action processor {tupleActionProcessorName!r}"
        self._required = permissionNames(requiredPermissions, self._where)
        self._defaultDelegate = defaultDelegate
        #: By tuple name: the delegate and every permission its actions need.
        self._delegates: dict[str, tuple[TupleActionProcessorDelegateABC, frozenset[str]]] = {}
        if isinstance(acceptOnlyFromVortex, str):
            acceptOnlyFromVortex = (acceptOnlyFromVortex,)
        self._accept = None if acceptOnlyFromVortex is None else frozenset(acceptOnlyFromVortex)
        self._timeoutSeconds = timeoutSeconds
        self._clock: IReactorTime = clock if clock is not None else factory.reactor
        self._responseKey = RESPONSE_KEY_PREFIX + tupleActionProcessorName
        self._counts = factory.stats.actionCounts(tupleActionProcessorName)
        self._recent = _RecentActions(RECENT_ACTIONS)
        self._endpoint = PayloadEndpoint(
            {**(additionalFilt or {}), "key": ACTION_KEY_PREFIX + tupleActionProcessorName},
            self._process,
            payloadIO=factory.payloadIO,
        )

    def setDelegate(
        self,
        tupleName: str | type[Tuple],
        delegate: TupleActionProcessorDelegateABC,
        requiredPermissions: str | Iterable[str] | None = None,
    ) -> None:
        """Send actions of tuple type tupleName (a name or a tuple class) to delegate;
        a device's action also needs ``requiredPermissions``."""
        if isinstance(tupleName, type):
            tupleName = tupleName.tupleName()
        if tupleName in self._delegates:
            raise ValueError(f"{self._where} already has a delegate for {tupleName!r}")
        where = f"{self._where}, {tupleName}"
        self._delegates[tupleName] = (
            delegate,
            self._required | permissionNames(requiredPermissions, where),
        )

    def shutdown(self) -> None:
        """Stop receiving actions."""
        self._endpoint.shutdown()

    def _process(
        self,
        envelope: PayloadEnvelope,
        vortexName: str | None = None,
        *,
        sendResponse: Callable[[bytes], defer.Deferred],
        **_: Any,
    ) -> defer.Deferred | None:
        sendResponse = prioritySender(sendResponse)  # never behind a bulk transfer
        responseFilt = dict(envelope.filt)
        responseFilt["key"] = self._responseKey
        counts = self._counts
        counts.calls += 1
        started = perf_counter()

        def respondError(code: str, errorType: str, message: str) -> None:
            counts.finish(perf_counter() - started, True)
            sendResponse(makeErrorMsg(responseFilt, code, errorType, message)).addErrback(
                ignoreClosedLink
            )

        if not isValidId(responseFilt.get("msgId")):
            respondError(ERROR_BAD_REQUEST, "ValueError", f"{self._where}: missing msgId")
            return None
        if self._accept is not None and vortexName not in self._accept:
            respondError(
                ERROR_REFUSED,
                "PermissionError",
                f"{self._where} accepts actions only from {sorted(self._accept)},"
                f" not from {vortexName!r}",
            )
            return None
        try:
            tuples = decodeTuples(envelope)
        except VortexDecodeError as e:
            respondError(ERROR_BAD_REQUEST, type(e).__name__, f"{self._where}: {e}")
            return None
        if len(tuples) != 1 or not isinstance(tuples[0], TupleActionABC):
            respondError(
                ERROR_BAD_REQUEST,
                "ValueError",
                f"{self._where}: a push must carry exactly one TupleActionABC tuple",
            )
            return None
        action = tuples[0]
        tupleName = action.tupleName()
        delegate, required = self._delegates.get(tupleName, (self._defaultDelegate, self._required))
        if delegate is None:
            respondError(
                ERROR_NO_DELEGATE,
                "LookupError",
                f"{self._where} has no delegate for action tuple {tupleName!r}",
            )
            return None
        identity = envelope.identity
        refused = refusal(identity, required, f"{self._where}, {tupleName}")
        if refused is not None:
            respondError(ERROR_FORBIDDEN, "PermissionError", refused)
            return None

        def succeeded(result: Any) -> None:
            try:
                msg = makeMsg(responseFilt, _resultTuples(result))
            except VortexEncodeError as e:
                failed(Failure(e))
                return
            counts.finish(perf_counter() - started, False)
            sendResponse(msg).addErrback(ignoreClosedLink)

        def failed(failure: Failure) -> None:
            error = errorResultForFailure(failure)
            respondError(
                error["error"], error["type"], f"{self._where}, {tupleName}: {error['message']}"
            )

        # Only a real uuid identifies an action; one without is never taken for a repeat.
        key = None
        if isinstance(action.uuid, str) and action.uuid:
            key = (action.uuid, identity.userId if identity is not None else None)
            earlier = self._recent.outcome(key)
            if earlier is not None:
                earlier.addCallbacks(succeeded, failed)
                return earlier
        d = defer.maybeDeferred(runAs, identity, delegate.processTupleAction, action)
        d.addTimeout(self._timeoutSeconds, self._clock)
        if key is not None:
            self._recent.track(key, d)
        d.addCallbacks(succeeded, failed)
        return d


class _RecentActions:
    """The outcome of recent actions by (uuid, user id): running, or succeeded with a result."""

    def __init__(self, size: int) -> None:
        self._size = size
        #: By key: ``[False, waiters]`` while running, ``[True, result]`` once it succeeded.
        self._entries: OrderedDict[tuple[Any, str | None], list] = OrderedDict()

    def outcome(self, key: tuple[Any, str | None]) -> defer.Deferred | None:
        """A Deferred of the remembered action's outcome, or None when it is not known."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        done, value = entry
        if done:
            return defer.succeed(value)
        waiter: defer.Deferred = defer.Deferred()
        value.append(waiter)
        return waiter

    def track(self, key: tuple[Any, str | None], running: defer.Deferred) -> None:
        """Remember ``running`` (a delegate's outcome) under ``key`` until it fails, or
        until ``size`` newer actions have pushed it out."""
        waiters: list[defer.Deferred] = []
        entry = self._entries[key] = [False, waiters]
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

        def settled(result: Any) -> Any:
            current = self._entries.get(key) is entry
            if isinstance(result, Failure):
                if current:
                    del self._entries[key]
                for waiter in waiters:
                    waiter.errback(result)
            else:
                entry[:] = [True, result]
                for waiter in waiters:
                    waiter.callback(result)
            return result

        running.addBoth(settled)


def _resultTuples(result: Any) -> list:
    """A delegate's result as the response's tuple list."""
    if result is None:
        return []
    if isinstance(result, (list, tuple)):
        return list(result)
    if isinstance(result, Tuple):
        return [result]
    raise VortexEncodeError(
        f"a delegate must return None, a tuple or a list of tuples, got {type(result).__name__}",
        "result",
    )

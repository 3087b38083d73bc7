"""TupleDataObservableHandler: serves tuple data to subscribers and pushes every update.

Message shapes: ``docs/vortex/messaging.rst`` (section Observables).

Ordering and coalescing: per selector at most one provider call is in flight. A notify (or
a new subscriber) during a call only marks who needs data; when the call finishes its
result goes to the subscribers that were waiting for it, and one more call serves everyone
marked meanwhile. So updates are never reordered, and a burst of notifies costs at most
two provider calls.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any

from twisted.internet import defer
from twisted.python.failure import Failure

from vortex.handler.MessageUtil import (
    ERROR_BAD_REQUEST,
    ERROR_FORBIDDEN,
    ERROR_UNKNOWN_TUPLE,
    PendingRequests,
    errorResultForFailure,
    ignoreClosedLink,
    isInReactorThread,
    isValidId,
    makeErrorMsg,
    permissionNames,
    refusal,
    rerouteTail,
    resolveFactory,
)
from vortex.Payload import Payload
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.RequestIdentity import RequestIdentity, runAs
from vortex.serialise import frames
from vortex.TupleSelector import TupleSelector
from vortex.VortexFactory import RemoteVortexInfo, VortexFactory

logger = logging.getLogger(__name__)

REQUEST_KEY_PREFIX = "vortex.observable:"
DATA_KEY_PREFIX = "vortex.observable.data:"
OP_SUBSCRIBE = "subscribe"
OP_UNSUBSCRIBE = "unsubscribe"
OP_POLL = "poll"

#: First item of the keys under which polls wait in ``_Selector.needs``.
_POLL = object()


class TuplesProviderABC(ABC):
    """Produces the current data for a tuple selector."""

    @abstractmethod
    def makeVortexMsg(self, filt: dict, tupleSelector: TupleSelector) -> Any:
        """Return ``Payload(filt, tuples=...).toVortexMsg()`` bytes, or a Deferred of them.

        A Payload or PayloadEnvelope is accepted too.
        """


class Target:
    """Where one subscription's (or poll's) data goes: the link it came from and its subId."""

    __slots__ = ("_filtJson", "dataFilt", "sendResponse", "subId", "vortexUuid")

    def __init__(
        self,
        vortexUuid: str | None,
        subId: str,
        sendResponse: Callable[[bytes], defer.Deferred],
        dataFilt: dict,
    ) -> None:
        self.vortexUuid = vortexUuid
        self.subId = subId
        self.sendResponse = sendResponse
        self.dataFilt = dataFilt
        self._filtJson: bytes | None = None

    def send(self, vortexMsg: bytes) -> None:
        """Send to this target; a link that has gone away is not an error."""
        self.sendResponse(vortexMsg).addErrback(ignoreClosedLink)

    def sendTail(self, tail: bytes) -> None:
        """Send ``rerouteMsg(envelope, dataFilt)`` given ``rerouteTail(envelope)``: the update
        is encoded once for all targets, and this target's filt once for all updates."""
        filtJson = self._filtJson
        if filtJson is None:
            filtJson = self._filtJson = frames.encodeFilt(self.dataFilt)
        self.send(frames.envelopeWithTail(filtJson, tail))


class _Selector:
    """Subscribers of one selector for one user, and the state of its provider calls."""

    __slots__ = ("identity", "key", "needs", "running", "subscribers", "tupleSelector")

    def __init__(
        self, key: str, tupleSelector: TupleSelector, identity: RequestIdentity | None
    ) -> None:
        self.key = key
        self.tupleSelector = tupleSelector
        #: Whom the provider is called for (no device: devices of one user share data).
        self.identity = identity
        #: By (vortexUuid, subId); ``needs`` also holds polls, by (_POLL, vortexUuid, subId).
        self.subscribers: dict[tuple[object, ...], Target] = {}
        self.needs: dict[tuple[object, ...], Target] = {}
        self.running = False


def envelopeFromProvided(provided: Any) -> PayloadEnvelope:
    """The envelope of what a provider returned (vortex message bytes, Payload or envelope)."""
    if isinstance(provided, bytes):
        return PayloadEnvelope.fromVortexMsg(provided)
    if isinstance(provided, PayloadEnvelope):
        return provided
    if isinstance(provided, Payload):
        return provided.makePayloadEnvelope()
    raise TypeError(
        "a tuple provider's makeVortexMsg must return vortex message bytes"
        f" (Payload(filt, tuples=...).toVortexMsg()), got {type(provided).__name__}"
    )


class ObservableRequest:
    """A subscribe/unsubscribe/poll request's fields and the filt of data sent back for it."""

    __slots__ = ("dataFilt", "op", "subId", "tupleSelector")

    def __init__(self, filt: dict, additionalFilt: dict, dataKey: str) -> None:
        # Wire values as received: checked by problem() before use, echoed as is in errors.
        self.op: Any = filt.get("op")
        self.subId: Any = filt.get("subId")
        self.tupleSelector: Any = filt.get("tupleSelector")
        self.dataFilt = {
            **additionalFilt,
            "key": dataKey,
            "subId": self.subId,
            "tupleSelector": self.tupleSelector,
        }

    def problem(self, where: str) -> str | None:
        """What is wrong with the request, or None when it is well formed."""
        if not isValidId(self.subId) or self.op not in (OP_SUBSCRIBE, OP_UNSUBSCRIBE, OP_POLL):
            return (
                f"{where}: a request needs op subscribe/unsubscribe/poll and a subId,"
                f" got op={self.op!r} subId={self.subId!r}"
            )
        if self.op != OP_UNSUBSCRIBE and not isinstance(self.tupleSelector, TupleSelector):
            return f"{where}: {self.op} needs a tupleSelector, got {self.tupleSelector!r}"
        return None

    def respondError(
        self,
        sendResponse: Callable[[bytes], defer.Deferred],
        code: str,
        errorType: str,
        message: str,
    ) -> None:
        """Answer the request with an error data message."""
        sendResponse(makeErrorMsg(self.dataFilt, code, errorType, message)).addErrback(
            ignoreClosedLink
        )

    @classmethod
    def accept(
        cls,
        filt: dict,
        additionalFilt: dict,
        dataKey: str,
        where: str,
        sendResponse: Callable[[bytes], defer.Deferred],
    ) -> ObservableRequest | None:
        """The request in ``filt``, or None after answering a malformed one with bad-request."""
        request = cls(filt, additionalFilt, dataKey)
        problem = request.problem(where)
        if problem is None:
            return request
        request.respondError(sendResponse, ERROR_BAD_REQUEST, "ValueError", problem)
        return None


def sendObservableRequest(
    factory: VortexFactory,
    destVortexName: str,
    requestFilt: dict,
    op: str,
    subId: str,
    tupleSelector: TupleSelector,
    polls: PendingRequests,
    identity: RequestIdentity | None = None,
) -> None:
    """Send a subscribe/unsubscribe/poll request (for ``identity``, when a proxy forwards a
    user's request); a failed send fails a pending poll."""
    filt = {**requestFilt, "op": op, "subId": subId, "tupleSelector": tupleSelector}
    d = factory.sendVortexMsg(
        PayloadEnvelope(filt=filt, identity=identity).toVortexMsg(),
        destVortexName=destVortexName,
    )
    if op == OP_POLL:
        d.addErrback(lambda f: polls.fail(subId, f))
    else:
        d.addErrback(ignoreClosedLink)


class TupleDataObservableHandler:
    """Answers subscriptions to ``observableName`` with data from registered tuple providers.

    Subscriptions are grouped per selector and per user: the provider runs with that user's
    identity current (no device: a user's devices share the data), and a request for a
    provider with ``requiredPermissions`` the user lacks is answered with a ``forbidden``
    error. A service's own subscriptions have no identity and need no permission.
    """

    def __init__(
        self,
        observableName: str,
        additionalFilt: dict | None = None,
        vortexFactory: VortexFactory | None = None,
    ) -> None:
        factory = resolveFactory(vortexFactory)
        self._factory = factory
        self.observableName = observableName
        self._where = f"observable {observableName!r}"
        self._additionalFilt = dict(additionalFilt or {})
        self._dataKey = DATA_KEY_PREFIX + observableName
        self._providers: dict[str, tuple[TuplesProviderABC, frozenset[str]]] = {}
        #: Selector JSON → the selector's subscribers per user (None: a service's own).
        self._selectors: dict[str, dict[RequestIdentity | None, _Selector]] = {}
        #: (vortexUuid, subId) → its selector, for unsubscribe and link loss.
        self._subscriptions: dict[tuple[str | None, str], _Selector] = {}
        self._endpoint = PayloadEndpoint(
            {**self._additionalFilt, "key": REQUEST_KEY_PREFIX + observableName},
            self._onRequest,
            payloadIO=factory.payloadIO,
        )
        self._removeOffline = factory.addOfflineListener(self._onOffline)
        factory.stats.addObservable(self)

    # ---- plugin API ---------------------------------------------------------------

    def addTupleProvider(
        self,
        tupleName: str,
        provider: TuplesProviderABC,
        requiredPermissions: str | Iterable[str] | None = None,
    ) -> None:
        """Serve selectors naming tupleName from provider, to users holding
        ``requiredPermissions``."""
        if tupleName in self._providers:
            raise ValueError(f"{self._where} already has a provider for {tupleName!r}")
        where = f"{self._where}, {tupleName}"
        self._providers[tupleName] = (provider, permissionNames(requiredPermissions, where))

    def hasTupleProvider(self, tupleName: str) -> bool:
        """True when a provider is registered for tupleName."""
        return tupleName in self._providers

    def notifyOfTupleUpdate(self, tupleSelector: TupleSelector) -> None:
        """Send fresh data to every subscriber of tupleSelector; callable from any thread."""
        if not isInReactorThread():
            self._factory.reactor.callFromThread(self.notifyOfTupleUpdate, tupleSelector)
            return
        for selector in list(self._selectors.get(tupleSelector.toJsonStr(), {}).values()):
            if selector.subscribers:
                selector.needs.update(selector.subscribers)
                self._run(selector)

    def notifyOfTupleUpdateForTuple(self, tupleName: str) -> None:
        """Send fresh data to every subscriber of any selector naming tupleName."""
        if not isInReactorThread():
            self._factory.reactor.callFromThread(self.notifyOfTupleUpdateForTuple, tupleName)
            return
        for group in list(self._selectors.values()):
            for selector in list(group.values()):
                if selector.tupleSelector.name == tupleName and selector.subscribers:
                    selector.needs.update(selector.subscribers)
                    self._run(selector)

    def subscriberCount(self, tupleSelector: TupleSelector) -> int:
        """How many subscriptions tupleSelector has (for status pages and tests)."""
        group = self._selectors.get(tupleSelector.toJsonStr(), {})
        return sum(len(selector.subscribers) for selector in group.values())

    def subscriptionCount(self) -> int:
        """How many subscriptions the handler serves, over every selector (for metrics)."""
        return len(self._subscriptions)

    def shutdown(self) -> None:
        """Stop answering requests and forget every subscription."""
        self._factory.stats.removeObservable(self)
        self._endpoint.shutdown()
        self._removeOffline()
        self._selectors.clear()
        self._subscriptions.clear()

    # ---- requests -----------------------------------------------------------------

    def _onRequest(
        self,
        envelope: PayloadEnvelope,
        vortexUuid: str | None = None,
        *,
        sendResponse: Callable[[bytes], defer.Deferred],
        **_: Any,
    ) -> None:
        request = ObservableRequest.accept(
            envelope.filt, self._additionalFilt, self._dataKey, self._where, sendResponse
        )
        if request is None:
            return
        subKey = (vortexUuid, request.subId)
        if request.op == OP_UNSUBSCRIBE:
            self._unsubscribe(subKey)
            return
        tupleSelector = request.tupleSelector
        registered = self._providers.get(tupleSelector.name)
        if registered is None:
            request.respondError(
                sendResponse,
                ERROR_UNKNOWN_TUPLE,
                "LookupError",
                f"{self._where} has no tuple provider for {tupleSelector.name!r}",
            )
            return
        identity = envelope.identity
        refused = refusal(identity, registered[1], f"{self._where}, {tupleSelector.name}")
        if refused is not None:
            request.respondError(sendResponse, ERROR_FORBIDDEN, "PermissionError", refused)
            return
        forUser = None if identity is None else identity.withoutDevice()
        target = Target(vortexUuid, request.subId, sendResponse, request.dataFilt)
        if request.op == OP_SUBSCRIBE:
            self._unsubscribe(subKey)  # first: it may drop the selector it leaves
            self._subscribe(self._selectorFor(tupleSelector, forUser), target)
        else:
            selector = self._selectorFor(tupleSelector, forUser)
            selector.needs[(_POLL, target.vortexUuid, target.subId)] = target
            self._run(selector)

    def _selectorFor(
        self, tupleSelector: TupleSelector, identity: RequestIdentity | None
    ) -> _Selector:
        key = tupleSelector.toJsonStr()
        group = self._selectors.setdefault(key, {})
        selector = group.get(identity)
        if selector is None:
            selector = group[identity] = _Selector(key, tupleSelector, identity)
        return selector

    def _subscribe(self, selector: _Selector, target: Target) -> None:
        subKey = (target.vortexUuid, target.subId)
        self._subscriptions[subKey] = selector
        selector.subscribers[subKey] = target
        selector.needs[subKey] = target
        self._run(selector)

    def _unsubscribe(self, subKey: tuple[str | None, str]) -> None:
        selector = self._subscriptions.pop(subKey, None)
        if selector is None:
            return
        selector.subscribers.pop(subKey, None)
        selector.needs.pop(subKey, None)
        self._dropIfIdle(selector)

    def _isCurrent(self, selector: _Selector) -> bool:
        return self._selectors.get(selector.key, {}).get(selector.identity) is selector

    def _dropIfIdle(self, selector: _Selector) -> None:
        if selector.running or selector.subscribers or selector.needs:
            return
        group = self._selectors.get(selector.key)
        if group is not None and group.get(selector.identity) is selector:
            del group[selector.identity]
            if not group:
                del self._selectors[selector.key]

    def _onOffline(self, info: RemoteVortexInfo, reason: str) -> None:
        gone = [subKey for subKey in self._subscriptions if subKey[0] == info.uuid]
        for subKey in gone:
            self._unsubscribe(subKey)

    # ---- provider calls -------------------------------------------------------------

    def _run(self, selector: _Selector) -> None:
        """Start a provider call for the targets needing data, unless one is in flight."""
        if selector.running or not selector.needs:
            return
        targets = selector.needs
        selector.needs = {}
        selector.running = True
        tupleSelector = selector.tupleSelector
        filt = {**self._additionalFilt, "key": self._dataKey, "tupleSelector": tupleSelector}
        provider = self._providers[tupleSelector.name][0]
        if selector.identity is None:
            d = defer.maybeDeferred(provider.makeVortexMsg, filt, tupleSelector)
        else:
            d = defer.maybeDeferred(
                runAs, selector.identity, provider.makeVortexMsg, filt, tupleSelector
            )
        d.addCallback(envelopeFromProvided)
        d.addCallbacks(
            self._deliver,
            self._deliverError,
            callbackArgs=(selector, targets),
            errbackArgs=(targets,),
        )
        d.addBoth(self._finished, selector)

    def _deliver(
        self,
        envelope: PayloadEnvelope,
        selector: _Selector,
        targets: dict[tuple[object, ...], Target],
    ) -> None:
        subscribers = selector.subscribers
        tail = rerouteTail(envelope)
        for subKey, target in targets.items():
            # Skip subscriptions that ended (or were replaced) while the provider ran.
            if subKey[0] is _POLL or subscribers.get(subKey) is target:
                target.sendTail(tail)

    def _deliverError(self, failure: Failure, targets: dict[tuple[object, ...], Target]) -> None:
        error = errorResultForFailure(failure)
        logger.error("%s: tuple provider failed: %s", self._where, failure.getTraceback().rstrip())
        for target in targets.values():
            target.send(
                makeErrorMsg(
                    target.dataFilt,
                    error["error"],
                    error["type"],
                    f"{self._where}: tuple provider failed: {error['message']}",
                )
            )

    def _finished(self, _: Any, selector: _Selector) -> None:
        selector.running = False
        if not self._isCurrent(selector):
            return
        if selector.needs:
            self._run(selector)
        else:
            self._dropIfIdle(selector)

"""TupleDataObservableProxyHandler: one upstream subscription per selector for many devices.

Runs on field/office. Message shapes: ``docs/vortex/messaging.rst`` (section Observables).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.python.failure import Failure

from vortex.handler.MessageUtil import (
    ERROR_BAD_REQUEST,
    ERROR_NOT_CONNECTED,
    ERROR_UNKNOWN_TUPLE,
    PendingRequests,
    errorResultForFailure,
    isErrorResult,
    isUpstreamLink,
    rerouteMsg,
    resolveFactory,
)
from vortex.handler.TupleDataObservableHandler import (
    DATA_KEY_PREFIX,
    OP_POLL,
    OP_SUBSCRIBE,
    OP_UNSUBSCRIBE,
    REQUEST_KEY_PREFIX,
    ObservableRequest,
    Target,
    sendObservableRequest,
)
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.RequestIdentity import RequestIdentity
from vortex.TupleSelector import TupleSelector
from vortex.VortexFactory import NoVortexException, RemoteVortexInfo, VortexFactory

DEFAULT_IDLE_SECONDS = 30.0
DEFAULT_POLL_TIMEOUT_SECONDS = 30.0

#: Upstream errors after which no upstream subscription exists for the selector.
_FINAL_ERRORS = frozenset((ERROR_UNKNOWN_TUPLE, ERROR_BAD_REQUEST))


#: A proxied selector's key: the selector's JSON and the user it is subscribed for.
_SelectorKey = tuple[str, RequestIdentity | None]


class _ProxiedSelector:
    """One selector for one user: its devices, its upstream subscription id and the last
    upstream data."""

    __slots__ = ("cache", "devices", "identity", "idleCall", "key", "tupleSelector", "upSubId")

    def __init__(
        self,
        key: _SelectorKey,
        tupleSelector: TupleSelector,
        upSubId: str,
        identity: RequestIdentity | None,
    ) -> None:
        self.key = key
        self.tupleSelector = tupleSelector
        self.upSubId = upSubId
        self.identity = identity
        self.devices: dict[tuple[str | None, str], Target] = {}
        self.cache: PayloadEnvelope | None = None
        self.idleCall: IDelayedCall | None = None


class TupleDataObservableProxyHandler:
    """Serves devices' subscriptions to ``observableName`` from proxyToVortexName, with a cache.

    One upstream subscription per selector and user however many of that user's devices
    observe it, made with the user's identity (``vortex.RequestIdentity``, without a
    device) so that logic checks the user's permissions; a new device is answered from the
    cache; the upstream subscription is dropped idleSeconds after the last
    device leaves; after upstream reconnects every active selector is resubscribed and the
    fresh data pushed to every device.
    """

    def __init__(
        self,
        observableName: str,
        proxyToVortexName: str,
        additionalFilt: dict | None = None,
        idleSeconds: float = DEFAULT_IDLE_SECONDS,
        pollTimeoutSeconds: float = DEFAULT_POLL_TIMEOUT_SECONDS,
        vortexFactory: VortexFactory | None = None,
        clock: IReactorTime | None = None,
    ) -> None:
        factory = resolveFactory(vortexFactory)
        self._factory = factory
        self._clock: IReactorTime = clock if clock is not None else factory.reactor
        self.observableName = observableName
        self.proxyToVortexName = proxyToVortexName
        self._idleSeconds = idleSeconds
        self._pollTimeoutSeconds = pollTimeoutSeconds
        self._where = f"observable proxy {observableName!r} (to {proxyToVortexName!r})"
        self._additionalFilt = dict(additionalFilt or {})
        self._requestKey = REQUEST_KEY_PREFIX + observableName
        self._dataKey = DATA_KEY_PREFIX + observableName
        self._selectors: dict[_SelectorKey, _ProxiedSelector] = {}
        self._byUpSubId: dict[str, _ProxiedSelector] = {}
        self._subscriptions: dict[tuple[str | None, str], _ProxiedSelector] = {}
        self._upstreamRequests = PendingRequests(self._clock, self._where)
        self._requestEndpoint = PayloadEndpoint(
            {**self._additionalFilt, "key": self._requestKey},
            self._onRequest,
            payloadIO=factory.payloadIO,
        )
        self._dataEndpoint = PayloadEndpoint(
            {**self._additionalFilt, "key": self._dataKey},
            self._onUpstreamData,
            acceptOnlyFromVortex=proxyToVortexName,
            payloadIO=factory.payloadIO,
        )
        self._removeOnline = factory.addOnlineListener(self._onOnline)
        self._removeOffline = factory.addOfflineListener(self._onOffline)
        factory.stats.addObservableProxy(self)

    def upstreamSubscriptionCount(self) -> int:
        """How many selectors hold an upstream subscription (for status pages and tests)."""
        return len(self._selectors)

    def deviceSubscriptionCount(self) -> int:
        """How many device subscriptions are active (for status pages and tests)."""
        return len(self._subscriptions)

    def cacheEntryCount(self) -> int:
        """How many selectors hold cached upstream data (for metrics)."""
        return sum(1 for selector in self._selectors.values() if selector.cache is not None)

    def shutdown(self) -> None:
        """Stop proxying: unsubscribe upstream, cancel timers, fail outstanding polls."""
        self._factory.stats.removeObservableProxy(self)
        self._requestEndpoint.shutdown()
        self._dataEndpoint.shutdown()
        self._removeOnline()
        self._removeOffline()
        for selector in list(self._selectors.values()):
            self._drop(selector)
        self._upstreamRequests.failAll(lambda: NoVortexException(f"{self._where} shut down"))

    # ---- device requests -------------------------------------------------------------

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
        identity = envelope.identity
        forUser = None if identity is None else identity.withoutDevice()
        target = Target(vortexUuid, request.subId, sendResponse, request.dataFilt)
        if request.op == OP_SUBSCRIBE:
            self._subscribe(request.tupleSelector, forUser, subKey, target)
        else:
            self._poll(request, forUser, target)

    def _subscribe(
        self,
        tupleSelector: TupleSelector,
        forUser: RequestIdentity | None,
        subKey: tuple[str | None, str],
        target: Target,
    ) -> None:
        self._unsubscribe(subKey)
        key = (tupleSelector.toJsonStr(), forUser)
        selector = self._selectors.get(key)
        if selector is None:
            upSubId = self._upstreamRequests.newId()
            selector = _ProxiedSelector(key, tupleSelector, upSubId, forUser)
            self._selectors[key] = selector
            self._byUpSubId[selector.upSubId] = selector
            self._sendUpstream(OP_SUBSCRIBE, selector.upSubId, tupleSelector, forUser)
        if selector.idleCall is not None:
            selector.idleCall.cancel()
            selector.idleCall = None
        selector.devices[subKey] = target
        self._subscriptions[subKey] = selector
        if selector.cache is not None:
            target.send(rerouteMsg(selector.cache, target.dataFilt))

    def _unsubscribe(self, subKey: tuple[str | None, str]) -> None:
        selector = self._subscriptions.pop(subKey, None)
        if selector is None:
            return
        selector.devices.pop(subKey, None)
        if not selector.devices and selector.idleCall is None:
            selector.idleCall = self._clock.callLater(self._idleSeconds, self._idle, selector)

    def _idle(self, selector: _ProxiedSelector) -> None:
        selector.idleCall = None
        if not selector.devices:
            self._drop(selector)

    def _drop(self, selector: _ProxiedSelector) -> None:
        """Forget a selector and end its upstream subscription."""
        if selector.idleCall is not None:
            selector.idleCall.cancel()
            selector.idleCall = None
        self._selectors.pop(selector.key, None)
        self._byUpSubId.pop(selector.upSubId, None)
        for subKey in selector.devices:
            self._subscriptions.pop(subKey, None)
        self._sendUpstream(
            OP_UNSUBSCRIBE, selector.upSubId, selector.tupleSelector, selector.identity
        )

    def _poll(
        self, request: ObservableRequest, forUser: RequestIdentity | None, target: Target
    ) -> None:
        selector = self._selectors.get((request.tupleSelector.toJsonStr(), forUser))
        if selector is not None and selector.cache is not None:
            target.send(rerouteMsg(selector.cache, target.dataFilt))
            return
        if not self._factory.isVortexNameConnected(self.proxyToVortexName):
            request.respondError(
                target.sendResponse,
                ERROR_NOT_CONNECTED,
                "NoVortexException",
                f"{self._where}: {self.proxyToVortexName!r} is not connected",
            )
            return

        def relay(upEnvelope: PayloadEnvelope) -> None:
            target.send(rerouteMsg(upEnvelope, target.dataFilt))

        def failed(failure: Failure) -> None:
            if failure.check(NoVortexException):
                code, errorType, message = ERROR_NOT_CONNECTED, "NoVortexException", None
            else:
                error = errorResultForFailure(failure)
                code, errorType, message = error["error"], error["type"], None
            request.respondError(
                target.sendResponse, code, errorType, message or str(failure.value)
            )

        pollId = self._upstreamRequests.newId()
        self._upstreamRequests.add(pollId, self._pollTimeoutSeconds).addCallbacks(relay, failed)
        self._sendUpstream(OP_POLL, pollId, request.tupleSelector, forUser)

    # ---- upstream ---------------------------------------------------------------------

    def _sendUpstream(
        self,
        op: str,
        subId: str,
        tupleSelector: TupleSelector,
        identity: RequestIdentity | None,
    ) -> None:
        """Send a request upstream for ``identity``; while upstream is down the online
        listener catches up later."""
        if not self._factory.isVortexNameConnected(self.proxyToVortexName):
            if op == OP_POLL:
                self._upstreamRequests.fail(
                    subId, NoVortexException(f"{self._where}: upstream is not connected")
                )
            return
        sendObservableRequest(
            self._factory,
            self.proxyToVortexName,
            {**self._additionalFilt, "key": self._requestKey},
            op,
            subId,
            tupleSelector,
            self._upstreamRequests,
            identity,
        )

    def _onUpstreamData(self, envelope: PayloadEnvelope, **_: Any) -> None:
        subId = envelope.filt.get("subId")
        if self._upstreamRequests.resolve(subId, envelope):
            return
        selector = self._byUpSubId.get(subId) if type(subId) is str else None
        if selector is None:
            return
        result = envelope.result
        if isErrorResult(result):
            for target in list(selector.devices.values()):
                target.send(rerouteMsg(envelope, target.dataFilt))
            if result.get("error") in _FINAL_ERRORS:
                self._drop(selector)
            return
        selector.cache = envelope
        for target in selector.devices.values():
            target.send(rerouteMsg(envelope, target.dataFilt))

    def _onOnline(self, info: RemoteVortexInfo) -> None:
        if not isUpstreamLink(info, self.proxyToVortexName):
            return
        for selector in list(self._selectors.values()):
            self._sendUpstream(
                OP_SUBSCRIBE, selector.upSubId, selector.tupleSelector, selector.identity
            )

    def _onOffline(self, info: RemoteVortexInfo, reason: str) -> None:
        name = self.proxyToVortexName
        if isUpstreamLink(info, name):
            if not self._factory.isVortexNameConnected(name):
                self._upstreamRequests.failAll(
                    lambda: NoVortexException(f"{self._where}: link to {name!r} lost ({reason})")
                )
            return
        gone = [subKey for subKey in self._subscriptions if subKey[0] == info.uuid]
        for subKey in gone:
            self._unsubscribe(subKey)

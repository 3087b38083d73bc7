"""TupleDataObservableProxyHandler: one upstream subscription per selector for many devices.

Runs on field/office. Message shapes: ``docs/vortex/messaging.rst`` (section Observables).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import Future
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
    rerouteTail,
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
from vortex.serialise import frames
from vortex.serialise.errors import VortexDecodeError
from vortex.storage.tuple_store_sqlite import TupleStoreSqlite
from vortex.TupleSelector import TupleSelector
from vortex.VortexFactory import NoVortexException, RemoteVortexInfo, VortexFactory

logger = logging.getLogger(__name__)

DEFAULT_IDLE_SECONDS = 30.0
DEFAULT_POLL_TIMEOUT_SECONDS = 30.0

#: Upstream errors after which no upstream subscription exists for the selector.
_FINAL_ERRORS = frozenset((ERROR_UNKNOWN_TUPLE, ERROR_BAD_REQUEST))


#: A proxied selector's key: the selector's JSON and the user it is subscribed for.
_SelectorKey = tuple[str, RequestIdentity | None]


class _ProxiedSelector:
    """One selector for one user: its devices, its upstream subscription id and the last
    upstream data."""

    __slots__ = (
        "cache",
        "cacheTail",
        "devices",
        "identity",
        "idleCall",
        "key",
        "tupleSelector",
        "upSubId",
    )

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
        #: ``rerouteTail(cache)``: the cached data encoded once for every device.
        self.cacheTail = b""
        self.idleCall: IDelayedCall | None = None


class TupleDataObservableProxyHandler:
    """Serves devices' subscriptions to ``observableName`` from proxyToVortexName, with a cache.

    One upstream subscription per selector and user however many of that user's devices
    observe it, made with the user's identity (``vortex.RequestIdentity``, without a
    device) so that logic checks the user's permissions; a new device is answered from the
    cache; the upstream subscription is dropped idleSeconds after the last
    device leaves; after upstream reconnects every active selector is resubscribed and the
    fresh data pushed to every device.

    With a ``tupleStore`` (by default ``vortexFactory.tupleStore``, which field and office
    set) the cache is also kept on disk: a selector new to this process is answered from the
    stored copy at once, and a poll while upstream is down is answered from it.
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
        tupleStore: TupleStoreSqlite | None = None,
    ) -> None:
        factory = resolveFactory(vortexFactory)
        self._store = tupleStore if tupleStore is not None else factory.tupleStore
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
        #: Stored copies are keyed by this observable's filt, the selector and the user.
        self._storePrefix = json.dumps(
            {**self._additionalFilt, "key": self._dataKey}, sort_keys=True
        )
        self._selectors: dict[_SelectorKey, _ProxiedSelector] = {}
        self._byUpSubId: dict[str, _ProxiedSelector] = {}
        self._subscriptions: dict[tuple[str | None, str], _ProxiedSelector] = {}
        #: The keys of ``_subscriptions`` by device uuid: a device's link going down costs
        #: its own subscriptions, not a scan of every device's.
        self._subKeysOf: dict[str | None, set[tuple[str | None, str]]] = {}
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
            self._restore(selector)
        if selector.idleCall is not None:
            selector.idleCall.cancel()
            selector.idleCall = None
        selector.devices[subKey] = target
        self._subscriptions[subKey] = selector
        self._subKeysOf.setdefault(subKey[0], set()).add(subKey)
        if selector.cache is not None:
            target.sendTail(selector.cacheTail)

    def _unsubscribe(self, subKey: tuple[str | None, str]) -> None:
        selector = self._subscriptions.pop(subKey, None)
        if selector is None:
            return
        self._forgetSubKey(subKey)
        selector.devices.pop(subKey, None)
        if not selector.devices and selector.idleCall is None:
            selector.idleCall = self._clock.callLater(self._idleSeconds, self._idle, selector)

    def _forgetSubKey(self, subKey: tuple[str | None, str]) -> None:
        keys = self._subKeysOf.get(subKey[0])
        if keys is not None:
            keys.discard(subKey)
            if not keys:
                del self._subKeysOf[subKey[0]]

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
            if self._subscriptions.pop(subKey, None) is not None:
                self._forgetSubKey(subKey)
        self._sendUpstream(
            OP_UNSUBSCRIBE, selector.upSubId, selector.tupleSelector, selector.identity
        )

    def _poll(
        self, request: ObservableRequest, forUser: RequestIdentity | None, target: Target
    ) -> None:
        selector = self._selectors.get((request.tupleSelector.toJsonStr(), forUser))
        if selector is not None and selector.cache is not None:
            target.sendTail(selector.cacheTail)
            return
        if not self._factory.isVortexNameConnected(self.proxyToVortexName):
            if self._store is None:
                self._pollWhileDown(None, request, target)
            else:
                key = (request.tupleSelector.toJsonStr(), forUser)
                self._readStored(key).addCallback(self._pollWhileDown, request, target)
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
        tail = rerouteTail(envelope)
        if isErrorResult(result):
            for target in list(selector.devices.values()):
                target.sendTail(tail)
            if result.get("error") in _FINAL_ERRORS:
                if self._store is not None:
                    self._store.delete(self._storeKey(selector.key))
                self._drop(selector)
            return
        selector.cache = envelope
        selector.cacheTail = tail
        if self._store is not None:
            self._store.save(self._storeKey(selector.key), tail)
        for target in selector.devices.values():
            target.sendTail(tail)

    # ---- disk store -------------------------------------------------------------------

    def _storeKey(self, key: _SelectorKey) -> str:
        selectorJson, identity = key
        user = "" if identity is None else identity.wireJson().decode()
        return f"{self._storePrefix}\n{selectorJson}\n{user}"

    def _readStored(self, key: _SelectorKey) -> defer.Deferred:
        """Fires (on the reactor thread) with the stored copy of ``key``'s data or None,
        read and decoded on the store's reader thread, never on the reactor thread."""
        assert self._store is not None
        d: defer.Deferred = defer.Deferred()
        callFromThread = self._factory.reactor.callFromThread

        def fire(future: Future) -> None:
            error = future.exception()
            if error is None:
                d.callback(future.result())
            else:
                logger.error("%s: reading the disk cache failed: %s", self._where, error)
                d.callback(None)

        future = self._store.submitRead(self._loadStored, key)
        future.add_done_callback(lambda future: callFromThread(fire, future))
        return d

    def _loadStored(self, key: _SelectorKey) -> tuple[PayloadEnvelope, bytes] | None:
        """The stored copy of ``key``'s data (envelope and tail), or None; a stored copy
        that no longer decodes is deleted. Runs on the store's reader thread."""
        if self._store is None:
            return None
        storeKey = self._storeKey(key)
        tail = self._store.load(storeKey)
        if tail is None:
            return None
        try:
            envelope = PayloadEnvelope.fromVortexMsg(frames.envelopeWithTail(b"{}", tail))
        except (VortexDecodeError, ValueError):
            self._store.delete(storeKey)
            return None
        return envelope, tail

    def _restore(self, selector: _ProxiedSelector) -> None:
        """Fill a new selector's cache from the store and send it to its devices, unless
        upstream data came first (upstream data replaces it anyway)."""
        if self._store is not None:
            self._readStored(selector.key).addCallback(self._restored, selector)

    def _restored(
        self, stored: tuple[PayloadEnvelope, bytes] | None, selector: _ProxiedSelector
    ) -> None:
        if stored is None or selector.cache is not None:
            return
        if self._selectors.get(selector.key) is not selector:
            return
        selector.cache, selector.cacheTail = stored
        for target in selector.devices.values():
            target.sendTail(selector.cacheTail)

    def _pollWhileDown(
        self,
        stored: tuple[PayloadEnvelope, bytes] | None,
        request: ObservableRequest,
        target: Target,
    ) -> None:
        """Answer a poll while upstream is down: the stored copy, or ``not-connected``."""
        if stored is not None:
            target.sendTail(stored[1])
            return
        request.respondError(
            target.sendResponse,
            ERROR_NOT_CONNECTED,
            "NoVortexException",
            f"{self._where}: {self.proxyToVortexName!r} is not connected",
        )

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
        for subKey in list(self._subKeysOf.get(info.uuid, ())):
            self._unsubscribe(subKey)

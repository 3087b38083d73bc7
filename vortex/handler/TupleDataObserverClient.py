"""TupleDataObserverClient: observe an observable from Python (agents, scripts, tests).

Message shapes: ``docs/vortex/messaging.rst`` (section Observables).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from twisted.internet import defer

from vortex.handler.MessageUtil import (
    PendingRequests,
    TupleObserveError,
    canReach,
    decodeTuples,
    errorFromResult,
    isErrorResult,
    isUpstreamLink,
    resolveFactory,
)
from vortex.handler.TupleDataObservableHandler import (
    DATA_KEY_PREFIX,
    OP_POLL,
    OP_SUBSCRIBE,
    OP_UNSUBSCRIBE,
    REQUEST_KEY_PREFIX,
    sendObservableRequest,
)
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.serialise.errors import VortexDecodeError
from vortex.TupleSelector import TupleSelector
from vortex.VortexFactory import NoVortexException, RemoteVortexInfo, VortexFactory

logger = logging.getLogger(__name__)

DEFAULT_POLL_TIMEOUT_SECONDS = 30.0

TuplesCallback = Callable[[list], Any]
ErrorCallback = Callable[[Exception], Any]


class TupleDataSubscription:
    """One subscription made by :meth:`TupleDataObserverClient.subscribeToTupleSelector`."""

    def __init__(
        self,
        client: TupleDataObserverClient,
        subId: str,
        tupleSelector: TupleSelector,
        callback: TuplesCallback,
        onError: ErrorCallback | None,
    ) -> None:
        self._client = client
        self.subId = subId
        self.tupleSelector = tupleSelector
        self.callback = callback
        self.onError = onError

    def unsubscribe(self) -> None:
        """End the subscription; no callbacks follow."""
        self._client._unsubscribe(self)


class TupleDataObserverClient:
    """Subscribes to ``observableName`` on destVortexName (a handler, or a device proxy)."""

    def __init__(
        self,
        destVortexName: str,
        observableName: str,
        additionalFilt: dict | None = None,
        pollTimeoutSeconds: float = DEFAULT_POLL_TIMEOUT_SECONDS,
        vortexFactory: VortexFactory | None = None,
    ) -> None:
        factory = resolveFactory(vortexFactory)
        self._factory = factory
        self.destVortexName = destVortexName
        self._pollTimeoutSeconds = pollTimeoutSeconds
        self._where = f"observable {observableName!r} on {destVortexName!r}"
        self._additionalFilt = dict(additionalFilt or {})
        self._requestKey = REQUEST_KEY_PREFIX + observableName
        self._subscriptions: dict[str, TupleDataSubscription] = {}
        self._polls = PendingRequests(factory.reactor, self._where)
        self._endpoint = PayloadEndpoint(
            {**self._additionalFilt, "key": DATA_KEY_PREFIX + observableName},
            self._onData,
            acceptOnlyFromVortex=destVortexName,
            payloadIO=factory.payloadIO,
        )
        self._removeOnline = factory.addOnlineListener(self._onOnline)
        self._removeOffline = factory.addOfflineListener(self._onOffline)

    def subscribeToTupleSelector(
        self,
        tupleSelector: TupleSelector,
        callback: TuplesCallback,
        onError: ErrorCallback | None = None,
    ) -> TupleDataSubscription:
        """Call callback(tuples) with the current data and after every update.

        Subscribes now if the destination is connected, else once it connects, and again
        after every reconnect. Errors go to onError (or are logged when it is None).
        """
        subscription = TupleDataSubscription(
            self, self._polls.newId(), tupleSelector, callback, onError
        )
        self._subscriptions[subscription.subId] = subscription
        self._send(OP_SUBSCRIBE, subscription.subId, tupleSelector)
        return subscription

    def pollForTuples(self, tupleSelector: TupleSelector) -> defer.Deferred:
        """Get the current data once: a Deferred of the tuple list."""
        if not canReach(self._factory, self.destVortexName):
            return defer.fail(
                NoVortexException(f"{self._where}: {self.destVortexName!r} is not connected")
            )
        pollId = self._polls.newId()
        d = self._polls.add(pollId, self._pollTimeoutSeconds)
        self._send(OP_POLL, pollId, tupleSelector)
        return d

    def shutdown(self) -> None:
        """Unsubscribe everything and stop listening; outstanding polls fail."""
        for subscription in list(self._subscriptions.values()):
            self._unsubscribe(subscription)
        self._endpoint.shutdown()
        self._removeOnline()
        self._removeOffline()
        self._polls.failAll(lambda: NoVortexException(f"{self._where}: client shut down"))

    def _unsubscribe(self, subscription: TupleDataSubscription) -> None:
        if self._subscriptions.pop(subscription.subId, None) is not None:
            self._send(OP_UNSUBSCRIBE, subscription.subId, subscription.tupleSelector)

    def _send(self, op: str, subId: str, tupleSelector: TupleSelector) -> None:
        if not canReach(self._factory, self.destVortexName):
            return  # subscriptions are (re)sent by _onOnline; polls fail before getting here
        sendObservableRequest(
            self._factory,
            self.destVortexName,
            {**self._additionalFilt, "key": self._requestKey},
            op,
            subId,
            tupleSelector,
            self._polls,
        )

    def _onData(self, envelope: PayloadEnvelope, **_: Any) -> None:
        subId = envelope.filt.get("subId")
        subscription = self._subscriptions.get(subId) if type(subId) is str else None
        if subscription is None and subId not in self._polls:
            return
        try:
            if isErrorResult(envelope.result):
                raise errorFromResult(TupleObserveError, envelope.result, self._where)
            tuples = decodeTuples(envelope)
        except (TupleObserveError, VortexDecodeError) as e:
            if subscription is None:
                self._polls.fail(subId, e)
            elif subscription.onError is not None:
                subscription.onError(e)
            else:
                logger.error("%s, selector %r: %s", self._where, subscription.tupleSelector, e)
            return
        if subscription is None:
            self._polls.resolve(subId, tuples)
        else:
            subscription.callback(tuples)

    def _onOnline(self, info: RemoteVortexInfo) -> None:
        if isUpstreamLink(info, self.destVortexName):
            for subscription in list(self._subscriptions.values()):
                self._send(OP_SUBSCRIBE, subscription.subId, subscription.tupleSelector)

    def _onOffline(self, info: RemoteVortexInfo, reason: str) -> None:
        name = self.destVortexName
        if isUpstreamLink(info, name) and not self._factory.isVortexNameConnected(name):
            self._polls.failAll(
                lambda: NoVortexException(f"{self._where}: link to {name!r} lost ({reason})")
            )

"""PayloadIO: routes each received envelope to every PayloadEndpoint whose filt it matches."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from inspect import iscoroutine
from typing import TYPE_CHECKING, Any

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from vortex.PayloadEnvelope import PayloadEnvelope

if TYPE_CHECKING:
    from vortex.PayloadEndpoint import PayloadEndpoint

#: Endpoints whose filt has this key are indexed by its value, so dispatch stays cheap
#: when thousands of endpoints (one per in-flight call) are registered.
INDEX_KEY = "key"


def filtMatches(pattern: dict, filt: dict) -> bool:
    """True when every key of pattern is in filt with a deeply equal value (types included)."""
    get = filt.get
    for key, expected in pattern.items():
        actual = get(key, _MISSING)
        kind = type(expected)
        if type(actual) is not kind:
            return False
        if kind is dict or kind is list:
            if not valuesEqual(expected, actual):
                return False
        elif actual != expected:
            return False
    return True


_MISSING = object()


def valuesEqual(a: Any, b: Any) -> bool:
    """Deep equality that keeps bool, int and float apart (``1 != True != 1.0``)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(valuesEqual(v, b[k]) for k, v in a.items())
    if type(a) is list:
        return len(a) == len(b) and all(valuesEqual(x, y) for x, y in zip(a, b, strict=True))
    return a == b


class PayloadIO:
    """A dispatcher that PayloadEndpoints register with; the transport feeds it envelopes."""

    _default: PayloadIO | None = None

    def __init__(self, log: Logger | None = None) -> None:
        self._log = log or Logger()
        self._byKey: dict[Hashable, dict[PayloadEndpoint, None]] = {}
        self._unindexed: dict[PayloadEndpoint, None] = {}
        self._order: dict[PayloadEndpoint, int] = {}
        self._counter = 0

    @classmethod
    def default(cls) -> PayloadIO:
        """The process-wide instance used by endpoints created without one (manual API)."""
        if PayloadIO._default is None:
            PayloadIO._default = PayloadIO()
        return PayloadIO._default

    @staticmethod
    def _indexValue(filt: dict) -> Hashable | None:
        value = filt.get(INDEX_KEY)
        return value if type(value) is str else None

    def add(self, endpoint: PayloadEndpoint) -> None:
        """Register endpoint; it receives envelopes from the next dispatch on."""
        if endpoint in self._order:
            return
        self._counter += 1
        self._order[endpoint] = self._counter
        key = self._indexValue(endpoint.filt)
        bucket = self._unindexed if key is None else self._byKey.setdefault(key, {})
        bucket[endpoint] = None

    def remove(self, endpoint: PayloadEndpoint) -> None:
        """Unregister endpoint; removing one that is not registered does nothing."""
        if self._order.pop(endpoint, None) is None:
            return
        key = self._indexValue(endpoint.filt)
        if key is None:
            del self._unindexed[endpoint]
            return
        bucket = self._byKey[key]
        del bucket[endpoint]
        if not bucket:
            del self._byKey[key]

    def isRegistered(self, endpoint: PayloadEndpoint) -> bool:
        """True while endpoint is registered here."""
        return endpoint in self._order

    def endpointCount(self) -> int:
        """How many endpoints are registered."""
        return len(self._order)

    def _candidates(self, filt: dict) -> list[PayloadEndpoint]:
        key = self._indexValue(filt)
        bucket = self._byKey.get(key) if key is not None else None
        if not bucket:
            return list(self._unindexed)
        if not self._unindexed:
            return list(bucket)
        order = self._order
        return sorted([*bucket, *self._unindexed], key=order.__getitem__)

    def process(
        self,
        payloadEnvelope: PayloadEnvelope,
        vortexUuid: str | None = None,
        vortexName: str | None = None,
        sendResponse: Callable[..., Any] | None = None,
        **kwargs: Any,
    ) -> defer.Deferred:
        """Call every matching endpoint, in registration order.

        The endpoint list is copied first, so callbacks may add or shut down endpoints;
        an endpoint shut down by an earlier callback of the same dispatch is skipped.
        vortexName/vortexUuid must be the sender's authenticated identity.
        Returns a Deferred firing with the number of endpoints called, once their
        results (Deferreds or coroutines) have settled; a failing callback is logged
        with its filt and does not stop the others.
        """
        count, pending = self._dispatch(
            payloadEnvelope, vortexUuid, vortexName, sendResponse, kwargs
        )
        if pending is None:
            return defer.succeed(count)
        return defer.gatherResults(pending).addCallback(lambda _: count)

    def dispatch(
        self,
        payloadEnvelope: PayloadEnvelope,
        vortexUuid: str | None,
        vortexName: str | None,
        sendResponse: Callable[..., Any] | None,
    ) -> None:
        """:meth:`process` for the transport, which does not wait: no Deferred is built.

        Failures of asynchronous callback results are still logged.
        """
        self._dispatch(payloadEnvelope, vortexUuid, vortexName, sendResponse, None)

    def _dispatch(
        self,
        payloadEnvelope: PayloadEnvelope,
        vortexUuid: str | None,
        vortexName: str | None,
        sendResponse: Callable[..., Any] | None,
        kwargs: dict | None,
    ) -> tuple[int, list[defer.Deferred] | None]:
        # Hot path: callbacks are called directly; Deferred machinery is only built for
        # callbacks that return a Deferred or a coroutine (maybeDeferred semantics).
        filt = payloadEnvelope.filt
        order = self._order
        pending: list[defer.Deferred] | None = None
        count = 0
        key = filt.get(INDEX_KEY)
        bucket = self._byKey.get(key) if type(key) is str else None
        # Copies: callbacks may add or remove endpoints while we iterate.
        candidates = tuple(bucket) if bucket and not self._unindexed else self._candidates(filt)
        for endpoint in candidates:
            if endpoint not in order or not endpoint.accepts(filt, vortexName):
                continue
            count += 1
            try:
                if kwargs:
                    result = endpoint.callback(
                        payloadEnvelope,
                        vortexUuid=vortexUuid,
                        vortexName=vortexName,
                        sendResponse=sendResponse,
                        **kwargs,
                    )
                else:
                    result = endpoint.callback(
                        payloadEnvelope,
                        vortexUuid=vortexUuid,
                        vortexName=vortexName,
                        sendResponse=sendResponse,
                    )
            except Exception:
                self._logFailure(Failure(), endpoint, vortexName)
                continue
            if result is None:
                continue
            if isinstance(result, defer.Deferred):
                d = result
            elif iscoroutine(result):
                d = defer.Deferred.fromCoroutine(result)
            elif isinstance(result, Failure):
                self._logFailure(result, endpoint, vortexName)
                continue
            else:
                continue
            d.addErrback(self._logFailure, endpoint, vortexName)
            if pending is None:
                pending = []
            pending.append(d)
        return count, pending

    def processVortexMsg(self, vortexMsg: bytes, **kwargs: Any) -> defer.Deferred:
        """Parse a wire message's header and dispatch it; VortexDecodeError is raised as is."""
        return self.process(PayloadEnvelope.fromVortexMsg(vortexMsg), **kwargs)

    def _logFailure(self, failure: Any, endpoint: PayloadEndpoint, vortexName: str | None) -> None:
        self._log.failure(
            "PayloadEndpoint callback {callback!r} for filt {filt!r} failed handling a payload"
            " from vortex {vortexName!r}",
            failure,
            callback=endpoint.callback,
            filt=endpoint.filt,
            vortexName=vortexName,
        )

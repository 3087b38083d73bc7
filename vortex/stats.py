"""Plain counters of one ``VortexFactory``: links, traffic, RPCs, actions and observables.

The hot paths only add to ints (and one float per request) on objects made once per link,
RPC or processor: no locks, because everything counted runs on the reactor thread, and no
formatting. An exporter (``peek_platform.metrics``) reads them when it is scraped; nothing
here knows how they are published.
"""

from __future__ import annotations

import weakref
from bisect import bisect_left
from typing import Protocol

#: Upper bounds, in seconds, of the latency buckets; one more bucket takes everything slower.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)

#: The peer every device (browser) link is counted under: one series for all of them.
DEVICE_PEER = "device"


class LatencyCounts:
    """Requests of one name: how many arrived (or were made), failed, and how long each took.

    ``buckets[i]`` counts the requests that took at most ``LATENCY_BUCKETS[i]`` seconds and
    more than the bound before it (the last one: more than every bound), so not cumulative.
    """

    __slots__ = ("buckets", "calls", "errors", "seconds")

    def __init__(self) -> None:
        #: Requests received (or made); counted when they start.
        self.calls = 0
        #: Requests that ended in an error.
        self.errors = 0
        #: Total seconds of the finished requests.
        self.seconds = 0.0
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)

    def finish(self, seconds: float, failed: bool) -> None:
        """Record one finished request that took ``seconds``."""
        self.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.seconds += seconds
        if failed:
            self.errors += 1

    @property
    def finished(self) -> int:
        """Requests finished (the histogram's count)."""
        return sum(self.buckets)


class LinkTraffic:
    """Payload messages and bytes moved over links (heartbeats and handshakes not counted)."""

    __slots__ = ("receivedBytes", "receivedMessages", "sentBytes", "sentMessages")

    def __init__(
        self,
        receivedMessages: int = 0,
        receivedBytes: int = 0,
        sentMessages: int = 0,
        sentBytes: int = 0,
    ) -> None:
        self.receivedMessages = receivedMessages
        self.receivedBytes = receivedBytes
        self.sentMessages = sentMessages
        self.sentBytes = sentBytes

    def add(self, other: LinkTraffic) -> None:
        """Add ``other``'s counts to these."""
        self.receivedMessages += other.receivedMessages
        self.receivedBytes += other.receivedBytes
        self.sentMessages += other.sentMessages
        self.sentBytes += other.sentBytes


class ObservableCounted(Protocol):
    """An observable handler as the stats see it: its name and live subscriptions."""

    observableName: str

    def subscriptionCount(self) -> int:
        """Live subscriptions the handler serves."""


class ObservableProxyCounted(Protocol):
    """An observable proxy as the stats see it: device subscriptions and cached selectors."""

    observableName: str

    def deviceSubscriptionCount(self) -> int:
        """Live subscriptions of devices to the proxy."""

    def cacheEntryCount(self) -> int:
        """Selectors whose last upstream data the proxy holds."""


class VortexStats:
    """The counters of one ``VortexFactory`` (``factory.stats``); read them at any time."""

    def __init__(self) -> None:
        #: RPCs served by this process, by RPC name.
        self.rpcServed: dict[str, LatencyCounts] = {}
        #: RPCs this process called on another, by RPC name.
        self.rpcCalled: dict[str, LatencyCounts] = {}
        #: Tuple actions processed here, by processor name.
        self.actions: dict[str, LatencyCounts] = {}
        #: Traffic of links that have closed, by peer (``DEVICE_PEER`` for devices); the
        #: open links' counts are in their connections (``VortexFactory.linkTraffic``).
        self.closedLinkTraffic: dict[str, LinkTraffic] = {}
        #: Device links closed for breaking a per-link limit, by the limit's name.
        self.deviceLinkLimitCloses: dict[str, int] = {}
        self._observables: weakref.WeakSet[ObservableCounted] = weakref.WeakSet()
        self._proxies: weakref.WeakSet[ObservableProxyCounted] = weakref.WeakSet()

    def rpcCounts(self, rpcName: str, *, served: bool) -> LatencyCounts:
        """The counts of one RPC, served here or called from here (made on first use)."""
        table = self.rpcServed if served else self.rpcCalled
        counts = table.get(rpcName)
        if counts is None:
            counts = table[rpcName] = LatencyCounts()
        return counts

    def actionCounts(self, processorName: str) -> LatencyCounts:
        """The counts of one tuple action processor (made on first use)."""
        counts = self.actions.get(processorName)
        if counts is None:
            counts = self.actions[processorName] = LatencyCounts()
        return counts

    def linkClosed(self, peer: str, traffic: LinkTraffic) -> None:
        """Keep the counts of a link that closed, so the peer's totals never go down."""
        total = self.closedLinkTraffic.get(peer)
        if total is None:
            total = self.closedLinkTraffic[peer] = LinkTraffic()
        total.add(traffic)

    def deviceLinkClosedForLimit(self, limitName: str) -> None:
        """Count a device link closed for breaking the limit ``limitName``."""
        self.deviceLinkLimitCloses[limitName] = self.deviceLinkLimitCloses.get(limitName, 0) + 1

    def addObservable(self, handler: ObservableCounted) -> None:
        """Count ``handler``'s subscribers until it is removed (or garbage)."""
        self._observables.add(handler)

    def removeObservable(self, handler: ObservableCounted) -> None:
        """Stop counting ``handler``."""
        self._observables.discard(handler)

    def addObservableProxy(self, proxy: ObservableProxyCounted) -> None:
        """Count ``proxy``'s subscribers and cache until it is removed (or garbage)."""
        self._proxies.add(proxy)

    def removeObservableProxy(self, proxy: ObservableProxyCounted) -> None:
        """Stop counting ``proxy``."""
        self._proxies.discard(proxy)

    def observableSubscribers(self) -> dict[str, int]:
        """Live subscriptions per observable name (handlers of one name added together)."""
        totals: dict[str, int] = {}
        for handler in list(self._observables):
            name = handler.observableName
            totals[name] = totals.get(name, 0) + handler.subscriptionCount()
        return totals

    def observableProxies(self) -> dict[str, tuple[int, int]]:
        """Per proxied observable name: (device subscriptions, cache entries)."""
        totals: dict[str, tuple[int, int]] = {}
        for proxy in list(self._proxies):
            subscribers, entries = totals.get(proxy.observableName, (0, 0))
            totals[proxy.observableName] = (
                subscribers + proxy.deviceSubscriptionCount(),
                entries + proxy.cacheEntryCount(),
            )
        return totals

"""Device links close cleanly and free their memory (issue 13).

1,000 real loopback websocket links of devices open to a field-style vortex, each subscribes
to an observable that the field proxies from a logic vortex (every per-link object the
field keeps: protocol, core, connection, quota, dispatch entry, proxied subscription), then
all close. Afterwards the garbage collector must find none of the field's link objects
alive: a weak reference to each of the field's device connections and a count of live
objects by type, not any counter the code keeps, so a link kept in a forgotten dict fails.
"""

from __future__ import annotations

import gc
import sys
import time
import uuid
import weakref
from collections import Counter
from typing import Any

from twisted.web.resource import Resource
from twisted.web.server import Site

from peek_plugin_base.testing.ReactorWait import spinReactorUntil
from vortex.handler.TupleDataObservableHandler import (
    TupleDataObservableHandler,
    TuplesProviderABC,
)
from vortex.handler.TupleDataObservableProxyHandler import TupleDataObservableProxyHandler
from vortex.Payload import Payload
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.transport import Backoff, DeviceQuotaLimits, VortexClient
from vortex.TupleSelector import TupleSelector
from vortex.VortexFactory import RemoteVortexInfo, VortexFactory

LINKS = 1000
#: Links opening at once (the test server's listen queue is Twisted's default 50).
WINDOW = 50
SECRET = b"link-leak-secret-0123456789abcdef"
OBSERVABLE = "leak_test_items"
SELECTOR = TupleSelector("leak_test.Item", {})
#: The types whose live instances are counted before the links open and after they close.
LINK_TYPES = (
    "VortexServerProtocol",
    "VortexClientProtocol",
    "VortexConnectionCore",
    "VortexConnection",
    "DeviceLinkQuota",
    "RemoteVortexInfo",
    "Target",
    "HTTPChannel",
    "Request",
    "VortexClient",
)


class EmptyItems(TuplesProviderABC):
    """Answers every selector with no tuples (the test is about links, not data)."""

    def makeVortexMsg(self, filt: dict, tupleSelector: TupleSelector) -> bytes:
        return Payload(filt, tuples=[]).toVortexMsg()


def liveCounts() -> Counter[str]:
    """Live instances of ``LINK_TYPES``, found by the garbage collector."""
    gc.collect()
    names = set(LINK_TYPES)
    return Counter(type(o).__name__ for o in gc.get_objects() if type(o).__name__ in names)


def test_a_thousand_subscribed_device_links_close_and_are_collected():
    """After 1,000 device links subscribed through a field proxy and closed, none of the
    field's device connections is alive and no link object type has more live instances
    than before they opened; the Python heap is back within a few blocks per link."""
    from twisted.internet import reactor

    logic = VortexFactory("leak-logic", reactor=reactor)
    logicRoot = Resource()
    logic.listen(logicRoot, secret=SECRET)
    logicPort = reactor.listenTCP(0, Site(logicRoot), interface="127.0.0.1")
    observable = TupleDataObservableHandler(OBSERVABLE, vortexFactory=logic)
    observable.addTupleProvider(SELECTOR.name, EmptyItems())

    field = VortexFactory("leak-field", reactor=reactor)
    field.connect(f"ws://127.0.0.1:{logicPort.getHost().port}/vortexws", secret=SECRET)
    proxy = TupleDataObservableProxyHandler(OBSERVABLE, "leak-logic", vortexFactory=field)
    fieldRoot = Resource()
    field.listen(fieldRoot, secret=None, allowDevices=True, deviceQuota=DeviceQuotaLimits())
    fieldPort = reactor.listenTCP(0, Site(fieldRoot), interface="127.0.0.1")
    deviceUrl = f"ws://127.0.0.1:{fieldPort.getHost().port}/vortexws"
    spinReactorUntil(lambda: field.isVortexNameConnected("leak-logic"))

    fieldLinks: weakref.WeakSet[Any] = weakref.WeakSet()

    def deviceUp(info: RemoteVortexInfo) -> None:
        if info.isDevice:
            fieldLinks.add(info.connection)

    removeListener = field.addOnlineListener(deviceUp)
    subscribe = PayloadEnvelope(
        filt={
            "key": "vortex.observable:" + OBSERVABLE,
            "op": "subscribe",
            "subId": "leak",
            "tupleSelector": SELECTOR,
        }
    ).toVortexMsg()
    clients: list[VortexClient] = []
    subscribed: set[int] = set()

    def openLink() -> None:
        index = len(clients)
        client = VortexClient(
            deviceUrl,
            "leak-device",
            uuid.uuid4().hex,
            secret=None,
            onMessage=lambda _, data: subscribed.add(index),
            onConnect=lambda connection: connection.send(subscribe),
            reactor=reactor,
            backoff=Backoff(initial=0.05, factor=2.0, cap=0.5),
        )
        clients.append(client)
        client.start()

    def closeAll() -> None:
        stopped = [client.stop() for client in clients]
        spinReactorUntil(lambda: all(d.called for d in stopped))
        spinReactorUntil(lambda: len(field.remoteVortexes()) == 1)
        clients.clear()
        subscribed.clear()

    try:
        # One link first, so that logic's side of the proxy's upstream subscription (which
        # outlives its devices by the proxy's idle time) exists before the count.
        openLink()
        spinReactorUntil(lambda: len(subscribed) == 1)
        closeAll()
        before = liveCounts()
        blocksBefore = sys.getallocatedblocks()

        while len(clients) < LINKS:
            while len(clients) < LINKS and len(clients) - len(subscribed) < WINDOW:
                openLink()
            spinReactorUntil(lambda: len(clients) - len(subscribed) < WINDOW)
        spinReactorUntil(lambda: len(subscribed) == LINKS)
        assert sum(1 for _ in fieldLinks) >= LINKS
        assert proxy.deviceSubscriptionCount() == LINKS

        closeAll()
        # Collected at once when nothing keeps them; a leak keeps them for good (10 s here).
        deadline = time.monotonic() + 10
        while any(True for _ in fieldLinks) and time.monotonic() < deadline:
            reactor.iterate(0.01)
            gc.collect()
        alive = sum(1 for _ in fieldLinks)

        after = liveCounts()
        grown = {n: after[n] - before[n] for n in LINK_TYPES if after[n] > before[n]}
        assert (alive, grown) == (0, {}), (
            f"{alive} of the field's device connections and these link objects are still "
            f"alive after every link closed: {grown}"
        )
        assert proxy.deviceSubscriptionCount() == 0
        blocksPerLink = (sys.getallocatedblocks() - blocksBefore) / LINKS
        assert blocksPerLink < 5, f"{blocksPerLink:.1f} heap blocks per closed link remain"
    finally:
        removeListener()
        proxy.shutdown()
        observable.shutdown()
        field.shutdown()
        logic.shutdown()
        fieldPort.stopListening()
        logicPort.stopListening()
        spinReactorUntil(lambda: not logic.remoteVortexes())

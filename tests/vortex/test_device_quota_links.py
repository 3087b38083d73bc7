"""Per-device-link quotas over real loopback sockets: ``VortexFactory.listen(deviceQuota=...)``.

A device link over a quota is closed with ``CLOSE_DEVICE_LIMIT`` and a WARNING, the message
that broke it is never dispatched, and every other link (device or service) keeps working.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from twisted.internet import defer, reactor
from twisted.web.resource import Resource
from twisted.web.server import Site

from peek_plugin_base.testing.ReactorWait import spinReactorUntil as spin
from vortex.Payload import Payload
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadIO import PayloadIO
from vortex.transport import CLOSE_DEVICE_LIMIT, Backoff, DeviceQuotaLimits, VortexConnection
from vortex.VortexFactory import VortexFactory

SECRET = b"q" * 32
OBSERVABLE = "vortex.observable:obs"
ACTION = "vortex.action:proc"


class SettableSeconds:
    """The real reactor, except that ``seconds()`` (the quota's window clock) is set by the
    test, so a burst never straddles a second by chance."""

    def __init__(self) -> None:
        self.now = 1000.25

    def seconds(self) -> float:
        return self.now

    def __getattr__(self, name: str) -> Any:
        return getattr(reactor, name)


class QuotaSite:
    """A field server with a device quota, its device and service peers, and what its
    endpoints dispatched (as (vortex name, filt) pairs)."""

    def __init__(self, quota: DeviceQuotaLimits) -> None:
        self.clock = SettableSeconds()
        self.server = VortexFactory("peek-field-service", payloadIO=PayloadIO(), reactor=self.clock)
        self.peers: list[VortexFactory] = []
        self.dispatched: list[tuple[str, dict]] = []
        root = Resource()
        self.server.listen(root, secret=SECRET, allowDevices=True, deviceQuota=quota)
        self.port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
        for key in (OBSERVABLE, ACTION, "plain"):
            PayloadEndpoint({"key": key}, self._record, payloadIO=self.server.payloadIO)

    def _record(self, envelope, vortexName: str, **_kwargs) -> None:
        self.dispatched.append((vortexName, dict(envelope.filt)))

    def link(self, name: str, *, service: bool = False) -> tuple[VortexFactory, VortexConnection]:
        """Link a peer (a device unless ``service``); the peer and the server's connection."""
        peer = VortexFactory(name, payloadIO=PayloadIO(), reactor=reactor)
        self.peers.append(peer)
        url = f"ws://127.0.0.1:{self.port.getHost().port}/vortexws"
        peer.connect(url, secret=SECRET if service else None, backoff=Backoff(0.05, cap=0.1))
        spin(lambda: self.connectionOf(peer) is not None and bool(peer.remoteVortexes()))
        connection = self.connectionOf(peer)
        assert connection is not None
        return peer, connection

    def connectionOf(self, peer: VortexFactory) -> VortexConnection | None:
        """The server's live connection from ``peer``, if any."""
        info = self.server.remoteVortexByUuid(peer.vortexUuid)
        return None if info is None else info.connection

    def seen(self, name: str) -> list[dict]:
        """Filts dispatched from the peer whose endpoints see it as ``name``."""
        return [filt for who, filt in self.dispatched if who == name]

    def shutdown(self) -> None:
        factories = [*self.peers, self.server]
        done = defer.DeferredList(
            [f.shutdown() for f in factories] + [defer.maybeDeferred(self.port.stopListening)]
        )
        spin(lambda: done.called)
        spin(lambda: all(not f.remoteVortexes() for f in factories))


@pytest.fixture
def make() -> Iterator[Any]:
    """Builds a ``QuotaSite`` with the given quota; shut down after the test."""
    made: list[QuotaSite] = []

    def build(**limits) -> QuotaSite:
        site = QuotaSite(DeviceQuotaLimits(keyPrefix="httpServer.field.", **limits))
        made.append(site)
        return site

    yield build
    for site in made:
        site.shutdown()


def send(peer: VortexFactory, key: str, **filt) -> None:
    peer.sendVortexMsg(Payload(filt={"key": key, **filt}).toVortexMsg())


def closes(peer: VortexFactory) -> list[str]:
    """Reasons the peer's links dropped, as the peer saw them, appended as they happen."""
    reasons: list[str] = []
    peer.addOfflineListener(lambda _info, reason: reasons.append(reason))
    return reasons


def waitClosed(site: QuotaSite, connection: VortexConnection) -> None:
    """Until the server has dropped ``connection``: nothing more from it can be dispatched."""
    spin(lambda: all(i.connection is not connection for i in site.server.remoteVortexes()))


def test_a_device_over_its_subscription_limit_is_closed_before_dispatch(make, caplog):
    """With 2 subscriptions a link, a device's third subscribe (and what follows it) is not
    dispatched, the device sees close code 4009, a WARNING names the link and the limit, and
    another device holding 2 subscriptions keeps working."""
    site = make(subscriptionsPerLink=2)
    greedy, greedyLink = site.link("greedy-app")
    modest, _ = site.link("modest-app")
    reasons = closes(greedy)
    with caplog.at_level(logging.WARNING, logger="vortex.VortexFactory"):
        for subId in ("s1", "s2", "s3"):
            send(greedy, OBSERVABLE, op="subscribe", subId=subId)
        send(greedy, "plain", n=1)
        spin(lambda: bool(reasons))
        waitClosed(site, greedyLink)
    assert f"code {CLOSE_DEVICE_LIMIT}" in reasons[0]
    assert "httpServer.field.subscriptionsPerDeviceLink (2) exceeded" in reasons[0]
    assert [filt["subId"] for filt in site.seen("device:greedy-app")] == ["s1", "s2"]
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "closing device link device:greedy-app" in warning.getMessage()
    assert "httpServer.field.subscriptionsPerDeviceLink (2) exceeded: subscribe 's3'" in (
        warning.getMessage()
    )

    for subId in ("m1", "m2"):
        send(modest, OBSERVABLE, op="subscribe", subId=subId)
    send(modest, "plain", n=2)
    spin(lambda: len(site.seen("device:modest-app")) == 3)
    assert [f.get("subId") for f in site.seen("device:modest-app")] == ["m1", "m2", None]


def test_a_device_over_its_action_rate_is_closed_and_the_next_second_is_fresh(make):
    """With 2 actions a second, a device may push 2 in each of two seconds; its fifth action,
    the third in the second, closes the link (4009) without being dispatched, while another
    device's actions in that same second still go through."""
    site = make(actionsPerSecond=2)
    busy, busyLink = site.link("busy-app")
    other, _ = site.link("other-app")
    reasons = closes(busy)
    for n in range(2):
        send(busy, ACTION, msgId=f"a{n}")
    spin(lambda: len(site.seen("device:busy-app")) == 2)
    site.clock.now += 1
    for n in range(2, 5):
        send(busy, ACTION, msgId=f"a{n}")
    spin(lambda: bool(reasons))
    waitClosed(site, busyLink)
    assert f"code {CLOSE_DEVICE_LIMIT}" in reasons[0]
    assert "httpServer.field.actionsPerDeviceLinkPerSecond (2) exceeded" in reasons[0]
    assert [f["msgId"] for f in site.seen("device:busy-app")] == ["a0", "a1", "a2", "a3"]

    for n in range(2):
        send(other, ACTION, msgId=f"o{n}")
    spin(lambda: len(site.seen("device:other-app")) == 2)


def test_a_device_over_its_byte_rate_is_closed(make):
    """With room for one message a second, the device's second message closes the link
    (4009) and is not dispatched."""
    size = len(Payload(filt={"key": "plain", "n": 0}).toVortexMsg())
    site = make(bytesPerSecond=size + size // 2)
    chatty, chattyLink = site.link("chatty-app")
    reasons = closes(chatty)
    send(chatty, "plain", n=0)
    send(chatty, "plain", n=1)
    spin(lambda: bool(reasons))
    waitClosed(site, chattyLink)
    assert f"code {CLOSE_DEVICE_LIMIT}" in reasons[0]
    assert "httpServer.field.bytesPerDeviceLinkPerSecond" in reasons[0]
    assert [f["n"] for f in site.seen("device:chatty-app")] == [0]


def test_service_links_are_never_counted(make, caplog):
    """A service link far over every device quota is neither held back nor closed."""
    site = make(subscriptionsPerLink=1, actionsPerSecond=1, bytesPerSecond=1)
    agent, agentLink = site.link("peek-agent-service", service=True)
    with caplog.at_level(logging.WARNING, logger="vortex.VortexFactory"):
        for n in range(5):
            send(agent, OBSERVABLE, op="subscribe", subId=f"s{n}")
            send(agent, ACTION, msgId=f"a{n}")
        spin(lambda: len(site.seen("peek-agent-service")) == 10)
    assert agentLink.isOpen
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

"""Tests for vortex/VortexFactory.py over real loopback sockets."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from twisted.internet import defer, reactor
from twisted.web.resource import Resource
from twisted.web.server import Site

from peek_plugin_base.testing.ReactorWait import spinReactorUntil as spin
from vortex.Payload import Payload
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadIO import PayloadIO
from vortex.stats import LinkTraffic
from vortex.transport import Backoff
from vortex.VortexFactory import DEVICE_PREFIX, NoVortexException, VortexFactory

SECRET = b"f" * 32


class Net:
    """Loopback servers and clients of one test, all shut down afterwards."""

    def __init__(self) -> None:
        self.factories: list[VortexFactory] = []
        self.ports: list = []

    def factory(self, name: str) -> VortexFactory:
        f = VortexFactory(name, payloadIO=PayloadIO(), reactor=reactor)
        self.factories.append(f)
        return f

    def serve(self, f: VortexFactory, **kwargs) -> int:
        root = Resource()
        kwargs.setdefault("secret", SECRET)
        f.listen(root, **kwargs)
        port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
        self.ports.append(port)
        return port.getHost().port

    def connect(self, f: VortexFactory, port: int, **kwargs):
        kwargs.setdefault("secret", SECRET)
        kwargs.setdefault("backoff", Backoff(initial=0.05, cap=0.1))
        return f.connect(f"ws://127.0.0.1:{port}/vortexws", **kwargs)


@pytest.fixture
def net() -> Iterator[Net]:
    """A Net whose factories and ports are closed after the test."""
    n = Net()
    yield n
    done = defer.DeferredList(
        [f.shutdown() for f in n.factories]
        + [defer.maybeDeferred(p.stopListening) for p in n.ports]
    )
    spin(lambda: done.called)
    spin(lambda: all(not f.remoteVortexes() for f in n.factories))


def linked(net: Net) -> tuple[VortexFactory, VortexFactory]:
    """A logic server factory and an agent client factory, linked."""
    logic, agent = net.factory("peek-logic-service"), net.factory("peek-agent-service")
    port = net.serve(logic)
    net.connect(agent, port)
    spin(lambda: logic.isVortexNameConnected("peek-agent-service"))
    spin(lambda: agent.isVortexNameConnected("peek-logic-service"))
    return logic, agent


def test_link_is_listed_on_both_sides_with_authenticated_identity(net):
    """Each side lists the other by its authenticated name and uuid, as a service."""
    logic, agent = linked(net)
    [seen] = logic.remoteVortexes()
    assert (seen.name, seen.uuid, seen.isDevice) == ("peek-agent-service", agent.vortexUuid, False)
    assert seen.identity == "peek-agent-service"
    assert logic.remoteVortexByUuid(agent.vortexUuid) is seen
    assert agent.remoteVortexByUuid(logic.vortexUuid).name == "peek-logic-service"
    assert logic.remoteVortexByUuid("nobody") is None


def test_send_by_name_reaches_endpoint_with_sender_identity(net):
    """A message sent to a vortex name is dispatched there with the sender's identity."""
    logic, agent = linked(net)
    got = []
    PayloadEndpoint(
        {"key": "t"},
        lambda env, **kw: got.append((env.filt, kw["vortexName"], kw["vortexUuid"])),
        payloadIO=logic.payloadIO,
    )
    agent.sendVortexMsg(Payload(filt={"key": "t", "n": 1}).toVortexMsg(), "peek-logic-service")
    spin(lambda: got)
    assert got == [({"key": "t", "n": 1}, "peek-agent-service", agent.vortexUuid)]


def test_send_by_uuid_and_response_returns_to_sender(net):
    """An endpoint's sendResponse goes back over the link the message came on."""
    logic, agent = linked(net)

    def echo(env, sendResponse, **kw):
        return sendResponse(Payload(filt={"key": "reply"}).toVortexMsg())

    PayloadEndpoint({"key": "ask"}, echo, payloadIO=logic.payloadIO)
    replies = []
    PayloadEndpoint(
        {"key": "reply"}, lambda env, **kw: replies.append(kw), payloadIO=agent.payloadIO
    )
    agent.sendVortexMsg(Payload(filt={"key": "ask"}).toVortexMsg(), destVortexUuid=logic.vortexUuid)
    spin(lambda: replies)
    assert replies[0]["vortexName"] == "peek-logic-service"


def test_send_to_unlinked_name_fails_with_no_vortex(net):
    """Sending to a name or uuid with no link fails at once with NoVortexException."""
    _logic, agent = linked(net)
    msg = Payload(filt={"key": "x"}).toVortexMsg()
    failure = agent.sendVortexMsg(msg, "peek-field-service")
    assert failure.result.check(NoVortexException)
    failure.addErrback(lambda _: None)
    failure = agent.sendVortexMsg(msg, destVortexUuid="nope")
    assert failure.result.check(NoVortexException)
    failure.addErrback(lambda _: None)


def test_send_to_own_name_dispatches_locally(net):
    """Sending to this process's own vortex name reaches local endpoints, no socket."""
    f = net.factory("peek-logic-service")
    got = []
    PayloadEndpoint(
        {"key": "me"}, lambda env, **kw: got.append(kw["vortexName"]), payloadIO=f.payloadIO
    )
    d = f.sendVortexMsg(Payload(filt={"key": "me"}).toVortexMsg(), "peek-logic-service")
    assert d.called and got == ["peek-logic-service"]
    assert f.isVortexNameLocal("peek-logic-service")
    assert not f.isVortexNameLocal("peek-agent-service")


def test_online_and_offline_listeners_follow_the_link(net):
    """Listeners hear the link come up and go down, with the peer and the reason."""
    logic = net.factory("peek-logic-service")
    agent = net.factory("peek-agent-service")
    ups, downs = [], []
    logic.addOnlineListener(ups.append)
    unsubscribe = logic.addOfflineListener(lambda info, reason: downs.append((info.name, reason)))
    port = net.serve(logic)
    net.connect(agent, port)
    spin(lambda: ups)
    assert ups[0].name == "peek-agent-service"
    done = agent.shutdown()
    spin(lambda: downs and done.called)
    assert downs[0][0] == "peek-agent-service"
    assert not logic.isVortexNameConnected("peek-agent-service")
    unsubscribe()


def test_device_links_carry_the_device_prefix(net):
    """A device link's identity has the device: prefix; sending by name skips devices."""
    field = net.factory("peek-field-service")
    browser = net.factory("peek-field-app")
    port = net.serve(field, allowDevices=True)
    net.connect(browser, port, secret=None)
    spin(lambda: field.remoteVortexes() and browser.remoteVortexes())
    [info] = field.remoteVortexes()
    assert info.isDevice and info.identity == DEVICE_PREFIX + "peek-field-app"
    got = []
    PayloadEndpoint(
        {"key": "d"},
        lambda env, **kw: got.append(kw["vortexName"]),
        acceptOnlyFromVortex="peek-field-app",
        payloadIO=field.payloadIO,
    )
    PayloadEndpoint(
        {"key": "d"}, lambda env, **kw: got.append(kw["vortexName"]), payloadIO=field.payloadIO
    )
    browser.sendVortexMsg(Payload(filt={"key": "d"}).toVortexMsg())
    spin(lambda: got)
    assert got == ["device:peek-field-app"]
    assert not field.isVortexNameConnected("peek-field-app")
    failure = field.sendVortexMsg(b"x", "peek-field-app")
    assert failure.result.check(NoVortexException)
    failure.addErrback(lambda _: None)


def test_malformed_message_is_logged_and_link_stays(net, caplog):
    """Bytes that are no envelope are dropped with an ERROR naming the peer; the link lives."""
    logic, agent = linked(net)
    got = []
    PayloadEndpoint({"key": "ok"}, lambda env, **kw: got.append(1), payloadIO=logic.payloadIO)
    with caplog.at_level(logging.ERROR, logger="vortex.VortexFactory"):
        agent.sendVortexMsg(b"\x00\xffnot an envelope", "peek-logic-service")
        agent.sendVortexMsg(Payload(filt={"key": "ok"}).toVortexMsg(), "peek-logic-service")
        spin(lambda: got)
    assert "malformed message from peek-agent-service" in caplog.text
    assert logic.isVortexNameConnected("peek-agent-service")


def test_default_is_set_by_make_default_and_cleared_by_shutdown(net):
    """default() fails before makeDefault(), returns the factory after, fails after shutdown."""
    f = net.factory("peek-agent-service")
    with pytest.raises(NoVortexException, match="makeDefault"):
        VortexFactory.default()
    assert f.makeDefault() is f and VortexFactory.default() is f
    d = f.shutdown()
    spin(lambda: d.called)
    with pytest.raises(NoVortexException):
        VortexFactory.default()


class FakeLink:
    """Stands in for a VortexConnection: a peer identity and the messages sent to it."""

    def __init__(self, name: str, uuid: str, address: str) -> None:
        self.remoteVortexName = name
        self.remoteVortexUuid = uuid
        self.isDevice = False
        self.peerAddress = address
        self.sent: list[bytes] = []
        self.send = self.sendPriority = self.sent.append

    def traffic(self) -> LinkTraffic:
        """Nothing counted (the factory keeps a closed link's counts)."""
        return LinkTraffic()


def reconnected() -> tuple[VortexFactory, FakeLink, FakeLink, list]:
    """A factory whose peer opened a second link (same uuid) before its first one closed."""
    f = VortexFactory("peek-logic-service", payloadIO=PayloadIO(), reactor=reactor)
    downs: list = []
    f.addOfflineListener(lambda info, reason: downs.append((info.connection, reason)))
    old = FakeLink("peek-agent-service", "agent-uuid", "127.0.0.1:1001")
    new = FakeLink("peek-agent-service", "agent-uuid", "127.0.0.1:1002")
    f._linkUp(old)
    f._linkUp(new)
    return f, old, new, downs


def test_old_link_closing_after_reconnect_does_not_report_the_peer_offline():
    """Closing a stale link of a uuid that has a newer link neither notifies nor unlists."""
    f, old, new, downs = reconnected()
    f._linkDown(old, "heartbeat timeout")
    assert downs == []
    assert f.remoteVortexByUuid("agent-uuid").connection is new
    assert f.isVortexNameConnected("peek-agent-service")
    f._linkDown(new, "closed")
    assert downs == [(new, "closed")]
    assert not f.isVortexNameConnected("peek-agent-service")


def test_sends_to_a_reconnected_peer_use_only_its_newest_link():
    """While both links of one uuid are listed, messages go once, on the newer link."""
    f, old, new, _ = reconnected()
    f.sendVortexMsg(b"{}", destVortexUuid="agent-uuid")
    f.sendVortexMsg(b"{}", destVortexName="peek-agent-service")
    f.sendVortexMsg(b"{}")
    assert (old.sent, new.sent) == ([], [b"{}", b"{}", b"{}"])


def test_when_connected_fires_after_the_factory_lists_the_peer(net):
    """whenConnected() callbacks already see the new link in remoteVortexes()."""
    logic, agent = net.factory("peek-logic-service"), net.factory("peek-agent-service")
    port = net.serve(logic)
    client = net.connect(agent, port)
    seen = []
    client.whenConnected().addCallback(
        lambda connection: seen.append([i.connection for i in agent.remoteVortexes()])
    )
    spin(lambda: seen)
    assert seen == [[client.connection]]

"""Fixtures for the vortex transport tests: core recorders, a reactor spinner, certificates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.internet import defer, task
from twisted.internet.endpoints import TCP4ClientEndpoint

from peek_plugin_base.testing.ReactorWait import spinReactorUntil
from peek_plugin_base.testing.TestCertificates import TestPki
from vortex.transport import (
    Backoff,
    ReassemblyBudget,
    TransportLimits,
    VortexClient,
    VortexConnectionCore,
    VortexServerEndpoint,
)

SECRET = b"s" * 32  # the same values as in the test modules


class Wire:
    """Records what a core asks its I/O layer to do, optionally forwarding frames to a peer.

    With ``pauseAbove`` set it plays Twisted's write buffer too: writing a frame longer than
    that pauses ``ownCore`` (its producer), and :meth:`drain` resumes it.
    """

    def __init__(self) -> None:
        self.written: list[tuple[bytes, bool]] = []
        self.closed: list[tuple[int, str, bool]] = []
        self.up: list = []
        self.delivered: list[bytes] = []
        self.peerCore: VortexConnectionCore | None = None
        self.ownCore: VortexConnectionCore | None = None
        self.pauseAbove: int | None = None

    def writeMessage(self, data: bytes, isBinary: bool) -> None:
        self.written.append((data, isBinary))
        if self.peerCore is not None:
            self.peerCore.messageReceived(data, isBinary)
        if self.pauseAbove is not None and len(data) > self.pauseAbove:
            assert self.ownCore is not None
            self.ownCore.pauseProducing()

    def drain(self) -> None:
        """The socket took everything written: resume the core."""
        assert self.ownCore is not None
        self.ownCore.resumeProducing()

    def closeLink(self, code: int, reason: str, abort: bool) -> None:
        self.closed.append((code, reason, abort))

    def linkUp(self, peer) -> None:
        self.up.append(peer)

    def deliver(self, data: bytes) -> None:
        self.delivered.append(data)


@dataclass
class CorePair:
    """A client core and a server core wired back to back on one Clock."""

    clock: task.Clock
    client: VortexConnectionCore
    server: VortexConnectionCore
    clientWire: Wire
    serverWire: Wire
    limits: TransportLimits = field(default_factory=TransportLimits)

    def open(self) -> None:
        """Open the websocket on both sides (server first, as on a real socket)."""
        self.server.connectionOpened()
        self.client.connectionOpened()


def makeCore(
    wire: Wire,
    clock: task.Clock,
    *,
    isServer: bool,
    name: str,
    secret: bytes | None,
    limits: TransportLimits,
    allowDevices: bool = False,
    reassemblyBudget: ReassemblyBudget | None = None,
) -> VortexConnectionCore:
    """Build a core with deterministic nonces."""
    counter = iter(range(1, 1000))
    core = VortexConnectionCore(
        isServer=isServer,
        vortexName=name,
        vortexUuid=f"{name}-uuid",
        secret=secret,
        allowDevices=allowDevices,
        outputs=wire,
        clock=clock,
        peerAddress="192.0.2.7:4242" if isServer else "192.0.2.1:8011",
        limits=limits,
        randomBytes=lambda n: bytes([next(counter) + (0 if isServer else 100)]) * n,
        reassemblyBudget=reassemblyBudget,
    )
    wire.ownCore = core
    return core


@pytest.fixture
def makePair() -> Callable[..., CorePair]:
    """Factory for wired client/server core pairs (``serverLimits`` defaults to ``limits``)."""

    def make(
        clientSecret: bytes | None = SECRET,
        serverSecret: bytes | None = SECRET,
        allowDevices: bool = False,
        limits: TransportLimits | None = None,
        wired: bool = True,
        serverLimits: TransportLimits | None = None,
        reassemblyBudget: ReassemblyBudget | None = None,
    ) -> CorePair:
        limits = limits or TransportLimits()
        clock = task.Clock()
        cw, sw = Wire(), Wire()
        client = makeCore(
            cw,
            clock,
            isServer=False,
            name="peek-agent-service",
            secret=clientSecret,
            limits=limits,
            reassemblyBudget=reassemblyBudget,
        )
        server = makeCore(
            sw,
            clock,
            isServer=True,
            name="peek-logic-service",
            secret=serverSecret,
            limits=serverLimits or limits,
            allowDevices=allowDevices,
            reassemblyBudget=reassemblyBudget,
        )
        if wired:
            cw.peerCore, sw.peerCore = server, client
        return CorePair(clock, client, server, cw, sw, limits)

    return make


# ---- real sockets ----------------------------------------------------------------------


@pytest.fixture
def spin() -> Callable[..., None]:
    """Run the global reactor until ``predicate()`` is true (guarded by a generous deadline)."""
    return spinReactorUntil


class Peer:
    """Records one side's callbacks; echoes every message back when ``echo``."""

    def __init__(self, echo: bool = False) -> None:
        self.echo = echo
        self.connected: list = []
        self.messages: list[bytes] = []
        self.disconnected: list[tuple[object, str]] = []

    def onConnect(self, conn) -> None:
        self.connected.append(conn)

    def onMessage(self, conn, data: bytes) -> None:
        self.messages.append(data)
        if self.echo:
            conn.send(data)

    def onDisconnect(self, conn, reason: str) -> None:
        self.disconnected.append((conn, reason))

    def callbacks(self) -> dict:
        return {
            "onConnect": self.onConnect,
            "onMessage": self.onMessage,
            "onDisconnect": self.onDisconnect,
        }


class RawClient(WebSocketClientProtocol):
    """A plain autobahn client that speaks no vortex; sends ``factory.onOpenSend`` raw."""

    def onOpen(self) -> None:
        frame, isBinary = self.factory.onOpenSend
        if frame is not None:
            self.sendMessage(frame, isBinary)

    def onClose(self, wasClean, code, reason) -> None:
        self.factory.closed.append((code, reason))


class LinkKit:
    """Starts loopback servers and clients for a test and remembers them for cleanup."""

    def __init__(self) -> None:
        self.ports: list = []
        self.clients: list[VortexClient] = []
        self.servers: list[VortexServerEndpoint] = []

    def peer(self, echo: bool = False) -> Peer:
        """A fresh callback recorder."""
        return Peer(echo)

    def server(self, peer: Peer, *, port: int = 0, tls=None, **kwargs):
        """Listen on loopback; returns (endpoint, listening port)."""
        kwargs.setdefault("secret", SECRET)
        server = VortexServerEndpoint(
            "peek-logic-service", "logic-uuid", **peer.callbacks(), **kwargs
        )
        self.servers.append(server)
        listening = server.listen(port, "127.0.0.1", tls=tls)
        self.ports.append(listening)
        return server, listening

    def client(self, peer: Peer, port: int, *, name="peek-agent-service", scheme="ws", **kw):
        """Start a client of a loopback server (fast backoff for tests)."""
        kw.setdefault("secret", SECRET)
        kw.setdefault("backoff", Backoff(initial=0.05, factor=2.0, cap=0.2))
        client = VortexClient(
            f"{scheme}://127.0.0.1:{port}/vortexws", name, f"{name}-uuid", **peer.callbacks(), **kw
        )
        self.clients.append(client)
        client.start()
        return client

    def rawClient(self, port: int, frame: bytes | None, isBinary: bool):
        """Connect a raw websocket client; its close codes land in ``.closed``."""
        from twisted.internet import reactor

        factory = WebSocketClientFactory(f"ws://127.0.0.1:{port}/vortexws")
        factory.protocol = RawClient
        factory.onOpenSend = (frame, isBinary)
        factory.closed = []
        TCP4ClientEndpoint(reactor, "127.0.0.1", port).connect(factory)
        return factory


@pytest.fixture
def kit(spin):
    """A LinkKit whose clients, links and ports are all closed after the test."""
    links = LinkKit()
    yield links
    stops = [c.stop() for c in links.clients]
    for s in links.servers:
        s.closeAll("test over")
    stops += [defer.maybeDeferred(p.stopListening) for p in links.ports]
    done = defer.DeferredList(stops)
    spin(lambda: done.called)
    spin(lambda: all(not s.connections for s in links.servers))


@pytest.fixture(scope="session")
def pki(peekTestPki: TestPki) -> TestPki:
    """A CA, a server cert for 127.0.0.1/localhost, a client cert and an unrelated CA."""
    return peekTestPki

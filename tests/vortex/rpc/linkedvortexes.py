"""VortexFactories of one process linked over real loopback websockets, for tests.

Shared by tests/vortex/rpc and tests/vortex/handler (whose conftest loads this file).
"""

from __future__ import annotations

import time

from twisted.internet import defer, reactor
from twisted.web.resource import Resource
from twisted.web.server import Site

from peek_plugin_base.testing.ReactorWait import spinReactorUntil as spinUntil
from peek_plugin_base.testing.ReactorWait import waitForDeferred as settle
from vortex.transport import Backoff
from vortex.VortexFactory import VortexFactory

SECRET = b"k" * 32
LOGIC = "peek-logic-service"
AGENT = "peek-agent-service"
FIELD = "peek-field-service"


class Vortexes:
    """Creates linked factories and tears all of them down."""

    def __init__(self) -> None:
        self.factories: list[VortexFactory] = []
        self.ports: dict[str, object] = {}
        self.urls: dict[str, str] = {}

    def server(self, name: str, deviceIdentity=None) -> VortexFactory:
        """A factory listening on a loopback port for services and devices (whose request
        identity ``deviceIdentity(peerAddress)`` gives, when given)."""
        factory = VortexFactory(name)
        root = Resource()
        factory.listen(root, secret=SECRET, allowDevices=True, deviceIdentity=deviceIdentity)
        site = Site(root)
        site.noisy = False
        port = reactor.listenTCP(0, site, interface="127.0.0.1")
        self.ports[name] = port
        self.urls[name] = f"ws://127.0.0.1:{port.getHost().port}/vortexws"
        self.factories.append(factory)
        return factory

    def client(self, name: str, serverName: str, device: bool = False) -> VortexFactory:
        """A factory linked (as a service, or a device) to the server serverName."""
        factory = VortexFactory(name)
        self.factories.append(factory)
        self.connect(factory, serverName, device)
        return factory

    def connect(self, factory: VortexFactory, serverName: str, device: bool = False) -> None:
        """Link factory to serverName and wait for the link."""
        factory.connect(
            self.urls[serverName],
            secret=None if device else SECRET,
            backoff=Backoff(initial=0.01, cap=0.05),
        )
        spinUntil(lambda: any(i.name == serverName for i in factory.remoteVortexes()))

    def drop(self, factory: VortexFactory, peerName: str) -> None:
        """Close factory's link(s) to peerName and wait until both sides noticed."""
        for info in factory.remoteVortexes():
            if info.name == peerName:
                info.connection.close("test drops the link")
        spinUntil(lambda: all(i.name != peerName for i in factory.remoteVortexes()))

    def stopServer(self, factory: VortexFactory) -> None:
        """Stop listening for factory and close its links: its peers stay disconnected."""
        settle(defer.maybeDeferred(self.ports[factory.vortexName].stopListening))
        for info in factory.remoteVortexes():
            info.connection.close("test stops the server")
        spinUntil(lambda: not factory.remoteVortexes())

    def shutdown(self) -> None:
        """Stop every factory and port, then let the reactor finish closing them."""
        stopping = [f.shutdown() for f in self.factories]
        stopping += [defer.maybeDeferred(p.stopListening) for p in self.ports.values()]
        settle(defer.gatherResults(stopping))
        end = time.monotonic() + 0.05
        while time.monotonic() < end:
            reactor.iterate(0.005)

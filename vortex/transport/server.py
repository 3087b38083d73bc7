"""The vortex websocket server: a twisted.web resource accepting authenticated links."""

from __future__ import annotations

from collections.abc import Callable

from autobahn.twisted.resource import WebSocketResource
from twisted.internet.interfaces import IListeningPort
from twisted.web.resource import Resource
from twisted.web.server import Site

from vortex.transport.chunking import ReassemblyBudget
from vortex.transport.connection_core import DeviceAdmission
from vortex.transport.handshake import CLOSE_GOING_AWAY, checkIdentifier
from vortex.transport.limits import DEFAULT_LIMITS, TransportLimits
from vortex.transport.protocol import (
    LinkOwner,
    VortexConnection,
    VortexServerFactory,
    protocolOptions,
    serverDeflateOptions,
)
from vortex.transport.reactor import IVortexReactor, globalReactor
from vortex.transport.tls import ServerTls

#: Path segment the vortex resource is mounted at on a ``twisted.web`` site.
VORTEX_WS_PATH = b"vortexws"


def peerHost(peerAddress: str) -> str:
    """The host part of a link's ``host:port`` peer address."""
    return peerAddress.rpartition(":")[0]


class VortexServerEndpoint(LinkOwner):
    """Accepts vortex links on a ``twisted.web`` resource (mount ``resource`` at ``/vortexws``).

    Service peers must prove ``secret`` (HMAC challenge-response); anonymous device peers
    (browsers) are accepted only when ``allowDevices`` and are marked ``isDevice``.
    ``permessageDeflate`` accepts a client's offer of compression; by default an endpoint
    that allows devices accepts it (browsers offer it) and one for services only does not.
    Chunked messages being received on its links share ``reassemblyBudget``.
    """

    def __init__(
        self,
        vortexName: str,
        vortexUuid: str,
        *,
        secret: bytes | None,
        onMessage: Callable[[VortexConnection, bytes], None],
        onConnect: Callable[[VortexConnection], None] | None = None,
        onDisconnect: Callable[[VortexConnection, str], None] | None = None,
        allowDevices: bool = False,
        admitDevice: DeviceAdmission | None = None,
        limits: TransportLimits = DEFAULT_LIMITS,
        reactor: IVortexReactor | None = None,
        permessageDeflate: bool | None = None,
        reassemblyBudget: ReassemblyBudget | None = None,
    ) -> None:
        if reactor is None:
            reactor = globalReactor()
        if secret is not None and len(secret) < 16:
            raise ValueError(
                f"vortex server {vortexName!r}: the shared secret must be at least 16 bytes "
                "(use a random value, e.g. secrets.token_bytes(32))"
            )
        self.vortexName = checkIdentifier("vortexName", vortexName)
        self.vortexUuid = checkIdentifier("vortexUuid", vortexUuid)
        self.secret = secret
        self.allowDevices = allowDevices
        #: Asked for each device before its link opens (None: every device is admitted).
        self.admitDevice = admitDevice
        self.limits = limits
        self.reassemblyBudget = (
            reassemblyBudget if reassemblyBudget is not None else ReassemblyBudget()
        )
        #: True when a client's offer of permessage-deflate is accepted.
        self.permessageDeflate = allowDevices if permessageDeflate is None else permessageDeflate
        self.clock = reactor
        self.onMessage = onMessage
        self._reactor = reactor
        self._onConnect = onConnect
        self._onDisconnect = onDisconnect
        self._connections: dict[VortexConnection, None] = {}
        # Per-peer indexes, kept on link up and down, so per-address questions asked on
        # every new link (limits, session ownership) need not scan every link.
        self._byAddress: dict[str, VortexConnection] = {}
        self._countByHost: dict[str, int] = {}
        factory = VortexServerFactory(self)
        factory.setProtocolOptions(
            **protocolOptions(limits), **serverDeflateOptions(self.permessageDeflate)
        )
        #: The ``twisted.web`` resource to mount at ``/vortexws`` (``VORTEX_WS_PATH``).
        self.resource = WebSocketResource(factory)

    @property
    def connections(self) -> list[VortexConnection]:
        """The authenticated links open right now."""
        return list(self._connections)

    def linkAt(self, peerAddress: str) -> VortexConnection | None:
        """The open link whose peer is ``peerAddress`` (``host:port``), or None."""
        return self._byAddress.get(peerAddress)

    def linkCountFrom(self, host: str) -> int:
        """How many links are open from ``host``."""
        return self._countByHost.get(host, 0)

    def listen(
        self, port: int, interface: str = "127.0.0.1", tls: ServerTls | None = None
    ) -> IListeningPort:
        """Serve ``resource`` at ``/vortexws`` on a site of its own (TLS if ``tls`` is given)."""
        root = Resource()
        root.putChild(VORTEX_WS_PATH, self.resource)
        site = Site(root)
        site.noisy = False
        if tls is None:
            # Twisted types listenTCP's factory as a bare ServerFactory (listenSSL's is
            # generic), which mypy says a Site is not.
            return self._reactor.listenTCP(port, site, interface=interface)  # type: ignore[arg-type]
        return self._reactor.listenSSL(port, site, tls.contextFactory(), interface=interface)

    def closeAll(self, reason: str = "server stopping") -> None:
        """Close every open link with 'going away' (used when the service stops)."""
        for connection in list(self._connections):
            connection.close(reason, CLOSE_GOING_AWAY)

    # ---- LinkOwner -----------------------------------------------------------------

    def linkUp(self, connection: VortexConnection) -> None:
        """Track the link and tell the application."""
        self._connections[connection] = None
        address = connection.peerAddress
        self._byAddress[address] = connection
        host = peerHost(address)
        self._countByHost[host] = self._countByHost.get(host, 0) + 1
        if self._onConnect is not None:
            self._onConnect(connection)

    def linkDown(self, connection: VortexConnection, reason: str) -> None:
        """Forget the link and tell the application."""
        if connection in self._connections:
            del self._connections[connection]
            address = connection.peerAddress
            if self._byAddress.get(address) is connection:
                del self._byAddress[address]
            host = peerHost(address)
            remaining = self._countByHost[host] - 1
            if remaining:
                self._countByHost[host] = remaining
            else:
                del self._countByHost[host]
        if self._onDisconnect is not None:
            self._onDisconnect(connection, reason)

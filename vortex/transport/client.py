"""The vortex websocket client: keeps one authenticated link up, reconnecting with backoff."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from twisted.internet import defer
from twisted.internet.abstract import isIPAddress, isIPv6Address
from twisted.internet.endpoints import (
    HostnameEndpoint,
    TCP4ClientEndpoint,
    TCP6ClientEndpoint,
    wrapClientTLS,
)
from twisted.internet.interfaces import IDelayedCall, IProtocol, IStreamClientEndpoint
from twisted.python.failure import Failure

from vortex.transport.backoff import Backoff
from vortex.transport.chunking import ReassemblyBudget
from vortex.transport.connection_core import VortexLinkClosedError
from vortex.transport.handshake import CLOSE_GOING_AWAY, checkIdentifier
from vortex.transport.limits import DEFAULT_LIMITS, TransportLimits
from vortex.transport.protocol import (
    LinkOwner,
    VortexClientFactory,
    VortexClientProtocol,
    VortexConnection,
    _VortexProtocolMixin,
    clientDeflateOptions,
    protocolOptions,
)
from vortex.transport.reactor import IVortexReactor, globalReactor
from vortex.transport.tls import ClientTls

logger = logging.getLogger(__name__)


class VortexClient(LinkOwner):
    """Connects to a vortex server (``ws://`` or ``wss://`` URL) and keeps the link up.

    With ``secret`` it authenticates as a service (and checks the server knows the secret too);
    without, it connects as a device; ``headers`` go with the websocket upgrade request (a
    device's ``Cookie`` holding its login session, as a browser sends it). After a drop or a
    failed attempt it retries after ``backoff.nextDelay()``; the backoff resets once a link
    is authenticated. ``permessageDeflate`` offers compression; by default a device offers
    it (as browsers do) and a service does not. Chunked messages being received share
    ``reassemblyBudget``.
    """

    def __init__(
        self,
        url: str,
        vortexName: str,
        vortexUuid: str,
        *,
        secret: bytes | None,
        onMessage: Callable[[VortexConnection, bytes], None],
        onConnect: Callable[[VortexConnection], None] | None = None,
        onDisconnect: Callable[[VortexConnection, str], None] | None = None,
        tls: ClientTls | None = None,
        limits: TransportLimits = DEFAULT_LIMITS,
        reactor: IVortexReactor | None = None,
        backoff: Backoff | None = None,
        permessageDeflate: bool | None = None,
        headers: Mapping[str, str] | None = None,
        reassemblyBudget: ReassemblyBudget | None = None,
    ) -> None:
        if reactor is None:
            reactor = globalReactor()
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"vortex client URL {url!r} must look like ws://host:port/vortexws")
        self.url = url
        self.vortexName = checkIdentifier("vortexName", vortexName)
        self.vortexUuid = checkIdentifier("vortexUuid", vortexUuid)
        self.secret = secret
        self.allowDevices = False
        self.admitDevice = None
        self.limits = limits
        self.reassemblyBudget = (
            reassemblyBudget if reassemblyBudget is not None else ReassemblyBudget()
        )
        #: True when this client offers permessage-deflate.
        self.permessageDeflate = secret is None if permessageDeflate is None else permessageDeflate
        self.clock = reactor
        self.onMessage = onMessage
        #: Connection attempts that ended without an authenticated link.
        self.failedAttempts = 0
        #: The open link, or None.
        self.connection: VortexConnection | None = None
        self._reactor = reactor
        self._onConnect = onConnect
        self._onDisconnect = onDisconnect
        self._backoff = backoff if backoff is not None else Backoff()
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "wss" else 80)
        if parts.scheme == "wss":
            tls = tls if tls is not None else ClientTls()
            self._tlsCreator = tls.connectionCreator(self._host)
        else:
            self._tlsCreator = None
        self._factory = VortexClientFactory(url, self, headers)
        self._factory.noisy = False
        self._factory.setProtocolOptions(
            **protocolOptions(limits), **clientDeflateOptions(self.permessageDeflate)
        )
        self._running = False
        self._attempt: defer.Deferred[IProtocol] | None = None
        self._retry: IDelayedCall | None = None
        self._protocol: VortexClientProtocol | None = None
        self._waiters: list[defer.Deferred[VortexConnection]] = []
        self._stopped: list[defer.Deferred[None]] = []

    @property
    def connected(self) -> bool:
        """True while an authenticated link is open."""
        return self.connection is not None and self.connection.isOpen

    def start(self) -> None:
        """Begin connecting (idempotent)."""
        if self._running:
            return
        self._running = True
        self._connect()

    def stop(self) -> defer.Deferred[None]:
        """Stop reconnecting and close the link; fires once the socket is closed."""
        self._running = False
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        if self._attempt is not None:
            self._attempt.cancel()
        if self._protocol is None:
            return defer.succeed(None)
        d: defer.Deferred[None] = defer.Deferred()
        self._stopped.append(d)
        self._protocol.connection.close("client stopping", CLOSE_GOING_AWAY)
        return d

    def whenConnected(self) -> defer.Deferred[VortexConnection]:
        """Deferred firing with the ``VortexConnection`` once a link is up (at once if it is)."""
        if self.connection is not None and self.connection.isOpen:
            return defer.succeed(self.connection)
        d: defer.Deferred[VortexConnection] = defer.Deferred()
        self._waiters.append(d)
        return d

    def send(self, data: bytes) -> None:
        """Send on the current link; raises ``VortexLinkClosedError`` when there is none."""
        if self.connection is None:
            raise VortexLinkClosedError(f"vortex client {self.vortexName!r}: no link to {self.url}")
        self.connection.send(data)

    # ---- connecting ----------------------------------------------------------------

    def _endpoint(self) -> IStreamClientEndpoint:
        # IP literals skip the resolver thread pool; names go through HostnameEndpoint.
        endpoint: IStreamClientEndpoint
        if isIPAddress(self._host):
            endpoint = TCP4ClientEndpoint(self._reactor, self._host, self._port)
        elif isIPv6Address(self._host):
            endpoint = TCP6ClientEndpoint(self._reactor, self._host, self._port)
        else:
            endpoint = HostnameEndpoint(self._reactor, self._host, self._port)
        if self._tlsCreator is not None:
            endpoint = wrapClientTLS(self._tlsCreator, endpoint)
        return endpoint

    def _connect(self) -> None:
        self._retry = None
        self._attempt = attempt = self._endpoint().connect(self._factory)
        attempt.addCallbacks(self._connected, self._connectFailed)

    def _connected(self, protocol: VortexClientProtocol) -> None:
        self._attempt = None
        self._protocol = protocol

    def _connectFailed(self, failure: Failure) -> None:
        self._attempt = None
        if not self._running:
            return  # stop() cancelled the attempt
        self.failedAttempts += 1
        self._scheduleRetry(f"cannot connect: {failure.getErrorMessage()}")

    def _scheduleRetry(self, why: str) -> None:
        delay = self._backoff.nextDelay()
        logger.info(
            "Vortex client %r to %s: %s; retrying in %.2f s", self.vortexName, self.url, why, delay
        )
        self._retry = self._reactor.callLater(delay, self._connect)

    # ---- LinkOwner -----------------------------------------------------------------

    def linkUp(self, connection: VortexConnection) -> None:
        """Authenticated: reset the backoff, tell the application, then wake waiters.

        ``onConnect`` runs first so that code waiting on :meth:`whenConnected` sees the link
        already registered by the application (e.g. listed by its ``VortexFactory``).
        """
        self.connection = connection
        self._backoff.reset()
        try:
            if self._onConnect is not None:
                self._onConnect(connection)
        finally:
            waiters, self._waiters = self._waiters, []
            for d in waiters:
                d.callback(connection)

    def linkDown(self, connection: VortexConnection, reason: str) -> None:
        """The link closed: tell the application (the retry is scheduled by protocolClosed)."""
        self.connection = None
        if self._onDisconnect is not None:
            self._onDisconnect(connection, reason)

    def protocolClosed(self, protocol: _VortexProtocolMixin, wasUp: bool) -> None:
        """The socket closed: finish a stop, or schedule the next attempt."""
        if protocol is self._protocol:
            self._protocol = None
        if not wasUp:
            self.failedAttempts += 1
        if not self._running:
            stopped, self._stopped = self._stopped, []
            for d in stopped:
                d.callback(None)
            return
        self._scheduleRetry("link closed" if wasUp else "handshake failed")

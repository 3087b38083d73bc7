"""Thin autobahn adapters that plug ``VortexConnectionCore`` into real websockets."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from autobahn.twisted.websocket import (
    WebSocketClientFactory,
    WebSocketClientProtocol,
    WebSocketServerFactory,
    WebSocketServerProtocol,
)
from autobahn.websocket.compress import (
    PerMessageDeflateOffer,
    PerMessageDeflateOfferAccept,
    PerMessageDeflateResponse,
    PerMessageDeflateResponseAccept,
)
from twisted.internet.interfaces import IReactorTime

from vortex.stats import LinkTraffic
from vortex.transport._autobahn_compat import AutobahnShortcuts
from vortex.transport.chunking import ReassemblyBudget
from vortex.transport.connection_core import DeviceAdmission, VortexConnectionCore
from vortex.transport.handshake import CLOSE_NORMAL, PeerIdentity
from vortex.transport.limits import TransportLimits

logger = logging.getLogger(__name__)

_CLOSE_REASON_BYTES = 123  # RFC 6455: control frame payload <= 125 bytes, 2 for the code
#: Window (log2 bytes) and zlib memory level of our permessage-deflate compressor, and the
#: window we ask the peer to compress with: 16 KiB of state per direction instead of
#: 256 KiB, for about the same ratio (figures in docs/dev/transport.rst).
DEFLATE_WINDOW_BITS = 12
DEFLATE_MEM_LEVEL = 4


class VortexConnection:
    """One authenticated vortex link, as handed to ``onConnect``/``onMessage``/``onDisconnect``."""

    def __init__(self, core: VortexConnectionCore, protocol: _VortexProtocolMixin) -> None:
        self._core = core
        self._protocol = protocol
        #: Send one opaque, non-empty binary message (bound straight to the core: hot path).
        self.send: Callable[[bytes], None] = core.send
        #: :attr:`send` ahead of normal messages waiting behind a bulk transfer (RPC and
        #: action requests and replies).
        self.sendPriority: Callable[[bytes], None] = core.sendPriority

    @property
    def remoteVortexName(self) -> str:
        """Authenticated vortex name of the peer (what ``acceptOnlyFromVortex`` checks)."""
        return self._peer().vortexName

    @property
    def remoteVortexUuid(self) -> str:
        """Vortex uuid the peer announced in the handshake."""
        return self._peer().vortexUuid

    @property
    def isDevice(self) -> bool:
        """True for an anonymous device (browser) link, False for an authenticated service."""
        return self._peer().isDevice

    @property
    def peerAddress(self) -> str:
        """``host:port`` of the remote socket."""
        return self._core.peerAddress

    @property
    def isOpen(self) -> bool:
        """True until the link starts closing."""
        return self._core.isOpen

    def traffic(self) -> LinkTraffic:
        """Payload messages and bytes received and sent on this link so far."""
        core = self._core
        return LinkTraffic(
            core.receivedMessages, core.receivedBytes, core.sentMessages, core.sentBytes
        )

    @property
    def isCompressed(self) -> bool:
        """True when permessage-deflate was negotiated on this link."""
        return self._protocol.isPerMessageCompressed()

    @property
    def reassemblingBytes(self) -> int:
        """Full sizes of the chunked messages partly received on this link right now."""
        return self._core.reassemblingBytes

    def wireBytes(self) -> tuple[int, int]:
        """Bytes received and sent on the socket since the websocket opened: frames as they
        crossed the network, compressed when the link is (``traffic`` counts payloads)."""
        stats = self._protocol.trafficStats
        return stats.incomingOctetsWireLevel, stats.outgoingOctetsWireLevel

    def close(self, reason: str = "closed by application", code: int = CLOSE_NORMAL) -> None:
        """Close the link with a websocket close frame (normal closure by default)."""
        self._core.close(reason, code)

    def pauseReading(self) -> None:
        """Stop reading from the socket (backpressure towards the peer)."""
        self._protocol.transport.pauseProducing()

    def resumeReading(self) -> None:
        """Start reading from the socket again."""
        self._protocol.transport.resumeProducing()

    def _peer(self) -> PeerIdentity:
        """The peer's identity: links reach the application only once the handshake set it."""
        peer = self._core.peer
        if peer is None:
            raise RuntimeError(f"vortex link to {self._core.describePeer()} is not authenticated")
        return peer

    def __repr__(self) -> str:
        return f"<VortexConnection {self._core.describePeer()}>"


class LinkOwner:
    """What the adapter needs from the server endpoint or client that owns its factory."""

    vortexName: str
    vortexUuid: str
    secret: bytes | None
    allowDevices: bool
    admitDevice: DeviceAdmission | None
    limits: TransportLimits
    reassemblyBudget: ReassemblyBudget
    clock: IReactorTime
    onMessage: Callable[[VortexConnection, bytes], None]

    def linkUp(self, connection: VortexConnection) -> None:
        """An authenticated link is open."""
        raise NotImplementedError

    def linkDown(self, connection: VortexConnection, reason: str) -> None:
        """An authenticated link has closed."""
        raise NotImplementedError

    def protocolClosed(self, protocol: _VortexProtocolMixin, wasUp: bool) -> None:
        """A websocket (authenticated or not) has closed."""


class _VortexProtocolMixin(AutobahnShortcuts):
    """Shared adapter: autobahn callbacks in, ``CoreOutputs`` out."""

    isVortexServer = True

    def connectionMade(self) -> None:
        """Create the core and register it as the transport's push producer."""
        super().connectionMade()
        owner: LinkOwner = self.factory.owner  # a VortexServerFactory or VortexClientFactory
        self._owner = owner
        self._appOnMessage = owner.onMessage
        peer = self.transport.getPeer()
        address = f"{getattr(peer, 'host', peer)}:{getattr(peer, 'port', '')}"
        self._core = core = VortexConnectionCore(
            isServer=self.isVortexServer,
            vortexName=owner.vortexName,
            vortexUuid=owner.vortexUuid,
            secret=owner.secret,
            allowDevices=owner.allowDevices,
            admitDevice=owner.admitDevice,
            limits=owner.limits,
            clock=owner.clock,
            outputs=self,
            peerAddress=address,
            reassemblyBudget=owner.reassemblyBudget,
        )
        self.connection = VortexConnection(core, self)
        self.routeMessagesTo(core.messageReceived)
        # twisted.web's HTTPChannel registered itself as producer before the websocket
        # took the transport over; the core replaces it so the send-queue bound works.
        self.transport.unregisterProducer()
        self.transport.registerProducer(core, True)

    def onOpen(self) -> None:
        """Websocket upgrade done: the vortex handshake starts."""
        if self.isPerMessageCompressed():
            self.compressFast()
        self._core.connectionOpened()

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        """Socket closed: tell the core, then the owner."""
        core = getattr(self, "_core", None)
        if core is None:
            return
        failure = self.localFailure()
        if failure is not None and core.closeReason is None:
            # autobahn itself refused something (oversized frame, protocol violation).
            core.protocolFailed(*failure)
        reasonText = core.connectionClosed(code, reason)
        wasUp = core.peer is not None
        if wasUp:
            self._owner.linkDown(self.connection, reasonText)
        self._owner.protocolClosed(self, wasUp)

    # ---- CoreOutputs ---------------------------------------------------------------

    #: Send a message; dropped silently once autobahn has started closing. The compat
    #: method itself, so the hot path pays no extra call.
    writeMessage = AutobahnShortcuts.sendMessageIfOpen

    def closeLink(self, code: int, reason: str, abort: bool) -> None:
        """Close frame with code and reason, or drop the socket at once."""
        if abort or not self.isWebSocketOpen():
            self.abortWebSocket()
            return
        reasonBytes = reason.encode("utf-8")[:_CLOSE_REASON_BYTES]
        reasonBytes = reasonBytes.decode("utf-8", "ignore").encode("utf-8")
        self.sendCloseCode(code, reasonBytes)

    def linkUp(self, peer: PeerIdentity) -> None:
        """Announce the authenticated link to the owner."""
        self._owner.linkUp(self.connection)

    def deliver(self, data: bytes) -> None:
        """Hand one payload to the application; its bugs must not kill the link."""
        try:
            self._appOnMessage(self.connection, data)
        except Exception:
            logger.exception(
                "Vortex onMessage callback failed for a message from %s; the link stays up",
                self._core.describePeer(),
            )


class VortexServerProtocol(_VortexProtocolMixin, WebSocketServerProtocol):
    """Server side of one vortex websocket."""

    isVortexServer = True


class VortexClientProtocol(_VortexProtocolMixin, WebSocketClientProtocol):
    """Client side of one vortex websocket."""

    isVortexServer = False


class VortexServerFactory(WebSocketServerFactory):
    """autobahn's server factory, carrying the endpoint its protocols report to."""

    protocol = VortexServerProtocol

    def __init__(self, owner: LinkOwner) -> None:
        super().__init__()
        self.owner = owner


class VortexClientFactory(WebSocketClientFactory):
    """autobahn's client factory, carrying the client its protocols report to."""

    protocol = VortexClientProtocol

    def __init__(
        self, url: str, owner: LinkOwner, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(url, headers=dict(headers) if headers else None)
        self.owner = owner


def _smallerWindow(limit: int) -> int:
    """Our compressor's window: :data:`DEFLATE_WINDOW_BITS`, or less if the peer asked.

    A compressor may always use a smaller window than negotiated: the peer's decompressor,
    sized for the negotiated one, reads it.
    """
    return min(DEFLATE_WINDOW_BITS, limit) if limit else DEFLATE_WINDOW_BITS


def _acceptDeflateOffer(offers: list) -> PerMessageDeflateOfferAccept | None:
    """Accept a permessage-deflate offer (browsers make one by themselves), asking the client
    for our window when its offer allows that (Chromium's and Firefox's do)."""
    for offer in offers:
        if isinstance(offer, PerMessageDeflateOffer):
            return PerMessageDeflateOfferAccept(
                offer,
                request_max_window_bits=DEFLATE_WINDOW_BITS if offer.accept_max_window_bits else 0,
                window_bits=_smallerWindow(offer.request_max_window_bits),
                mem_level=DEFLATE_MEM_LEVEL,
            )
    return None


def _acceptDeflateResponse(response: Any) -> PerMessageDeflateResponseAccept | None:
    if isinstance(response, PerMessageDeflateResponse):
        return PerMessageDeflateResponseAccept(
            response,
            window_bits=_smallerWindow(response.client_max_window_bits),
            mem_level=DEFLATE_MEM_LEVEL,
        )
    return None


def protocolOptions(limits: TransportLimits) -> dict[str, Any]:
    """autobahn options shared by both sides: binary, unfragmented, size-capped, no autoping."""
    return {
        "maxFramePayloadSize": limits.maxMessageBytes,
        "maxMessagePayloadSize": limits.maxMessageBytes,
        "autoFragmentSize": 0,
        "failByDrop": False,  # send a close frame so the peer learns the code and reason
        "openHandshakeTimeout": limits.handshakeTimeoutSeconds,
        "closeHandshakeTimeout": limits.closeTimeoutSeconds,
        "tcpNoDelay": True,
        "autoPingInterval": 0,  # liveness is the core's heartbeat, which browsers can do too
        "utf8validateIncoming": False,  # text frames are refused anyway
    }


def serverDeflateOptions(enabled: bool) -> dict[str, Any]:
    """Server side: accept a permessage-deflate offer only when enabled, and answer a plain
    (non-upgrade) request with an error rather than autobahn's status page, which names
    its version and redirects to any ``?redirect=`` URL."""
    return {
        "perMessageCompressionAccept": _acceptDeflateOffer if enabled else (lambda _: None),
        "webStatus": False,
    }


def clientDeflateOptions(enabled: bool) -> dict[str, Any]:
    """Client side: offer permessage-deflate only when enabled, as Chromium does
    (``permessage-deflate; client_max_window_bits``)."""
    if not enabled:
        return {"perMessageCompressionOffers": []}
    return {
        "perMessageCompressionOffers": [
            PerMessageDeflateOffer(accept_no_context_takeover=False, accept_max_window_bits=True)
        ],
        "perMessageCompressionAccept": _acceptDeflateResponse,
    }

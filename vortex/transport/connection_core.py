"""Sans-IO state machine of one vortex link: handshake, heartbeats, limits.

It consumes inbound websocket messages and timer ticks and asks an ``CoreOutputs`` object to
write frames, close the socket, announce the link and deliver payloads. No sockets, no
autobahn: tests drive it with plain calls and ``twisted.internet.task.Clock``.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from typing import Protocol

from twisted.internet.interfaces import IDelayedCall, IPushProducer, IReactorTime
from zope.interface import implementer

from vortex.transport import handshake as hs
from vortex.transport.handshake import HandshakeError, HandshakeStep, PeerIdentity, Transcript
from vortex.transport.limits import DEFAULT_LIMITS, TransportLimits

logger = logging.getLogger(__name__)

HEARTBEAT = b""  # an empty binary message; never a payload

_HANDSHAKING, _OPEN, _CLOSED = "handshaking", "open", "closed"


#: Asked with a device's peer address when it says hello: None admits it, else the reason
#: it is refused (closed with ``CLOSE_LOGIN_REQUIRED``).
DeviceAdmission = Callable[[str], str | None]


class VortexLinkClosedError(ConnectionError):
    """Raised by ``send`` when the link is not (or no longer) open."""


class CoreOutputs(Protocol):
    """What the core asks of the I/O layer (the autobahn adapter, or a test recorder)."""

    def writeMessage(self, data: bytes, isBinary: bool) -> None:
        """Send one websocket message."""

    def closeLink(self, code: int, reason: str, abort: bool) -> None:
        """Close the websocket with a close frame, or drop the socket when ``abort``."""

    def linkUp(self, peer: PeerIdentity) -> None:
        """The handshake succeeded: payloads may flow."""

    def deliver(self, data: bytes) -> None:
        """One payload message arrived on the open link."""


@implementer(IPushProducer)
class VortexConnectionCore:
    """One side (client or server) of one vortex link, independent of the event loop.

    Registered as the transport's push producer by the adapter: Twisted pauses it when its
    write buffer is full, and while paused every byte sent is counted against
    ``limits.maxQueuedBytes``, so a slow consumer cannot grow memory without bound.
    """

    def __init__(
        self,
        *,
        isServer: bool,
        vortexName: str,
        vortexUuid: str,
        secret: bytes | None,
        outputs: CoreOutputs,
        clock: IReactorTime,
        peerAddress: str,
        limits: TransportLimits = DEFAULT_LIMITS,
        allowDevices: bool = False,
        admitDevice: DeviceAdmission | None = None,
        randomBytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.isServer = isServer
        self.vortexName = hs.checkIdentifier("vortexName", vortexName)
        self.vortexUuid = hs.checkIdentifier("vortexUuid", vortexUuid)
        self.peerAddress = peerAddress
        self.limits = limits
        #: Identity of the remote side, set once the handshake succeeds.
        self.peer: PeerIdentity | None = None
        #: Why the link ended, once it has.
        self.closeReason: str | None = None
        #: Heartbeat interval the peer announced (or ours, if it announced none), once known.
        self.peerHeartbeatSeconds: float | None = None
        self._secret = secret
        self._allowDevices = allowDevices
        self._admitDevice = admitDevice
        self._outputs = outputs
        self._write = outputs.writeMessage
        self._deliver = outputs.deliver
        self._clock = clock
        self._randomBytes = randomBytes
        self._maxMessageBytes = limits.maxMessageBytes
        self._maxQueuedBytes = limits.maxQueuedBytes
        self._state = _HANDSHAKING
        self._step: HandshakeStep | None = None
        self._claimedName: str | None = None
        self._transcript: Transcript | None = None
        self._myNonce = ""
        self._timer: IDelayedCall | None = None
        self._heard = False
        self._missed = 0
        self._deadAfterTicks = limits.missedHeartbeats
        self._paused = False
        self._pausedBytes = 0
        #: Payload messages and bytes received and sent while open (not heartbeats or the
        #: handshake): plain counters the factory's stats read (``vortex.stats``).
        self.receivedMessages = 0
        self.receivedBytes = 0
        self.sentMessages = 0
        self.sentBytes = 0

    # ---- state -------------------------------------------------------------------------

    @property
    def isOpen(self) -> bool:
        """True while the link is authenticated and usable."""
        return self._state is _OPEN

    def describePeer(self) -> str:
        """Peer identity for log lines: authenticated name, claimed name, or just the address."""
        if self.peer is not None:
            kind = "device" if self.peer.isDevice else "service"
            return (
                f"{kind} {self.peer.vortexName!r} (uuid {self.peer.vortexUuid}) "
                f"at {self.peerAddress}"
            )
        if self._claimedName is not None:
            return f"unauthenticated peer claiming {self._claimedName!r} at {self.peerAddress}"
        return f"unauthenticated peer at {self.peerAddress}"

    # ---- inputs from the I/O layer ---------------------------------------------------

    def connectionOpened(self) -> None:
        """The websocket is open: start the handshake clock; a client says hello."""
        self._timer = self._clock.callLater(
            self.limits.handshakeTimeoutSeconds, self._handshakeTimedOut
        )
        if self.isServer:
            self._step = HandshakeStep.AWAIT_HELLO
            return
        hello = {
            "type": "hello",
            "protocol": hs.PROTOCOL_VERSION,
            "role": hs.ROLE_DEVICE if self._secret is None else hs.ROLE_SERVICE,
            "vortexName": self.vortexName,
            "vortexUuid": self.vortexUuid,
            "heartbeatSeconds": self.limits.heartbeatSeconds,
        }
        if self._secret is None:
            self._step = HandshakeStep.AWAIT_WELCOME
        else:
            self._myNonce = self._randomBytes(hs.NONCE_BYTES).hex()
            hello["nonce"] = self._myNonce
            self._step = HandshakeStep.AWAIT_CHALLENGE
        self._write(hs.encode(hello), True)

    def messageReceived(self, data: bytes, isBinary: bool) -> None:
        """One websocket message arrived (handshake, heartbeat or payload)."""
        if self._state is _OPEN:
            self._heard = True
            if not isBinary:
                self._fail(
                    hs.CLOSE_UNSUPPORTED_DATA, "text frame received; the vortex uses binary frames"
                )
            elif len(data) > self._maxMessageBytes:
                self._fail(
                    hs.CLOSE_MESSAGE_TOO_BIG,
                    f"message of {len(data)} bytes exceeds the limit of "
                    f"{self._maxMessageBytes} bytes",
                )
            elif data:
                self.receivedMessages += 1
                self.receivedBytes += len(data)
                self._deliver(data)
            return
        if self._state is _CLOSED:
            return
        if not isBinary:
            self._fail(hs.CLOSE_UNSUPPORTED_DATA, "text frame received during the handshake")
            return
        try:
            self._handshakeMessage(data)
        except HandshakeError as e:
            self._fail(e.code, e.reason)

    def connectionClosed(self, code: int | None, reason: str | None) -> str:
        """The socket is gone; stop timers, log, and return why the link ended."""
        self._cancelTimer()
        if self.closeReason is None:
            self.closeReason = f"closed by the peer or the network (code {code}: {reason})"
            if self.peer is None:
                logger.warning(
                    "Vortex handshake with %s did not complete: %s",
                    self.describePeer(),
                    self.closeReason,
                )
        self._state = _CLOSED
        if self.peer is not None:
            logger.info("Vortex link down: %s: %s", self.describePeer(), self.closeReason)
        return self.closeReason

    def protocolFailed(self, code: int | None, reason: str | None) -> None:
        """The websocket layer refused something the peer sent (oversized or bad frame)."""
        if self._state is _CLOSED:
            return
        self._cancelTimer()
        self._state = _CLOSED
        self.closeReason = f"websocket protocol error (code {code}): {reason}"
        logger.warning("Vortex link %s: closing: %s", self.describePeer(), self.closeReason)

    # ---- outputs requested by the application ---------------------------------------

    def send(self, data: bytes) -> None:
        """Queue one payload message; raises if the link is not open or the message is bad."""
        if self._state is not _OPEN:
            raise VortexLinkClosedError(
                f"vortex link to {self.describePeer()} is not open: "
                f"{self.closeReason or 'handshake in progress'}"
            )
        size = len(data)
        if not 0 < size <= self._maxMessageBytes:
            raise ValueError(
                f"vortex message of {size} bytes to {self.describePeer()} refused: size must be "
                f"1..{self._maxMessageBytes} (empty messages are reserved for heartbeats)"
            )
        if self._paused:
            self._pausedBytes += size
            if self._pausedBytes > self._maxQueuedBytes:
                self._fail(
                    hs.CLOSE_SLOW_CONSUMER,
                    f"slow consumer: more than {self._maxQueuedBytes} bytes queued "
                    "while the peer was not reading",
                    abort=True,
                )
                return
        self.sentMessages += 1
        self.sentBytes += size
        self._write(data, True)

    def close(self, reason: str, code: int = hs.CLOSE_NORMAL) -> None:
        """Close the link on purpose (no warning logged)."""
        if self._state is _CLOSED:
            return
        self._cancelTimer()
        self._state = _CLOSED
        self.closeReason = f"closed by this side: {reason}"
        self._outputs.closeLink(code, reason, False)

    # ---- IPushProducer: the transport tells us when its buffer is full ------------------

    def pauseProducing(self) -> None:
        """The socket is not draining: count what is sent from now on."""
        if not self._paused:  # Twisted repeats the call on every write while over its buffer
            self._paused = True
            self._pausedBytes = 0

    def resumeProducing(self) -> None:
        """The socket buffer drained: sending is free again."""
        self._paused = False
        self._pausedBytes = 0

    def stopProducing(self) -> None:
        """The transport is going away; ``connectionClosed`` follows."""

    # ---- handshake ---------------------------------------------------------------------

    def _handshakeMessage(self, data: bytes) -> None:
        step = self._step
        if step is HandshakeStep.AWAIT_HELLO:
            self._onHello(hs.decode(data, "hello"))
        elif step is HandshakeStep.AWAIT_AUTH:
            self._onAuth(hs.decode(data, "auth"))
        elif step is HandshakeStep.AWAIT_CHALLENGE:
            self._onChallenge(hs.decode(data, "challenge"))
        elif step is HandshakeStep.AWAIT_WELCOME:
            self._onWelcome(hs.decode(data, "welcome"))
        else:
            raise HandshakeError(hs.CLOSE_BAD_HANDSHAKE, "message before the websocket opened")

    def _onHello(self, msg: dict) -> None:
        hs.checkProtocol(msg)
        name = hs.field(msg, "vortexName", "ident")
        self._claimedName = name
        uuid = hs.field(msg, "vortexUuid", "ident")
        role = hs.field(msg, "role", "role")
        self.peerHeartbeatSeconds = hs.peerHeartbeat(msg, self.limits.heartbeatSeconds)
        if role == hs.ROLE_DEVICE:
            if not self._allowDevices:
                raise HandshakeError(
                    hs.CLOSE_ROLE_REFUSED, "device connections are not allowed on this endpoint"
                )
            refusal = None if self._admitDevice is None else self._admitDevice(self.peerAddress)
            if refusal is not None:
                raise HandshakeError(hs.CLOSE_LOGIN_REQUIRED, refusal)
            self._open(PeerIdentity(name, uuid, isDevice=True), self._welcome(hs.ROLE_DEVICE, None))
            return
        if self._secret is None:
            raise HandshakeError(
                hs.CLOSE_ROLE_REFUSED,
                "service connections are not allowed on this endpoint (no shared secret set)",
            )
        clientNonce = hs.field(msg, "nonce", "hex")
        self._myNonce = self._randomBytes(hs.NONCE_BYTES).hex()
        self._transcript = Transcript(
            name, uuid, self.vortexName, self.vortexUuid, clientNonce, self._myNonce
        )
        # State changes before each write, so the core is re-entrant if the reply is immediate.
        self._step = HandshakeStep.AWAIT_AUTH
        self._write(
            hs.encode(
                {
                    "type": "challenge",
                    "protocol": hs.PROTOCOL_VERSION,
                    "vortexName": self.vortexName,
                    "vortexUuid": self.vortexUuid,
                    "nonce": self._myNonce,
                }
            ),
            True,
        )

    def _onAuth(self, msg: dict) -> None:
        proof = hs.field(msg, "proof", "hex")
        transcript, secret = self._transcript, self._secret
        assert transcript is not None and secret is not None  # _onHello set both
        if not hs.proofMatches(transcript.proof(secret, "client"), proof):
            raise HandshakeError(
                hs.CLOSE_AUTH_FAILED, "authentication failed: wrong client proof (secret differs)"
            )
        self._open(
            PeerIdentity(transcript.clientName, transcript.clientUuid, isDevice=False),
            self._welcome(hs.ROLE_SERVICE, transcript.proof(secret, "server")),
        )

    def _welcome(self, role: str, proof: str | None) -> bytes:
        welcome = {
            "type": "welcome",
            "protocol": hs.PROTOCOL_VERSION,
            "role": role,
            "vortexName": self.vortexName,
            "vortexUuid": self.vortexUuid,
            "heartbeatSeconds": self.limits.heartbeatSeconds,
        }
        if proof is not None:
            welcome["proof"] = proof
        return hs.encode(welcome)

    def _onChallenge(self, msg: dict) -> None:
        hs.checkProtocol(msg)
        name = hs.field(msg, "vortexName", "ident")
        self._claimedName = name
        self._transcript = Transcript(
            self.vortexName,
            self.vortexUuid,
            name,
            hs.field(msg, "vortexUuid", "ident"),
            self._myNonce,
            hs.field(msg, "nonce", "hex"),
        )
        secret = self._secret
        assert secret is not None  # only a service client awaits a challenge
        proof = self._transcript.proof(secret, "client")
        self._step = HandshakeStep.AWAIT_WELCOME
        self._write(hs.encode({"type": "auth", "proof": proof}), True)

    def _onWelcome(self, msg: dict) -> None:
        hs.checkProtocol(msg)
        self.peerHeartbeatSeconds = hs.peerHeartbeat(msg, self.limits.heartbeatSeconds)
        if self._secret is None:
            name = hs.field(msg, "vortexName", "ident")
            self._claimedName = name
            self._open(PeerIdentity(name, hs.field(msg, "vortexUuid", "ident"), isDevice=False))
            return
        transcript = self._transcript
        assert transcript is not None  # _onChallenge set it
        proof = hs.field(msg, "proof", "hex")
        if not hs.proofMatches(transcript.proof(self._secret, "server"), proof):
            raise HandshakeError(
                hs.CLOSE_AUTH_FAILED,
                "authentication failed: wrong server proof (impostor server or secret differs)",
            )
        self._open(PeerIdentity(transcript.serverName, transcript.serverUuid, isDevice=False))

    def _open(self, peer: PeerIdentity, welcome: bytes | None = None) -> None:
        """Open the link; the server's welcome is written before the application hears of it."""
        self._cancelTimer()
        self.peer = peer
        self._state = _OPEN
        self._transcript = None
        self._heard = False
        self._missed = 0
        own = self.limits.heartbeatSeconds
        peerSeconds = self.peerHeartbeatSeconds
        assert peerSeconds is not None  # the peer's hello or welcome set it
        # Silence is judged against the slower sender: our ticks that fit in that many of its.
        ratio = max(own, peerSeconds) / own
        self._deadAfterTicks = math.ceil(self.limits.missedHeartbeats * ratio - 1e-9)
        self._timer = self._clock.callLater(own, self._heartbeatTick)
        if welcome is not None:
            self._write(welcome, True)
        logger.info("Vortex link up: %s", self.describePeer())
        self._outputs.linkUp(peer)

    # ---- timers ------------------------------------------------------------------------

    def _handshakeTimedOut(self) -> None:
        self._timer = None
        self._fail(
            hs.CLOSE_HANDSHAKE_TIMEOUT,
            f"handshake not completed within {self.limits.handshakeTimeoutSeconds} s",
        )

    def _heartbeatTick(self) -> None:
        self._timer = None
        if self._heard:
            self._heard = False
            self._missed = 0
        else:
            self._missed += 1
            if self._missed >= self._deadAfterTicks:
                peerSeconds = self.peerHeartbeatSeconds
                assert peerSeconds is not None  # the link is open
                interval = max(self.limits.heartbeatSeconds, peerSeconds)
                self._fail(
                    hs.CLOSE_HEARTBEAT_TIMEOUT,
                    f"peer silent for {self.limits.missedHeartbeats} heartbeat intervals of "
                    f"{interval} s; declared dead",
                    abort=True,
                )
                return
        self._write(HEARTBEAT, True)
        self._timer = self._clock.callLater(self.limits.heartbeatSeconds, self._heartbeatTick)

    def _cancelTimer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _fail(self, code: int, reason: str, abort: bool = False) -> None:
        """Close because of a peer fault, logging why and who."""
        logger.warning("Vortex link %s: closing (code %d): %s", self.describePeer(), code, reason)
        self._cancelTimer()
        self._state = _CLOSED
        self.closeReason = reason
        self._outputs.closeLink(code, reason, abort)

"""Sans-IO state machine of one vortex link: handshake, heartbeats, limits, chunks, priority.

It consumes inbound websocket messages and timer ticks and asks an ``CoreOutputs`` object to
write frames, close the socket, announce the link and deliver payloads. No sockets, no
autobahn: tests drive it with plain calls and ``twisted.internet.task.Clock``.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterator
from typing import Protocol

from twisted.internet.interfaces import IDelayedCall, IPushProducer, IReactorTime
from zope.interface import implementer

from vortex.transport import handshake as hs
from vortex.transport.chunking import (
    CHUNK_HEADER_BYTES,
    MAX_CHUNKED_BYTES,
    MAX_MESSAGE_ID,
    ChunkFrameError,
    Reassembler,
    ReassemblyBudget,
    chunkFrames,
    frameCount,
)
from vortex.transport.handshake import HandshakeError, HandshakeStep, PeerIdentity, Transcript
from vortex.transport.limits import DEFAULT_LIMITS, TransportLimits
from vortex.transport.send_queue import SendQueue

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
    write buffer is full. A payload sent while earlier bytes still wait (the socket paused,
    or frames queued) is counted against ``limits.maxQueuedBytes``, so a slow consumer cannot
    grow memory without bound. To a peer that reads chunk frames (``chunking``) a payload
    over ``limits.chunkBytes`` goes in chunks, written one at a time as the socket drains,
    and ``sendPriority`` payloads go ahead of normal ones waiting (``send_queue``).
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
        reassemblyBudget: ReassemblyBudget | None = None,
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
        # Chunks and priority. Until the peer says it reads chunk frames, payloads go whole.
        self._peerReadsChunks = False
        self._wholeMax = limits.maxMessageBytes
        self._chunkPayloadBytes = max(
            1, min(limits.chunkBytes, limits.maxMessageBytes - CHUNK_HEADER_BYTES)
        )
        self._maxChunkedBytes = min(limits.maxReassemblyBytes, MAX_CHUNKED_BYTES)
        self._chunkId = MAX_MESSAGE_ID  # the first message gets id 0
        self._sendQueue = SendQueue()
        self._pumpCall: IDelayedCall | None = None
        # The queue's deques, read by the send fast paths (an empty deque is false).
        self._normalBacklog = self._sendQueue.normal
        self._priorityBacklog = self._sendQueue.priority
        self._reassembler = Reassembler(
            limits.maxReassemblyBytes,
            reassemblyBudget if reassemblyBudget is not None else ReassemblyBudget(),
            self.describePeer,
        )
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

    @property
    def peerReadsChunks(self) -> bool:
        """True once the peer has said it reads chunk frames (large payloads are chunked)."""
        return self._peerReadsChunks

    @property
    def reassemblingBytes(self) -> int:
        """Full sizes of the chunked messages partly received on this link right now."""
        return self._reassembler.heldBytes

    @property
    def queuedBytes(self) -> int:
        """Bytes of frames waiting in this link's send queue (behind a bulk transfer)."""
        return self._sendQueue.queuedBytes

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
            hs.CHUNKS_KEY: hs.CHUNK_FORMAT,
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
                if data[0]:
                    self.receivedMessages += 1
                    self.receivedBytes += len(data)
                    self._deliver(data)
                else:
                    self._chunkReceived(data)
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
        self._dropPending()
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
        self._dropPending()
        self._state = _CLOSED
        self.closeReason = f"websocket protocol error (code {code}): {reason}"
        logger.warning("Vortex link %s: closing: %s", self.describePeer(), self.closeReason)

    # ---- outputs requested by the application ---------------------------------------

    def send(self, data: bytes) -> None:
        """Send one payload message, after the normal payloads already waiting; raises if
        the link is not open or the message is bad (empty, or over the size limits)."""
        if self._state is not _OPEN:
            raise self._notOpen()
        size = len(data)
        # Hot path: a payload that fits one frame, with nothing of its class waiting, and
        # not starting with the chunk marker, is written at once.
        if not 0 < size <= self._wholeMax or self._normalBacklog or not data[0]:
            self._sendSlow(data, False)
            return
        if self._paused and self._overQueueBound(size):
            return
        self.sentMessages += 1
        self.sentBytes += size
        self._write(data, True)

    def sendPriority(self, data: bytes) -> None:
        """:meth:`send`, but ahead of normal payloads waiting behind a bulk transfer: for RPC
        and action requests and replies. Priority payloads keep their own order."""
        if self._normalBacklog or self._priorityBacklog or len(data) > self._wholeMax:
            self._sendSlow(data, True)
        else:
            self.send(data)

    def _sendSlow(self, data: bytes, priority: bool) -> None:
        """Everything but the hot path: refusals, chunking, and queuing behind a backlog."""
        if self._state is not _OPEN:
            raise self._notOpen()
        size = len(data)
        if size == 0:
            raise ValueError(
                f"vortex message of 0 bytes to {self.describePeer()} refused: "
                "empty messages are reserved for heartbeats"
            )
        if not self._peerReadsChunks:
            if size > self._maxMessageBytes:
                raise ValueError(
                    f"vortex message of {size} bytes to {self.describePeer()} refused: size "
                    f"must be 1..{self._maxMessageBytes} (the peer does not read chunk frames)"
                )
            self._writeWhole(data, size)
            return
        if size > self._maxChunkedBytes:
            raise ValueError(
                f"vortex message of {size} bytes to {self.describePeer()} refused: size must "
                f"be 1..{self._maxChunkedBytes} (maxReassemblyBytes)"
            )
        frames: tuple[bytes, ...] | Iterator[bytes]
        if size <= self._wholeMax and data[0]:
            if not (self._priorityBacklog if priority else self._normalBacklog):
                self._writeWhole(data, size)  # only the other class is waiting
                return
            frames, frameBytes = (data,), size
        else:
            self._chunkId = messageId = (self._chunkId + 1) & MAX_MESSAGE_ID
            chunk = self._chunkPayloadBytes
            frames = chunkFrames(messageId, data, chunk)
            frameBytes = size + frameCount(size, chunk) * CHUNK_HEADER_BYTES
        queue = self._sendQueue
        if (self._paused or queue) and self._overQueueBound(frameBytes):
            return
        self.sentMessages += 1
        self.sentBytes += size
        queue.add(frames, frameBytes, priority)
        if self._pumpCall is None:
            self._pump()

    def _writeWhole(self, data: bytes, size: int) -> None:
        """Write one whole payload now (the hot path of ``send``, for the other paths)."""
        if self._paused and self._overQueueBound(size):
            return
        self.sentMessages += 1
        self.sentBytes += size
        self._write(data, True)

    def _overQueueBound(self, size: int) -> bool:
        """Count ``size`` bytes as queued behind others; True (link dropped) past the bound."""
        self._pausedBytes += size
        if self._pausedBytes <= self._maxQueuedBytes:
            return False
        self._fail(
            hs.CLOSE_SLOW_CONSUMER,
            f"slow consumer: more than {self._maxQueuedBytes} bytes queued "
            "while the peer was not reading",
            abort=True,
        )
        return True

    def _pump(self) -> None:
        """Write the next queued frame (priority first) unless the socket paused us; the
        frame after it goes on the next reactor turn, so messages that arrived meanwhile
        (an RPC call) are read and answered between two chunks even when the socket takes
        frames as fast as they come (loopback, or chunks that compress to little)."""
        self._pumpCall = None
        if self._paused or self._state is not _OPEN:
            return
        queue = self._sendQueue
        frame = queue.pop()
        if frame is None:
            return
        self._write(frame, True)
        if self._paused:
            return  # resumeProducing goes on
        if queue:
            if self._pumpCall is None:
                self._pumpCall = self._clock.callLater(0, self._pump)
        else:
            self._pausedBytes = 0  # everything sent is with the socket: the count ends

    def _notOpen(self) -> VortexLinkClosedError:
        return VortexLinkClosedError(
            f"vortex link to {self.describePeer()} is not open: "
            f"{self.closeReason or 'handshake in progress'}"
        )

    def _chunkReceived(self, frame: bytes) -> None:
        try:
            data = self._reassembler.receive(frame)
        except ChunkFrameError as e:
            self._fail(hs.CLOSE_PROTOCOL_ERROR, f"malformed chunk frame: {e}")
            return
        if data is not None:
            self.receivedMessages += 1
            self.receivedBytes += len(data)
            self._deliver(data)

    def _dropPending(self) -> None:
        """The link is over: forget queued frames and partly received messages."""
        if self._pumpCall is not None and self._pumpCall.active():
            self._pumpCall.cancel()
        self._pumpCall = None
        self._sendQueue.clear()
        self._reassembler.discard()

    def close(self, reason: str, code: int = hs.CLOSE_NORMAL) -> None:
        """Close the link on purpose (no warning logged)."""
        if self._state is _CLOSED:
            return
        self._cancelTimer()
        self._dropPending()
        self._state = _CLOSED
        self.closeReason = f"closed by this side: {reason}"
        self._outputs.closeLink(code, reason, False)

    # ---- IPushProducer: the transport tells us when its buffer is full ------------------

    def pauseProducing(self) -> None:
        """The socket is not draining: count what is sent from now on."""
        self._paused = True  # Twisted repeats the call on every write while over its buffer

    def resumeProducing(self) -> None:
        """The socket buffer drained: write queued frames; once none waits, the count ends."""
        self._paused = False
        if self._sendQueue and self._pumpCall is None:
            self._pump()
        if not self._paused and not self._sendQueue:
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
        self._peerReadsChunks = hs.readsChunks(msg)
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
            hs.CHUNKS_KEY: hs.CHUNK_FORMAT,
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
        self._peerReadsChunks = hs.readsChunks(msg)
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
        if self._peerReadsChunks:
            self._wholeMax = self._chunkPayloadBytes
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
        self._dropPending()
        self._state = _CLOSED
        self.closeReason = reason
        self._outputs.closeLink(code, reason, abort)

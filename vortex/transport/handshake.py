"""Handshake messages, HMAC proofs and close codes of vortex transport protocol 1.

Documented for third-party clients in ``docs/vortex/transport.rst``; keep the two in step.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

PROTOCOL_VERSION = 1
NONCE_BYTES = 32

ROLE_SERVICE = "service"
ROLE_DEVICE = "device"

#: The hello and welcome key announcing the chunk frame format this side reads
#: (``vortex.transport.chunking``), and that format.
CHUNKS_KEY = "chunks"
CHUNK_FORMAT = 1

# Websocket close codes used by the transport (4000-4999 are for applications, RFC 6455 7.4.2).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
#: A chunk frame broke its format (``vortex.transport.chunking``).
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_MESSAGE_TOO_BIG = 1009
CLOSE_BAD_HANDSHAKE = 4001
CLOSE_AUTH_FAILED = 4002
CLOSE_ROLE_REFUSED = 4003
CLOSE_HANDSHAKE_TIMEOUT = 4004
CLOSE_HEARTBEAT_TIMEOUT = 4005
CLOSE_SLOW_CONSUMER = 4006
CLOSE_PROTOCOL_VERSION = 4007
#: The login session that let a device (browser) link in ended: logout, expiry or forced.
CLOSE_SESSION_ENDED = 4008
#: A device link broke one of its per-link quotas (subscriptions, actions or bytes a
#: second, ``vortex.transport.device_quota``); the device may relink at once.
CLOSE_DEVICE_LIMIT = 4009
#: A device link was refused because the site needs a login its upgrade did not carry.
CLOSE_LOGIN_REQUIRED = 4010

#: Range of heartbeat intervals (seconds) a side may announce in ``heartbeatSeconds``.
MIN_HEARTBEAT_SECONDS = 0.1
MAX_HEARTBEAT_SECONDS = 300.0

_IDENT_RE = re.compile(r"[A-Za-z0-9._:@-]{1,128}")
_HEX64_RE = re.compile(r"[0-9a-f]{64}")
_PROOF_CONTEXT = "vortex-transport/1"


class HandshakeError(Exception):
    """A handshake message is malformed or unexpected; carries the close code to use."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class PeerIdentity:
    """Who is at the other end of an authenticated link."""

    vortexName: str
    vortexUuid: str
    isDevice: bool


def checkIdentifier(what: str, value: str) -> str:
    """Return ``value`` if it is a valid vortex name/uuid, else raise ``ValueError``."""
    if not isinstance(value, str) or not _IDENT_RE.fullmatch(value):
        raise ValueError(
            f"{what} {value!r} is not valid: use 1-128 characters from A-Z a-z 0-9 . _ : @ -"
        )
    return value


def encode(message: dict) -> bytes:
    """Serialise one handshake message to the bytes of a binary websocket frame."""
    return json.dumps(message, separators=(",", ":")).encode()


def decode(data: bytes, expectedType: str) -> dict:
    """Parse a handshake frame and check its ``type``; raise ``HandshakeError`` if it is bad."""
    try:
        message = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise HandshakeError(CLOSE_BAD_HANDSHAKE, f"handshake frame is not JSON: {e}") from None
    if not isinstance(message, dict):
        raise HandshakeError(CLOSE_BAD_HANDSHAKE, "handshake frame is not a JSON object")
    if message.get("type") != expectedType:
        raise HandshakeError(
            CLOSE_BAD_HANDSHAKE,
            f"expected a {expectedType!r} handshake message, got type {message.get('type')!r}",
        )
    return message


def field(message: dict, key: str, kind: str) -> str:
    """Fetch a string field, validated as ``ident``, ``nonce``/``proof`` (hex) or ``role``."""
    value: Any = message.get(key)  # a wire value until checked below
    if kind == "ident":
        ok = isinstance(value, str) and _IDENT_RE.fullmatch(value) is not None
    elif kind == "hex":
        ok = isinstance(value, str) and _HEX64_RE.fullmatch(value) is not None
    else:
        ok = value in (ROLE_SERVICE, ROLE_DEVICE)
    if not ok:
        raise HandshakeError(
            CLOSE_BAD_HANDSHAKE,
            f"{message.get('type')!r} message has a missing or invalid {key!r}: {value!r}",
        )
    return value


def checkProtocol(message: dict) -> None:
    """Refuse a peer that speaks another protocol version."""
    if message.get("protocol") != PROTOCOL_VERSION:
        raise HandshakeError(
            CLOSE_PROTOCOL_VERSION,
            f"unsupported vortex protocol {message.get('protocol')!r}, "
            f"this side speaks {PROTOCOL_VERSION}",
        )


def isValidHeartbeat(value: object) -> bool:
    """True for a finite number of seconds within the announceable heartbeat range."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and MIN_HEARTBEAT_SECONDS <= value <= MAX_HEARTBEAT_SECONDS
    )


def peerHeartbeat(message: dict, ownSeconds: float) -> float:
    """The heartbeat interval the peer announced; ``ownSeconds`` when it announced none."""
    if "heartbeatSeconds" not in message:
        return ownSeconds
    value = message["heartbeatSeconds"]
    if not isValidHeartbeat(value):
        raise HandshakeError(
            CLOSE_BAD_HANDSHAKE,
            f"{message.get('type')!r} message has an invalid 'heartbeatSeconds': {value!r} "
            f"(must be a number of seconds from {MIN_HEARTBEAT_SECONDS:g} "
            f"to {MAX_HEARTBEAT_SECONDS:g})",
        )
    return float(value)


def readsChunks(message: dict) -> bool:
    """True when a hello or welcome says its sender reads chunk frames of our format.

    Any other value (or none: an older peer) means the peer gets every payload whole.
    """
    value = message.get(CHUNKS_KEY)
    return type(value) is int and value == CHUNK_FORMAT


@dataclass(frozen=True)
class Transcript:
    """Everything both proofs are computed over, so a proof cannot be replayed elsewhere."""

    clientName: str
    clientUuid: str
    serverName: str
    serverUuid: str
    clientNonce: str
    serverNonce: str

    def proof(self, secret: bytes, label: str) -> str:
        """HMAC-SHA256 (hex) of the transcript for ``label`` (``client`` or ``server``)."""
        text = "\n".join(
            (
                _PROOF_CONTEXT,
                label,
                self.clientName,
                self.clientUuid,
                self.serverName,
                self.serverUuid,
                self.clientNonce,
                self.serverNonce,
            )
        )
        return hmac.new(secret, text.encode("ascii"), hashlib.sha256).hexdigest()


def proofMatches(expected: str, received: str) -> bool:
    """Compare two hex proofs in constant time."""
    return hmac.compare_digest(expected.encode("ascii"), received.encode("ascii"))


class HandshakeStep(Enum):
    """Where a connection is in the handshake."""

    AWAIT_HELLO = "await hello"  # server
    AWAIT_AUTH = "await auth"  # server
    AWAIT_CHALLENGE = "await challenge"  # client (service role)
    AWAIT_WELCOME = "await welcome"  # client

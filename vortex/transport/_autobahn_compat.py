"""Every use the vortex adapter makes of autobahn's private API, in one place.

Why: autobahn formats a debug log line for every socket read and write before its level
check can drop it (about 7% of a busy link's CPU), only its private close state says why
it refused a peer, and its permessage-deflate always compresses at zlib's default level
(``docs/dev/transport.rst``). ``test_autobahn_compat.py`` fails when an autobahn release
changes anything used here.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import autobahn.websocket.protocol as _autobahnProtocol
from autobahn.websocket.compress import PerMessageDeflate
from autobahn.websocket.protocol import WebSocketProtocol
from twisted.internet.interfaces import IConsumer, IPushProducer, ITCPTransport

if TYPE_CHECKING:
    from autobahn.twisted.websocket import WebSocketAdapterProtocol
    from autobahn.wamp.types import TransportDetails

    class _AutobahnTwistedProtocol(WebSocketAdapterProtocol, WebSocketProtocol):
        """What the mixin is placed in front of: autobahn's Twisted server or client protocol."""

        # autobahn's two bases declare these differently; one type each settles it for mypy.
        peer: str
        _transport_details: TransportDetails

else:
    _AutobahnTwistedProtocol = object

#: autobahn's ``state`` of an open websocket, the only state in which messages are sent.
STATE_OPEN = WebSocketProtocol.STATE_OPEN


class LazyText(str):
    """``make(value)``, made only when the text is used (formatted or ``str()``).

    autobahn builds the arguments of its debug lines before the logger drops them: it
    pretty-prints its 29 protocol options on every new websocket (about 1 ms, the largest
    cost of opening a link) and colours method names with ``click``. Its module's
    ``pformat``, ``hltype`` and ``hlval`` make these instead, so the work is done only for a
    debug line that is written.
    """

    _make: Callable[[Any], str]
    _value: Any

    def __new__(cls, make: Callable[[Any], str], value: Any) -> LazyText:
        text = super().__new__(cls, "")
        text._make = make
        text._value = value
        return text

    def __str__(self) -> str:
        return self._make(self._value)

    def __format__(self, spec: str) -> str:
        return format(self._make(self._value), spec)


def _deferred(make: Callable[[Any], str]) -> Callable[[Any], LazyText]:
    def defer(value: Any) -> LazyText:
        return LazyText(make, value)

    return defer


for _name in ("pformat", "hltype", "hlval"):
    setattr(_autobahnProtocol, _name, _deferred(getattr(_autobahnProtocol, _name)))


#: Frames up to this many bytes are (un)masked by :class:`SmallFrameXorMasker`; longer ones
#: by autobahn's native masker, which is faster once its setup is paid.
SMALL_FRAME_MASK_BYTES = 4096


class SmallFrameXorMasker:
    """Websocket (un)masking of one small frame with Python's big integers.

    autobahn's native masker costs about 10 µs to set up (a cffi allocation and import per
    frame), several times the XOR of a few hundred bytes; every frame a vortex client sends
    and every frame a server receives is masked. The interface is autobahn's maskers':
    ``process`` may be called with consecutive pieces of the frame.
    """

    __slots__ = ("_mask", "_ptr")

    def __init__(self, mask: bytes) -> None:
        self._mask = bytes(mask)
        self._ptr = 0

    def pointer(self) -> int:
        """How many bytes of the frame have been processed."""
        return self._ptr

    def reset(self) -> None:
        """Start the frame again."""
        self._ptr = 0

    def process(self, data: bytes) -> bytes:
        """``data`` XOR the mask, continuing where the previous piece ended."""
        size = len(data)
        offset = self._ptr & 3
        self._ptr += size
        mask = self._mask[offset:] + self._mask[:offset]
        key = (mask * (size // 4 + 1))[:size]
        mixed = int.from_bytes(data, "little") ^ int.from_bytes(key, "little")
        return mixed.to_bytes(size, "little")


_nativeXorMasker = _autobahnProtocol.create_xor_masker


def createXorMasker(mask: bytes, length: int | None = None) -> Any:
    """autobahn's ``create_xor_masker``, small frames done by :class:`SmallFrameXorMasker`."""
    if length is not None and length <= SMALL_FRAME_MASK_BYTES:
        return SmallFrameXorMasker(mask)
    return _nativeXorMasker(mask, length)


_autobahnProtocol.create_xor_masker = createXorMasker


#: zlib level our side of a permessage-deflate link compresses at: about a third of the CPU
#: of autobahn's level 6 for a few percent more bytes (figures in docs/dev/transport.rst).
DEFLATE_LEVEL = 1


class FastDeflate(PerMessageDeflate):
    """autobahn's permessage-deflate, compressing at :data:`DEFLATE_LEVEL`.

    Only the compressor's level differs: window size, memory level and context takeover are
    the negotiated ones, exactly as autobahn's ``start_compress_message`` takes them.
    """

    def start_compress_message(self) -> None:
        """A new compressor for the first message, or for each without context takeover."""
        if self._is_server:
            bits, fresh = self.server_max_window_bits, self.server_no_context_takeover
        else:
            bits, fresh = self.client_max_window_bits, self.client_no_context_takeover
        if self._compressor is None or fresh:
            self._compressor = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -bits, self.mem_level)


class ISocketTransport(ITCPTransport, IConsumer, IPushProducer):
    """The transport Twisted gives a websocket protocol: a TCP (or TLS) connection that is
    also a consumer and a push producer (a typing aid: Twisted declares these separately)."""


class AutobahnShortcuts(_AutobahnTwistedProtocol):
    """Mixin listed before autobahn's protocol class: two overrides and the private reads.

    The compat test checks autobahn has none of the helper names, so none shadows autobahn.
    """

    transport: ISocketTransport

    # ---- overrides skipping autobahn's per-read and per-write debug line ---------------

    def dataReceived(self, data: bytes) -> None:
        """Bytes from Twisted, straight to autobahn's websocket parser."""
        self._dataReceived(data)

    def sendData(self, data: bytes, sync: bool = False, chopsize: int | None = None) -> None:
        """autobahn's ``sendData``; queued, chopped and not-open writes still go through it."""
        if sync or chopsize or self.send_queue or self.state != STATE_OPEN:
            super().sendData(data, sync, chopsize)
            return
        self.transport.write(data)
        self.trafficStats.outgoingOctetsWireLevel += len(data)

    # ---- private state ------------------------------------------------------------

    def routeMessagesTo(self, handler: Callable[[bytes, bool], None]) -> None:
        """Hand every complete message to ``handler``, skipping autobahn's dispatch layer."""
        # Replacing autobahn's method on the instance is the point (mypy forbids it).
        self._onMessage = handler  # type: ignore[method-assign, assignment]

    def sendMessageIfOpen(self, data: bytes, isBinary: bool) -> None:
        """Send a message; dropped silently once autobahn has started closing."""
        if self.state == STATE_OPEN:
            self.sendMessage(data, isBinary)

    def isWebSocketOpen(self) -> bool:
        """True until autobahn starts closing the websocket."""
        return self.state == STATE_OPEN

    def sendCloseCode(self, code: int, reasonUtf8: bytes) -> None:
        """Close frame with any code: the public ``sendClose`` refuses 1001, 1003 and 1009."""
        self.sendCloseFrame(code=code, reasonUtf8=reasonUtf8, isReply=False)

    def abortWebSocket(self) -> None:
        """Drop the socket at once, without a closing handshake."""
        self.dropConnection(abort=True)

    def isPerMessageCompressed(self) -> bool:
        """True when permessage-deflate was negotiated."""
        return self._perMessageCompress is not None

    def compressFast(self) -> None:
        """Make the negotiated permessage-deflate compress at :data:`DEFLATE_LEVEL`."""
        compression = self._perMessageCompress
        if type(compression) is PerMessageDeflate:
            compression.__class__ = FastDeflate

    def localFailure(self) -> tuple[int | None, str | None] | None:
        """(code, reason) when autobahn itself failed the websocket (peer broke the protocol)."""
        if not self.failedByMe:
            return None
        local = (self.localCloseReason or b"").decode("utf-8", "replace")
        return self.localCloseCode, local or self.wasNotCleanReason

"""What ``vortex/transport/_autobahn_compat.py`` relies on in autobahn, checked against the
installed release: these tests fail when an autobahn upgrade removes or changes it."""

from __future__ import annotations

import inspect
import logging
import zlib
from collections import deque

import autobahn.websocket.protocol as autobahnProtocol
import pytest
from autobahn.twisted.websocket import (
    WebSocketAdapterProtocol,
    WebSocketClientFactory,
    WebSocketClientProtocol,
    WebSocketServerFactory,
    WebSocketServerProtocol,
)
from autobahn.websocket.compress import PerMessageDeflate
from autobahn.websocket.protocol import TrafficStats, WebSocketProtocol

from vortex.transport import TransportLimits
from vortex.transport._autobahn_compat import (
    DEFLATE_LEVEL,
    STATE_OPEN,
    AutobahnShortcuts,
    FastDeflate,
)
from vortex.transport.protocol import (
    DEFLATE_MEM_LEVEL,
    DEFLATE_WINDOW_BITS,
    VortexClientFactory,
    VortexClientProtocol,
    VortexServerFactory,
    VortexServerProtocol,
    _VortexProtocolMixin,
)

_EMPTY = inspect.Parameter.empty

# (class, method, [(parameter, default)]): autobahn methods the adapter calls or overrides.
PRIVATE_METHODS = [
    (WebSocketProtocol, "_dataReceived", [("self", _EMPTY), ("data", _EMPTY)]),
    (
        WebSocketProtocol,
        "sendData",
        [("self", _EMPTY), ("data", _EMPTY), ("sync", False), ("chopsize", None)],
    ),
    (
        WebSocketProtocol,
        "sendCloseFrame",
        [("self", _EMPTY), ("code", None), ("reasonUtf8", None), ("isReply", False)],
    ),
    (WebSocketProtocol, "dropConnection", [("self", _EMPTY), ("abort", False)]),
    (WebSocketAdapterProtocol, "dataReceived", [("self", _EMPTY), ("data", _EMPTY)]),
    (
        WebSocketAdapterProtocol,
        "_onMessage",
        [("self", _EMPTY), ("payload", _EMPTY), ("isBinary", _EMPTY)],
    ),
]


@pytest.mark.parametrize(
    ("cls", "name", "parameters"), PRIVATE_METHODS, ids=[m[1] for m in PRIVATE_METHODS]
)
def test_private_methods_keep_their_signatures(cls, name, parameters):
    """Each autobahn method the adapter overrides or calls is a plain function as expected."""
    method = inspect.getattr_static(cls, name)
    assert inspect.isfunction(method), f"{cls.__name__}.{name} is now {type(method)}"
    found = [(p.name, p.default) for p in inspect.signature(method).parameters.values()]
    assert found == parameters


@pytest.mark.parametrize("protocolClass", [WebSocketServerProtocol, WebSocketClientProtocol])
def test_overridden_methods_resolve_to_autobahn_ones(protocolClass):
    """The two overrides replace the methods Twisted and autobahn's framing really call."""
    assert protocolClass.dataReceived is WebSocketAdapterProtocol.dataReceived
    assert protocolClass.sendData is WebSocketProtocol.sendData
    assert protocolClass._onMessage is WebSocketAdapterProtocol._onMessage


def test_state_constants_and_traffic_stats():
    """The open state is its own int, and traffic stats count wire-level bytes sent."""
    assert STATE_OPEN == WebSocketProtocol.STATE_OPEN
    others = (
        WebSocketProtocol.STATE_CLOSED,
        WebSocketProtocol.STATE_CONNECTING,
        WebSocketProtocol.STATE_CLOSING,
        WebSocketProtocol.STATE_PROXY_CONNECTING,
    )
    assert isinstance(STATE_OPEN, int) and STATE_OPEN not in others
    assert TrafficStats().outgoingOctetsWireLevel == 0


@pytest.mark.parametrize(
    "helperClass", [AutobahnShortcuts, _VortexProtocolMixin], ids=lambda c: c.__name__
)
def test_adapter_names_do_not_shadow_autobahn(helperClass):
    """Apart from the deliberate overrides and callbacks, no adapter name exists in autobahn."""
    deliberate = {"dataReceived", "sendData", "connectionMade", "onOpen", "onClose"}
    own = {name for name in vars(helperClass) if not name.startswith("__")} - deliberate
    for autobahnClass in (WebSocketServerProtocol, WebSocketClientProtocol):
        assert sorted(n for n in own if hasattr(autobahnClass, n)) == []


def test_factories_carry_owner_without_shadowing_autobahn():
    """The factory subclasses add only ``owner`` and build the vortex protocols."""
    assert not hasattr(WebSocketServerFactory, "owner")
    assert not hasattr(WebSocketClientFactory, "owner")
    owner = object()
    server = VortexServerFactory(owner)
    client = VortexClientFactory("ws://127.0.0.1:1/vortexws", owner)
    assert server.owner is owner and client.owner is owner
    assert server.protocol is VortexServerProtocol and client.protocol is VortexClientProtocol


# ---- behaviour on a real loopback websocket ---------------------------------------------


def _openLink(kit, spin, **options):
    """An authenticated loopback link (options given to both sides); the server echoes."""
    serverPeer, clientPeer = kit.peer(echo=True), kit.peer()
    _server, port = kit.server(serverPeer, **options)
    client = kit.client(clientPeer, port.getHost().port, **options)
    spin(lambda: client.connected and serverPeer.connected)
    return client, serverPeer, clientPeer


def test_private_state_of_an_open_link(kit, spin):
    """On an open link every private attribute the adapter reads exists with its expected kind."""
    client, serverPeer, _clientPeer = _openLink(kit, spin)
    for protocol in (client._protocol, serverPeer.connected[0]._protocol):
        assert protocol.state == STATE_OPEN and protocol.isWebSocketOpen()
        assert isinstance(protocol.send_queue, deque) and not protocol.send_queue
        assert isinstance(protocol.trafficStats, TrafficStats)
        assert protocol.failedByMe is False and protocol.localFailure() is None
        assert protocol.localCloseCode is None and protocol.localCloseReason is None
        assert protocol.wasNotCleanReason is None
        assert protocol._perMessageCompress is None and not protocol.isPerMessageCompressed()
        assert protocol._onMessage == protocol._core.messageReceived


def test_permessage_deflate_is_read_from_autobahn(kit, spin):
    """With deflate negotiated, autobahn's private compressor is set on both sides."""
    client, serverPeer, _clientPeer = _openLink(kit, spin, permessageDeflate=True)
    for protocol in (client._protocol, serverPeer.connected[0]._protocol):
        assert protocol._perMessageCompress is not None and protocol.isPerMessageCompressed()


def test_negotiated_deflate_compresses_at_level_one_in_a_small_window(kit, spin):
    """Both sides' negotiated compressor becomes ``FastDeflate``: autobahn's own class and
    attributes, compressing at DEFLATE_LEVEL with our window and memory level (the server
    asked the client for that window), so its bytes are exactly zlib's for those settings."""
    client, serverPeer, _clientPeer = _openLink(kit, spin, permessageDeflate=True)
    message = b"".join(b'{"id":%d,"name":"item-%06d"},' % (i, i) for i in range(2000))
    for protocol, isServer in (
        (client._protocol, False),
        (serverPeer.connected[0]._protocol, True),
    ):
        compression = protocol._perMessageCompress
        assert type(compression) is FastDeflate and compression._is_server is isServer
        assert (compression.client_max_window_bits, compression.mem_level) == (
            DEFLATE_WINDOW_BITS,
            DEFLATE_MEM_LEVEL,
        )
        own = compression.server_max_window_bits if isServer else compression.client_max_window_bits
        assert own == DEFLATE_WINDOW_BITS
        compression._compressor = None
        compression.start_compress_message()
        sent = compression.compress_message_data(message) + compression.end_compress_message()
        zlibCompressor = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -own, DEFLATE_MEM_LEVEL)
        expected = zlibCompressor.compress(message) + zlibCompressor.flush(zlib.Z_SYNC_FLUSH)
        assert sent == expected[:-4]
        assert len(sent) < len(message) / 5


def test_fast_deflate_reads_every_attribute_it_needs_from_autobahn():
    """``FastDeflate.start_compress_message`` reads the attributes autobahn's version sets."""
    source = inspect.getsource(PerMessageDeflate.start_compress_message)
    for name in (
        "_is_server",
        "_compressor",
        "server_no_context_takeover",
        "client_no_context_takeover",
        "server_max_window_bits",
        "client_max_window_bits",
        "mem_level",
    ):
        assert f"self.{name}" in source, name


def test_overridden_read_and_write_paths_deliver_frames(kit, spin, monkeypatch):
    """Messages go both ways through the two overrides: writes skip autobahn's ``sendData``
    and land on the socket exactly as counted, reads reach autobahn's parser and the core."""
    client, serverPeer, clientPeer = _openLink(kit, spin)
    protocol = client._protocol
    slowPath = []
    original = WebSocketProtocol.sendData

    def countingSendData(self, data, sync=False, chopsize=None):
        slowPath.append(len(data))
        original(self, data, sync, chopsize)

    monkeypatch.setattr(autobahnProtocol.WebSocketProtocol, "sendData", countingSendData)
    written = []
    write = protocol.transport.write

    def recordingWrite(data: bytes) -> None:
        written.append(data)
        write(data)

    monkeypatch.setattr(protocol.transport, "write", recordingWrite)
    sentBefore = protocol.trafficStats.outgoingOctetsWireLevel
    receivedBefore = protocol.trafficStats.incomingOctetsWireLevel
    messages = [b"frame %d " % n * (n + 1) for n in range(5)]
    for message in messages:
        client.send(message)
    spin(lambda: len(clientPeer.messages) == len(messages))
    assert clientPeer.messages == messages and serverPeer.messages == messages
    assert slowPath == [] and len(written) == len(messages)
    assert protocol.trafficStats.outgoingOctetsWireLevel - sentBefore == sum(map(len, written))
    assert protocol.trafficStats.incomingOctetsWireLevel - receivedBefore > sum(map(len, messages))


def test_close_code_and_reason_sent_with_any_code(kit, spin):
    """``sendCloseCode`` sends codes autobahn's ``sendClose`` refuses, with the reason cut at a
    character boundary; the peer reads both from autobahn's close callback."""
    _client, serverPeer, clientPeer = _openLink(kit, spin)
    serverPeer.connected[0].close("é" * 100, 1001)
    spin(lambda: clientPeer.disconnected)
    assert clientPeer.disconnected[0][1] == (
        "closed by the peer or the network (code 1001: " + "é" * 61 + ")"
    )


def test_autobahn_own_failure_is_read_with_code_and_reason(kit, spin, caplog):
    """When autobahn itself fails a peer (oversized frame), its private close state gives the
    code and reason the core reports."""
    serverPeer, clientPeer = kit.peer(), kit.peer()
    _server, port = kit.server(serverPeer, limits=TransportLimits(maxMessageBytes=1000))
    client = kit.client(
        clientPeer, port.getHost().port, limits=TransportLimits(maxMessageBytes=10_000)
    )
    spin(lambda: client.connected and serverPeer.connected)
    with caplog.at_level(logging.WARNING):
        client.send(b"x" * 2000)
        spin(lambda: serverPeer.disconnected and clientPeer.disconnected)
    serverReason = serverPeer.disconnected[0][1]
    assert serverReason.startswith("websocket protocol error (code 1009): ")
    assert "2000" in serverReason and "1000" in serverReason  # autobahn's own wording
    assert "(code 1009: " in clientPeer.disconnected[0][1]


def test_abort_drops_the_socket_without_a_close_frame(kit, spin):
    """``abortWebSocket`` drops the connection at once: the peer sees no close code."""
    client, serverPeer, clientPeer = _openLink(kit, spin)
    serverPeer.connected[0]._protocol.abortWebSocket()
    spin(lambda: clientPeer.disconnected)
    assert "(code 1006: " in clientPeer.disconnected[0][1]
    assert not client.connected


def test_debug_line_arguments_are_made_only_when_written():
    """autobahn's module-level pformat, hltype and hlval (debug line arguments built on every
    new websocket) give lazy text: nothing is formatted until used, then the same text."""
    from pprint import pformat

    import autobahn.util

    from vortex.transport._autobahn_compat import LazyText

    options = [("openHandshakeTimeout", 10.0, "VortexServerFactory")]
    lazy = autobahnProtocol.pformat(options)
    assert isinstance(lazy, LazyText)
    assert f"\n{lazy}" == "\n" + pformat(options) and str(lazy) == pformat(options)
    assert str(autobahnProtocol.hltype(pformat)) == autobahn.util.hltype(pformat)
    assert f"{autobahnProtocol.hlval(3)}" == autobahn.util.hlval(3)

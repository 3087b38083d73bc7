"""Real loopback-socket tests of VortexServerEndpoint and VortexClient."""

from __future__ import annotations

import logging

from autobahn.websocket.compress import PerMessageDeflateOffer
from twisted.internet import task

from vortex.transport import TransportLimits
from vortex.transport.protocol import clientDeflateOptions, serverDeflateOptions


def test_link_up_both_ways_with_identities(kit, spin):
    """Client and server both see an authenticated link naming the other side."""
    serverPeer, clientPeer = kit.peer(echo=True), kit.peer()
    server, port = kit.server(serverPeer)
    client = kit.client(clientPeer, port.getHost().port)
    spin(lambda: client.connected and serverPeer.connected)
    serverSide, clientSide = serverPeer.connected[0], clientPeer.connected[0]
    assert (serverSide.remoteVortexName, serverSide.remoteVortexUuid, serverSide.isDevice) == (
        "peek-agent-service",
        "peek-agent-service-uuid",
        False,
    )
    assert (clientSide.remoteVortexName, clientSide.remoteVortexUuid) == (
        "peek-logic-service",
        "logic-uuid",
    )
    assert serverSide.peerAddress.startswith("127.0.0.1:")
    client.send(b"ping")
    spin(lambda: clientPeer.messages)
    assert clientPeer.messages == [b"ping"] and server.connections == [serverSide]


def test_wrong_secret_is_refused_over_a_socket(kit, spin, caplog):
    """A client with the wrong secret never gets a link; the server logs why and from where."""
    serverPeer, clientPeer = kit.peer(), kit.peer()
    server, port = kit.server(serverPeer)
    with caplog.at_level(logging.WARNING):
        client = kit.client(clientPeer, port.getHost().port, secret=b"w" * 32)
        spin(lambda: client.failedAttempts >= 1)
    assert serverPeer.connected == [] and clientPeer.connected == [] and not client.connected
    assert server.connections == []
    assert "wrong client proof" in caplog.text and "127.0.0.1:" in caplog.text
    assert "code 4002" in caplog.text  # the client learnt the close code


def test_device_link_is_marked_as_device(kit, spin):
    """A secretless client reaches a device-enabled endpoint and is marked isDevice."""
    serverPeer, clientPeer = kit.peer(), kit.peer()
    _server, port = kit.server(serverPeer, allowDevices=True)
    client = kit.client(clientPeer, port.getHost().port, name="peek-field-app", secret=None)
    spin(lambda: serverPeer.connected and client.connected)
    assert serverPeer.connected[0].isDevice is True
    assert serverPeer.connected[0].remoteVortexName == "peek-field-app"


def test_handshake_timeout_closes_with_code(kit, spin):
    """A websocket peer that never says hello is closed with 4004 after the timeout."""
    serverPeer = kit.peer()
    _server, port = kit.server(serverPeer, limits=TransportLimits(handshakeTimeoutSeconds=0.2))
    raw = kit.rawClient(port.getHost().port, None, True)
    spin(lambda: raw.closed)
    assert raw.closed[0][0] == 4004 and serverPeer.connected == []


def test_misbehaving_peers_are_dropped_and_others_keep_working(kit, spin, caplog):
    """A text-frame sender and an oversized-message sender are closed; a good peer carries on."""
    serverPeer = kit.peer(echo=True)
    _server, port = kit.server(serverPeer, limits=TransportLimits(maxMessageBytes=1000))
    portNumber = port.getHost().port
    goodPeer, badPeer = kit.peer(), kit.peer()
    good = kit.client(goodPeer, portNumber)
    bad = kit.client(
        badPeer,
        portNumber,
        name="peek-bad-service",
        limits=TransportLimits(maxMessageBytes=10_000),
    )
    spin(lambda: good.connected and bad.connected and len(serverPeer.connected) == 2)
    with caplog.at_level(logging.WARNING):
        raw = kit.rawClient(portNumber, b'{"type":"hello"}', False)
        bad.send(b"x" * 2000)
        spin(lambda: raw.closed and badPeer.disconnected)
    assert raw.closed[0][0] == 1003
    assert "1009" in badPeer.disconnected[0][1]
    assert b"x" * 2000 not in serverPeer.messages
    assert "peek-bad-service" in caplog.text and "text frame" in caplog.text
    good.send(b"still here")
    spin(lambda: goodPeer.messages)
    assert goodPeer.messages == [b"still here"] and good.connected


def test_slow_consumer_is_dropped_and_others_keep_working(kit, spin, caplog):
    """A peer that stops reading is disconnected once its queue bound is passed."""
    serverPeer = kit.peer()
    server, port = kit.server(serverPeer, limits=TransportLimits(maxQueuedBytes=256 * 1024))
    portNumber = port.getHost().port
    slowPeer, fastPeer = kit.peer(), kit.peer()
    slow = kit.client(slowPeer, portNumber, name="peek-slow-service")
    fast = kit.client(fastPeer, portNumber)
    spin(lambda: slow.connected and fast.connected and len(serverPeer.connected) == 2)
    slow.connection.pauseReading()
    chunk = b"y" * 65536

    def blast() -> None:
        for conn in server.connections:
            conn.send(chunk)

    with caplog.at_level(logging.WARNING):
        loop = task.LoopingCall(blast)
        loop.start(0.002)
        try:
            spin(lambda: serverPeer.disconnected, timeout=15)
        finally:
            loop.stop()
    dropped, reason = serverPeer.disconnected[0]
    assert dropped.remoteVortexName == "peek-slow-service"
    assert reason.startswith("slow consumer")
    assert [c.remoteVortexName for c in server.connections] == ["peek-agent-service"]
    assert fast.connected and fastPeer.messages


def test_client_reconnects_after_server_restart(kit, spin):
    """When its server goes away and comes back on the same port, the client relinks."""
    firstPeer, clientPeer = kit.peer(), kit.peer()
    first, port = kit.server(firstPeer)
    portNumber = port.getHost().port
    client = kit.client(clientPeer, portNumber)
    spin(lambda: client.connected)
    stopped = port.stopListening()
    first.closeAll("restarting")
    spin(lambda: stopped.called and clientPeer.disconnected)
    spin(lambda: client.failedAttempts >= 2)  # connection refused while the server is down
    secondPeer = kit.peer()
    kit.server(secondPeer, port=portNumber)
    spin(lambda: client.connected and secondPeer.connected)
    assert len(clientPeer.connected) == 2
    assert secondPeer.connected[0].remoteVortexName == "peek-agent-service"


def test_client_stop_closes_the_link(kit, spin):
    """stop() closes the link, fires its Deferred, and the client stays disconnected."""
    serverPeer, clientPeer = kit.peer(), kit.peer()
    server, port = kit.server(serverPeer)
    client = kit.client(clientPeer, port.getHost().port)
    spin(lambda: client.connected and serverPeer.connected)
    done = client.stop()
    spin(lambda: done.called and serverPeer.disconnected)
    assert not client.connected and server.connections == []
    assert "code 1001: client stopping" in serverPeer.disconnected[0][1]


def test_permessage_deflate_link(kit, spin):
    """With permessage-deflate on both sides the link negotiates it and messages round-trip."""
    serverPeer, clientPeer = kit.peer(echo=True), kit.peer()
    _server, port = kit.server(serverPeer, permessageDeflate=True)
    client = kit.client(clientPeer, port.getHost().port, permessageDeflate=True)
    spin(lambda: client.connected)
    assert client.connection.isCompressed
    message = b"compressible " * 10_000
    client.send(message)
    spin(lambda: clientPeer.messages)
    assert clientPeer.messages == [message]


def test_deflate_is_off_by_default(kit, spin):
    """Without the flag no compression is negotiated."""
    serverPeer, clientPeer = kit.peer(), kit.peer()
    _server, port = kit.server(serverPeer, permessageDeflate=True)
    client = kit.client(clientPeer, port.getHost().port)
    spin(lambda: client.connected)
    assert not client.connection.isCompressed


def test_device_links_are_compressed_by_default(kit, spin):
    """A device endpoint accepts compression unless told not to, and a device client offers
    it as Chromium does; the server asks for the small window in its answer."""
    serverPeer, clientPeer = kit.peer(), kit.peer()
    server, port = kit.server(serverPeer, secret=None, allowDevices=True)
    client = kit.client(clientPeer, port.getHost().port, name="peek-field-app", secret=None)
    spin(lambda: client.connected and serverPeer.connected)
    assert server.permessageDeflate and client.permessageDeflate
    assert client.connection.isCompressed and serverPeer.connected[0].isCompressed
    assert client._protocol.websocket_extensions_in_use[0].client_max_window_bits == 12


def test_browser_offer_string_is_accepted_by_a_device_endpoint():
    """The Python device client's offer is Chromium's, and a device endpoint accepts exactly
    that offer, asking for a 4 KiB client window."""
    offer = clientDeflateOptions(True)["perMessageCompressionOffers"][0]
    assert offer.get_extension_string() == "permessage-deflate; client_max_window_bits"
    chromiumOffer = PerMessageDeflateOffer.parse({"client_max_window_bits": [True]})
    accept = serverDeflateOptions(True)["perMessageCompressionAccept"]([chromiumOffer])
    assert accept.get_extension_string() == "permessage-deflate; client_max_window_bits=12"
    assert serverDeflateOptions(False)["perMessageCompressionAccept"]([chromiumOffer]) is None


def test_compression_setting_off_turns_it_off_for_devices_and_services_never_use_it(kit, spin):
    """``permessageDeflate=False`` on a device endpoint refuses the device's offer; a
    service-only endpoint refuses it by default, even from a client told to offer."""
    devicePeer, deviceClientPeer = kit.peer(), kit.peer()
    _off, offPort = kit.server(devicePeer, secret=None, allowDevices=True, permessageDeflate=False)
    device = kit.client(deviceClientPeer, offPort.getHost().port, name="app", secret=None)
    servicePeer, serviceClientPeer = kit.peer(), kit.peer()
    services, servicePort = kit.server(servicePeer)
    service = kit.client(serviceClientPeer, servicePort.getHost().port, permessageDeflate=True)
    spin(lambda: device.connected and service.connected)
    assert not device.connection.isCompressed and not services.permessageDeflate
    assert not service.connection.isCompressed


def test_failing_message_callback_keeps_the_link(kit, spin, caplog):
    """An exception in onMessage is logged with its traceback and the link stays up."""
    serverPeer, clientPeer = kit.peer(echo=True), kit.peer()
    calls = []

    def onMessage(conn, data: bytes) -> None:
        calls.append(data)
        if data == b"boom":
            raise RuntimeError("handler bug")
        conn.send(data)

    serverPeer.onMessage = onMessage
    _server, port = kit.server(serverPeer)
    client = kit.client(clientPeer, port.getHost().port)
    spin(lambda: client.connected)
    with caplog.at_level(logging.ERROR):
        client.send(b"boom")
        client.send(b"after")
        spin(lambda: clientPeer.messages)
    assert calls == [b"boom", b"after"] and clientPeer.messages == [b"after"]
    assert "handler bug" in caplog.text and client.connected


def test_server_indexes_open_links_by_peer_address_and_host(kit, spin):
    """linkAt finds an open link by its peer address and linkCountFrom counts a host's
    links; both forget a link once it is down."""
    serverPeer = kit.peer()
    server, port = kit.server(serverPeer, allowDevices=True)
    first = kit.client(kit.peer(), port.getHost().port, name="peek-field-app", secret=None)
    second = kit.client(kit.peer(), port.getHost().port, name="peek-field-app", secret=None)
    spin(lambda: len(server.connections) == 2)
    addresses = sorted(link.peerAddress for link in server.connections)
    assert [server.linkAt(address).peerAddress for address in addresses] == addresses
    assert (server.linkCountFrom("127.0.0.1"), server.linkCountFrom("127.0.0.2")) == (2, 0)
    first.stop()
    spin(lambda: len(server.connections) == 1)
    [remaining] = server.connections
    assert server.linkCountFrom("127.0.0.1") == 1
    assert [a for a in addresses if server.linkAt(a) is not None] == [remaining.peerAddress]
    second.stop()
    spin(lambda: not server.connections)
    assert server.linkCountFrom("127.0.0.1") == 0

"""The autobahn adapter's write path: messages reach the peer without debug-log formatting."""

from __future__ import annotations

import autobahn.twisted.websocket as autobahnTwisted
import autobahn.websocket.protocol as autobahnProtocol


def test_open_link_writes_without_formatting_debug_arguments(kit, spin, monkeypatch):
    """Messages on an open link go both ways without autobahn formatting debug-log lines."""
    formatted = []
    for module in (autobahnProtocol, autobahnTwisted):
        monkeypatch.setattr(module, "hltype", lambda obj: formatted.append(obj) or "")
    serverPeer, clientPeer = kit.peer(echo=True), kit.peer()
    _server, port = kit.server(serverPeer)
    client = kit.client(clientPeer, port.getHost().port)
    spin(lambda: client.connected and serverPeer.connected)
    formatted.clear()
    before = client._protocol.trafficStats.outgoingOctetsWireLevel
    for n in range(3):
        client.send(b"message %d" % n)
    spin(lambda: len(clientPeer.messages) == 3)
    assert clientPeer.messages == [b"message 0", b"message 1", b"message 2"]
    assert client._protocol.trafficStats.outgoingOctetsWireLevel > before
    assert formatted == []

"""TLS and mutual-TLS vortex links on loopback, with certificates generated per session."""

from __future__ import annotations

import pytest

from vortex.transport import ClientTls, ServerTls, TlsConfigError


def test_tls_link_works(kit, spin, pki):
    """A wss:// client that trusts the server's CA links up and exchanges messages."""
    serverPeer, clientPeer = kit.peer(echo=True), kit.peer()
    _server, port = kit.server(serverPeer, tls=ServerTls(pki.serverCert, pki.serverKey))
    client = kit.client(
        clientPeer, port.getHost().port, scheme="wss", tls=ClientTls(caPath=pki.caCert)
    )
    spin(lambda: client.connected)
    client.send(b"over tls")
    spin(lambda: clientPeer.messages)
    assert clientPeer.messages == [b"over tls"]
    assert serverPeer.connected[0].remoteVortexName == "peek-agent-service"


def test_client_refuses_a_server_it_does_not_trust(kit, spin, pki):
    """A server certificate from an unknown CA is refused by the client."""
    serverPeer, clientPeer = kit.peer(), kit.peer()
    _server, port = kit.server(serverPeer, tls=ServerTls(pki.serverCert, pki.serverKey))
    client = kit.client(
        clientPeer, port.getHost().port, scheme="wss", tls=ClientTls(caPath=pki.otherCaCert)
    )
    spin(lambda: client.failedAttempts >= 1)
    assert not client.connected and serverPeer.connected == []


def test_mutual_tls_link_works(kit, spin, pki):
    """With a client CA on the server, a client presenting a CA-signed certificate links up."""
    serverPeer, clientPeer = kit.peer(), kit.peer()
    serverTls = ServerTls(pki.serverCert, pki.serverKey, clientCaPath=pki.caCert)
    _server, port = kit.server(serverPeer, tls=serverTls)
    clientTls = ClientTls(caPath=pki.caCert, certPath=pki.clientCert, keyPath=pki.clientKey)
    client = kit.client(clientPeer, port.getHost().port, scheme="wss", tls=clientTls)
    spin(lambda: client.connected and serverPeer.connected)
    assert serverPeer.connected[0].remoteVortexName == "peek-agent-service"


def test_mutual_tls_refuses_client_without_certificate(kit, spin, pki):
    """Under mutual TLS a client without a certificate never gets a link."""
    serverPeer, clientPeer = kit.peer(), kit.peer()
    serverTls = ServerTls(pki.serverCert, pki.serverKey, clientCaPath=pki.caCert)
    _server, port = kit.server(serverPeer, tls=serverTls)
    client = kit.client(
        clientPeer, port.getHost().port, scheme="wss", tls=ClientTls(caPath=pki.caCert)
    )
    spin(lambda: client.failedAttempts >= 1)
    assert not client.connected and serverPeer.connected == [] and clientPeer.connected == []


def test_missing_certificate_file_is_named(tmp_path, pki):
    """A missing PEM file raises TlsConfigError naming the file."""
    missing = tmp_path / "nope.pem"
    with pytest.raises(TlsConfigError, match=r"nope\.pem"):
        ServerTls(missing, pki.serverKey).contextFactory()
    with pytest.raises(TlsConfigError, match=r"nope\.pem"):
        ClientTls(caPath=missing).connectionCreator("127.0.0.1")


def test_client_certificate_needs_its_key(pki):
    """A client certificate without a key (or the reverse) is a configuration error."""
    with pytest.raises(TlsConfigError, match="both certPath and keyPath"):
        ClientTls(caPath=pki.caCert, certPath=pki.clientCert)


def test_key_that_does_not_match_certificate_is_refused(pki):
    """A server key that does not belong to the certificate fails at configuration time."""
    with pytest.raises(TlsConfigError, match="cannot be used together"):
        ServerTls(pki.serverCert, pki.clientKey).contextFactory()

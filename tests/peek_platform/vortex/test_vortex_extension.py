"""Tests for peek_platform/vortex/extension.py over real loopback sockets (TLS too)."""

from __future__ import annotations

import logging

import pytest

from peek_platform.config import ConfigError
from peek_platform.services import AGENT, LOGIC
from peek_platform.vortex.extension import (
    DataExchangeClientExtension,
    DataExchangeServerExtension,
)
from peek_platform.vortex.settings import DataExchangeConfigError

SECRET = "a-test-secret-of-more-than-16-chars"


@pytest.fixture
def running(peekSpin):
    """Start extensions; stop every started one after the test."""
    started = []

    def start(extension, ctx):
        ctx.config = extension.configure(ctx)
        extension.startBeforePlugins(ctx)
        extension.startAfterPlugins(ctx)
        started.append((extension, ctx))
        return extension

    yield start
    for extension, ctx in reversed(started):
        d = extension.stopAfterPlugins(ctx)
        peekSpin(lambda d=d: d.called)


def logicAndAgent(makeCtx, running, serverTls=None, clientTls=None):
    """A logic server extension on a free port and an agent client extension linked to it."""
    logicCtx = makeCtx(LOGIC, port=0, secret=SECRET, **(serverTls or {}))
    server = running(DataExchangeServerExtension(), logicCtx)
    port = server.listeningPort.getHost().port
    agentCtx = makeCtx(
        AGENT, port=port, secret=SECRET, reconnectMaxSeconds=0.1, **(clientTls or {})
    )
    client = running(DataExchangeClientExtension(), agentCtx)
    return server, client


def test_client_links_to_server_and_logs_both_ends(makeCtx, running, peekSpin, caplog):
    """The agent links to logic; both log the link with peer name, uuid and address."""
    with caplog.at_level(logging.INFO, logger="peek_platform.vortex.extension"):
        server, client = logicAndAgent(makeCtx, running)
        peekSpin(lambda: server.factory.isVortexNameConnected("peek-agent-service"))
        peekSpin(lambda: client.factory.isVortexNameConnected("peek-logic-service"))
    text = caplog.text
    assert (
        f"link up with peek-agent-service (uuid {client.factory.vortexUuid}) at 127.0.0.1:" in text
    )
    assert f"link up with peek-logic-service (uuid {server.factory.vortexUuid})" in text


@pytest.mark.parametrize(
    ("logicCompress", "agentCompress", "compressed"),
    [(False, False, False), (True, False, False), (False, True, False), (True, True, True)],
)
def test_data_exchange_is_compressed_only_when_both_ends_say_so(
    makeCtx, running, peekSpin, logicCompress, agentCompress, compressed
):
    """``dataExchange.compress`` (off by default) compresses a service link only when logic
    accepts and the connecting service offers."""
    server = running(
        DataExchangeServerExtension(),
        makeCtx(LOGIC, port=0, secret=SECRET, compress=logicCompress),
    )
    agentCtx = makeCtx(
        AGENT,
        port=server.listeningPort.getHost().port,
        secret=SECRET,
        reconnectMaxSeconds=0.1,
        compress=agentCompress,
    )
    client = running(DataExchangeClientExtension(), agentCtx)
    peekSpin(lambda: client.client.connected)
    assert client.client.connection.isCompressed is compressed


def test_client_factory_uses_the_default_payload_io(makeCtx, running):
    """Each process's factory dispatches to PayloadIO.default() and is the default factory."""
    from vortex.PayloadIO import PayloadIO
    from vortex.VortexFactory import VortexFactory

    _, client = logicAndAgent(makeCtx, running)
    assert client.factory.payloadIO is PayloadIO.default()
    assert VortexFactory.default() is client.factory


def test_logic_generates_a_secret_when_empty(makeCtx, running):
    """A logic config without a secret gets one generated and written before listening."""
    ctx = makeCtx(LOGIC, port=0)
    running(DataExchangeServerExtension(), ctx)
    assert len(ctx.config["dataExchange.secret"]) >= 16
    assert ctx.config.path.read_text().count(ctx.config["dataExchange.secret"]) == 1


def test_client_without_secret_is_a_config_error_naming_the_file(makeCtx):
    """A client service with no secret is refused in configure with a ConfigError (exit 2)."""
    ctx = makeCtx(AGENT)
    with pytest.raises(ConfigError) as info:
        DataExchangeClientExtension().configure(ctx)
    assert isinstance(info.value, DataExchangeConfigError)
    assert str(info.value).startswith(f"{ctx.config.path}: dataExchange.secret is empty")


def test_bad_tls_file_is_a_config_error(makeCtx, tmp_path):
    """A TLS file that cannot be read stops the service with its path named."""
    ctx = makeCtx(
        LOGIC,
        secret=SECRET,
        useTls=True,
        tlsServerCertPath=str(tmp_path / "missing.pem"),
        tlsServerKeyPath=str(tmp_path / "missing.key"),
    )
    with pytest.raises(DataExchangeConfigError, match=r"missing\.pem"):
        DataExchangeServerExtension().configure(ctx)


def test_mutual_tls_link_comes_up(makeCtx, running, peekSpin, pki):
    """With TLS and client certificates configured on both ends the link authenticates."""
    server, client = logicAndAgent(
        makeCtx,
        running,
        serverTls={
            "useTls": True,
            "tlsServerCertPath": str(pki.serverCert),
            "tlsServerKeyPath": str(pki.serverKey),
            "tlsClientCaPath": str(pki.caCert),
        },
        clientTls={
            "useTls": True,
            "tlsCaPath": str(pki.caCert),
            "tlsClientCertPath": str(pki.clientCert),
            "tlsClientKeyPath": str(pki.clientKey),
        },
    )
    peekSpin(lambda: server.factory.isVortexNameConnected("peek-agent-service"))
    assert client.client.url.startswith("wss://")


def test_mutual_tls_refuses_a_client_without_certificate(makeCtx, running, peekSpin, pki):
    """A client with no certificate never links to a server that requires one."""
    server, client = logicAndAgent(
        makeCtx,
        running,
        serverTls={
            "useTls": True,
            "tlsServerCertPath": str(pki.serverCert),
            "tlsServerKeyPath": str(pki.serverKey),
            "tlsClientCaPath": str(pki.caCert),
        },
        clientTls={"useTls": True, "tlsCaPath": str(pki.caCert)},
    )
    peekSpin(lambda: client.client.failedAttempts >= 2)
    assert not server.factory.remoteVortexes()

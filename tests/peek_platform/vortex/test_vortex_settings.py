"""Tests for peek_platform/vortex/settings.py."""

from __future__ import annotations

import json

import pytest

from peek_platform.config import loadServiceConfig
from peek_platform.services import AGENT, LOGIC
from peek_platform.vortex.settings import (
    DataExchangeConfigError,
    clientTlsFromConfig,
    dataExchangeUrl,
    ensureSecret,
    limitsFromConfig,
    secretBytes,
    serverTlsFromConfig,
)

SECRET = "a-test-secret-of-more-than-16-chars"


def test_empty_secret_is_refused_naming_key_and_file(makeCtx):
    """A service without a secret gets an error naming dataExchange.secret and its file."""
    ctx = makeCtx(AGENT)
    with pytest.raises(DataExchangeConfigError) as info:
        secretBytes(ctx.config)
    assert "dataExchange.secret" in str(info.value)
    assert str(ctx.config.path) in str(info.value)


def test_short_secret_is_refused(makeCtx):
    """A secret shorter than 16 characters is refused."""
    ctx = makeCtx(AGENT, secret="short")
    with pytest.raises(DataExchangeConfigError, match="at least 16"):
        secretBytes(ctx.config)


def test_ensure_secret_generates_and_persists_once(makeCtx):
    """Logic's empty secret is generated, written to config.json, and kept on the next load."""
    ctx = makeCtx(LOGIC)
    config = ensureSecret(ctx.config, generate=lambda: "g" * 40)
    assert config["dataExchange.secret"] == "g" * 40
    written = json.loads(ctx.config.path.read_text())
    assert written["dataExchange"]["secret"] == "g" * 40
    again = ensureSecret(loadServiceConfig(LOGIC, ctx.home), generate=lambda: "other" * 10)
    assert again["dataExchange.secret"] == "g" * 40


def test_ensure_secret_refuses_a_commented_file_and_leaves_it(makeCtx):
    """A config with comments is not rewritten; the error tells the admin to set the key."""
    ctx = makeCtx(LOGIC)
    text = "// admin notes\n" + ctx.config.path.read_text()
    ctx.config.path.write_text(text)
    config = loadServiceConfig(LOGIC, ctx.home)
    with pytest.raises(DataExchangeConfigError, match=r"has comments.*Set dataExchange\.secret"):
        ensureSecret(config)
    assert ctx.config.path.read_text() == text


def test_limits_come_from_config(makeCtx):
    """maxMessageBytes, maxQueuedBytes and heartbeatSeconds feed TransportLimits."""
    ctx = makeCtx(AGENT, maxMessageBytes=4096, maxQueuedBytes=8192, heartbeatSeconds=1.5)
    limits = limitsFromConfig(ctx.config)
    assert (limits.maxMessageBytes, limits.maxQueuedBytes, limits.heartbeatSeconds) == (
        4096,
        8192,
        1.5,
    )


def test_server_tls_needs_cert_and_resolves_relative_paths(makeCtx):
    """useTls without a cert names the key; relative PEM paths are resolved in the home."""
    assert serverTlsFromConfig(makeCtx(LOGIC, secret=SECRET).config) is None
    with pytest.raises(DataExchangeConfigError, match="tlsServerCertPath"):
        serverTlsFromConfig(makeCtx(LOGIC, useTls=True).config)
    ctx = makeCtx(
        LOGIC,
        useTls=True,
        tlsServerCertPath="c.pem",
        tlsServerKeyPath="/k.pem",
        tlsClientCaPath="ca.pem",
    )
    tls = serverTlsFromConfig(ctx.config)
    assert (tls.certPath, str(tls.keyPath), tls.clientCaPath) == (
        ctx.home / "c.pem",
        "/k.pem",
        ctx.home / "ca.pem",
    )


def test_client_tls_needs_cert_and_key_together(makeCtx):
    """A client certificate without its key (or the reverse) is a configuration error."""
    with pytest.raises(DataExchangeConfigError, match="tlsClientKeyPath"):
        clientTlsFromConfig(makeCtx(AGENT, useTls=True, tlsClientCertPath="c.pem").config)
    tls = clientTlsFromConfig(makeCtx(AGENT, useTls=True, tlsCaPath="ca.pem").config)
    assert tls.caPath.name == "ca.pem" and tls.certPath is None


def test_data_exchange_url():
    """URLs use ws/wss, the /vortexws path, and bracket IPv6 literals."""
    assert dataExchangeUrl("127.0.0.1", 8011, False) == "ws://127.0.0.1:8011/vortexws"
    assert dataExchangeUrl("::1", 9, True) == "wss://[::1]:9/vortexws"

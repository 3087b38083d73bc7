"""Fixtures for the service vortex tests: temp-home configs, contexts, a spinner, a PKI."""

from __future__ import annotations

import datetime
import ipaddress
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from peek_platform.config import loadServiceConfig
from peek_platform.plugin.state import PluginState, PluginStatus
from peek_platform.services import ServiceSpec

SECRET = "a-test-secret-of-more-than-16-chars"


class FakeLoader:
    """Stands in for PluginLoader: ``statuses()`` returns whatever the test set."""

    def __init__(self, *names: str) -> None:
        self.items = [PluginStatus(name=n, version="1.0", state=PluginState.STARTED) for n in names]

    def statuses(self) -> list[PluginStatus]:
        return list(self.items)


@pytest.fixture
def makeCtx(tmp_path: Path) -> Callable[..., SimpleNamespace]:
    """Build a ServiceContext-like object whose config.json holds ``dataExchange`` values."""

    def make(spec: ServiceSpec, plugins=("peek_plugin_a",), **dataExchange) -> SimpleNamespace:
        from twisted.internet import reactor

        home = tmp_path / spec.homeDirName
        home.mkdir(exist_ok=True)
        (home / "config.json").write_text(json.dumps({"dataExchange": dataExchange}))
        config = loadServiceConfig(spec, home)
        return SimpleNamespace(
            spec=spec, home=home, config=config, reactor=reactor, loader=FakeLoader(*plugins)
        )

    return make


@pytest.fixture
def spin() -> Callable[..., None]:
    """Run the global reactor until ``predicate()`` is true."""
    from twisted.internet import reactor

    def spinUntil(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"reactor condition not reached within {timeout} s")
            reactor.iterate(0.005)

    return spinUntil


@dataclass(frozen=True)
class Pki:
    """PEM files of a throw-away CA with a server and a client certificate."""

    caCert: Path
    serverCert: Path
    serverKey: Path
    clientCert: Path
    clientKey: Path


def _write(path: Path, cert=None, key=None) -> Path:
    if cert is not None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    else:
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return path


def _cert(subject, key, issuer, issuerKey, *, ca, san=None, usage=None):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
    if san is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(issuerKey, hashes.SHA256())


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> Pki:
    """A CA, a server certificate for 127.0.0.1 and a client certificate."""
    d = tmp_path_factory.mktemp("dx-pki")
    caKey, serverKey, clientKey = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _cert("dx CA", caKey, "dx CA", caKey, ca=True)
    server = _cert(
        "127.0.0.1",
        serverKey,
        "dx CA",
        caKey,
        ca=False,
        san=[x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
    )
    client = _cert(
        "peek-agent-service",
        clientKey,
        "dx CA",
        caKey,
        ca=False,
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
    )
    return Pki(
        caCert=_write(d / "ca.pem", ca),
        serverCert=_write(d / "server.pem", server),
        serverKey=_write(d / "server.key", key=serverKey),
        clientCert=_write(d / "client.pem", client),
        clientKey=_write(d / "client.key", key=clientKey),
    )

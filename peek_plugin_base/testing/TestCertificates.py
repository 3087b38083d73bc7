"""A throw-away PKI for TLS tests: a CA, a server and a client certificate as PEM files.

``makeTestPki(directory)`` writes the files and returns a ``TestPki`` holding their paths,
ready for the data exchange ``tls*Path`` settings or ``vortex.transport`` TLS options.
Keys are EC P-256; certificates are valid from a day ago for two days.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: Common name of the CA that signs the server and client certificates.
CA_NAME = "peek test CA"
#: Common name of the unrelated CA (it signs nothing; a peer trusting it must reject).
OTHER_CA_NAME = "peek other test CA"


@dataclass(frozen=True)
class TestPki:
    """Paths of the PEM files ``makeTestPki`` wrote."""

    __test__ = False  # not a pytest test class, despite the name

    #: The CA certificate that signed ``serverCert`` and ``clientCert``.
    caCert: Path
    serverCert: Path
    serverKey: Path
    clientCert: Path
    clientKey: Path
    #: A self-signed CA certificate that signed neither, for "untrusted peer" tests.
    otherCaCert: Path


def _newKey() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _writeCert(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _writeKey(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def _subjectAltName(host: str) -> x509.GeneralName:
    """An IP address entry for an address, a DNS name entry otherwise."""
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _sign(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    issuerKey: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    hosts: Sequence[str] = (),
    usage: x509.ObjectIdentifier | None = None,
) -> x509.Certificate:
    """Build and sign one certificate (a CA one when ``ca``)."""
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
        keyCertSignAndCrlSign = x509.KeyUsage(
            False, False, False, False, False, True, True, False, False
        )
        builder = builder.add_extension(keyCertSignAndCrlSign, critical=True)
    if hosts:
        sans = [_subjectAltName(host) for host in hosts]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(issuerKey, hashes.SHA256())


def makeTestPki(
    directory: Path,
    serverHosts: Sequence[str] = ("127.0.0.1", "localhost"),
    clientName: str = "peek-agent-service",
) -> TestPki:
    """Write a CA, a server certificate for ``serverHosts`` and a client certificate.

    ``directory`` must exist; the files are ``ca.pem``, ``server.pem``/``server.key``,
    ``client.pem``/``client.key`` and ``other-ca.pem``. The server certificate names the
    first host as its common name and every host as a subject alternative name.
    """
    if not serverHosts:
        raise ValueError("makeTestPki needs at least one server host for the certificate")
    caKey, otherKey, serverKey, clientKey = _newKey(), _newKey(), _newKey(), _newKey()
    ca = _sign(CA_NAME, caKey, CA_NAME, caKey, ca=True)
    other = _sign(OTHER_CA_NAME, otherKey, OTHER_CA_NAME, otherKey, ca=True)
    server = _sign(
        serverHosts[0],
        serverKey,
        CA_NAME,
        caKey,
        ca=False,
        hosts=serverHosts,
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
    )
    client = _sign(
        clientName, clientKey, CA_NAME, caKey, ca=False, usage=ExtendedKeyUsageOID.CLIENT_AUTH
    )
    directory = Path(directory)
    return TestPki(
        caCert=_writeCert(directory / "ca.pem", ca),
        serverCert=_writeCert(directory / "server.pem", server),
        serverKey=_writeKey(directory / "server.key", serverKey),
        clientCert=_writeCert(directory / "client.pem", client),
        clientKey=_writeKey(directory / "client.key", clientKey),
        otherCaCert=_writeCert(directory / "other-ca.pem", other),
    )

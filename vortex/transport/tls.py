"""TLS and mutual-TLS settings for vortex servers and clients, loaded from PEM files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL
from twisted.internet import ssl


class TlsConfigError(ValueError):
    """A TLS certificate or key file is missing, unreadable or mismatched; names the file."""


def _readPem(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise TlsConfigError(f"cannot read TLS {what} file {path}: {e.strerror}") from None


def _loadChain(path: Path) -> list[x509.Certificate]:
    """Certificate file: the leaf first, then any intermediates."""
    try:
        chain = x509.load_pem_x509_certificates(_readPem(path, "certificate"))
    except ValueError as e:
        raise TlsConfigError(f"TLS certificate file {path} holds no PEM certificate: {e}") from e
    return chain


def _loadKey(path: Path):
    try:
        return serialization.load_pem_private_key(_readPem(path, "private key"), password=None)
    except (ValueError, TypeError) as e:
        raise TlsConfigError(
            f"TLS private key file {path} is not an unencrypted PEM private key: {e}"
        ) from e


def _loadCa(path: Path) -> ssl.Certificate:
    try:
        return ssl.Certificate.loadPEM(_readPem(path, "CA certificate"))
    except SSL.Error as e:
        raise TlsConfigError(f"TLS CA file {path} is not a PEM certificate: {e}") from e


def _checked(options: ssl.CertificateOptions, certPath: Path, keyPath: Path | None):
    """Build the OpenSSL context now, so a key that does not match fails at configuration."""
    try:
        options.getContext()
    except SSL.Error as e:
        raise TlsConfigError(
            f"TLS certificate {certPath} and key {keyPath} cannot be used together: {e}"
        ) from e
    return options


@dataclass(frozen=True)
class ServerTls:
    """Server certificate and key; with ``clientCaPath`` clients must present a certificate
    signed by that CA (mutual TLS)."""

    certPath: Path
    keyPath: Path
    clientCaPath: Path | None = None

    def contextFactory(self) -> ssl.CertificateOptions:
        """Build the Twisted context factory to listen with."""
        chain = _loadChain(self.certPath)
        # Twisted annotates pyOpenSSL's X509 here, but hands the values to pyOpenSSL,
        # which takes cryptography certificates as well.
        options = ssl.CertificateOptions(
            privateKey=_loadKey(self.keyPath),
            certificate=chain[0],  # type: ignore[arg-type]
            extraCertChain=chain[1:],  # type: ignore[arg-type]
            verify=self.clientCaPath is not None,
            caCerts=None if self.clientCaPath is None else [_loadCa(self.clientCaPath).original],
            requireCertificate=True,
        )
        return _checked(options, self.certPath, self.keyPath)


@dataclass(frozen=True)
class ClientTls:
    """How a client verifies the server (``caPath``, else the platform trust store), plus its
    own certificate and key for mutual TLS."""

    caPath: Path | None = None
    certPath: Path | None = None
    keyPath: Path | None = None

    def __post_init__(self) -> None:
        """A client certificate needs its key and vice versa."""
        if (self.certPath is None) != (self.keyPath is None):
            raise TlsConfigError(
                "ClientTls needs both certPath and keyPath for mutual TLS, or neither "
                f"(got certPath={self.certPath}, keyPath={self.keyPath})"
            )

    def connectionCreator(self, hostname: str):
        """Build the ``IOpenSSLClientConnectionCreator`` that verifies ``hostname``."""
        trustRoot = ssl.platformTrust() if self.caPath is None else _loadCa(self.caPath)
        extra = {}
        certPath, keyPath = self.certPath, self.keyPath
        if certPath is not None and keyPath is not None:  # __post_init__: both or neither
            chain = _loadChain(certPath)
            extra = {
                "privateKey": _loadKey(keyPath),
                "certificate": chain[0],
                "extraCertChain": chain[1:],
            }
            _checked(ssl.CertificateOptions(**extra), certPath, keyPath)
        return ssl.optionsForClientTLS(hostname, trustRoot=trustRoot, extraCertificateOptions=extra)

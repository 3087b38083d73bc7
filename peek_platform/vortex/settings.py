"""The data exchange settings of a service, read from its config: secret, TLS, limits, URL."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from pathlib import Path

from peek_platform.config import (
    CONFIG_FILE_NAME,
    ConfigError,
    ServiceConfig,
)
from peek_platform.config.generated_value import writeGeneratedValue
from vortex.transport import VORTEX_WS_PATH, Backoff, ClientTls, ServerTls, TransportLimits

logger = logging.getLogger(__name__)

SECRET_KEY = "dataExchange.secret"
#: Shortest secret accepted (the transport requires 16 bytes).
MIN_SECRET_CHARS = 16
#: Addresses that mean "every interface"; a local client connects to loopback instead.
WILDCARD_ADDRESSES = frozenset({"", "0.0.0.0", "::"})


class DataExchangeConfigError(ConfigError):
    """The data exchange settings in a config file cannot be used; says which key and file."""


def generateSecret() -> str:
    """A new random shared secret (43 URL-safe characters, 256 bits)."""
    return secrets.token_urlsafe(32)


def secretBytes(config: ServiceConfig) -> bytes:
    """The configured secret as bytes; DataExchangeConfigError if it is empty or too short."""
    value = config[SECRET_KEY]
    if not value:
        raise DataExchangeConfigError(
            config.path,
            f"{SECRET_KEY} is empty. Copy the value of {SECRET_KEY} from the "
            f"logic service's {CONFIG_FILE_NAME} into this file (see the admin guide, "
            f"'Vortex links'), then start the {config.spec.key} service again.",
        )
    if len(value) < MIN_SECRET_CHARS:
        raise DataExchangeConfigError(
            config.path,
            f"{SECRET_KEY} must be at least {MIN_SECRET_CHARS} characters; use "
            f"the value logic generated (or a long random string on every service).",
        )
    return value.encode("utf-8")


def writeSecret(config: ServiceConfig, value: str) -> ServiceConfig:
    """Write ``value`` as the config's secret (atomic rewrite); return the reloaded config.

    A file with comments cannot be rewritten without losing them: DataExchangeConfigError
    telling the admin to set the key by hand.
    """
    try:
        return writeGeneratedValue(config, SECRET_KEY, value)
    except ConfigError as e:
        raise DataExchangeConfigError(
            e.path,
            f"{e.message}; on logic set it to a long random string (e.g. the output of python -c "
            '"import secrets; print(secrets.token_urlsafe(32))"), elsewhere to logic\'s value',
            e.line,
            e.col,
        ) from e


def ensureSecret(
    config: ServiceConfig, generate: Callable[[], str] = generateSecret
) -> ServiceConfig:
    """Logic: return ``config`` with a secret, generating and writing one when it is empty."""
    if config[SECRET_KEY]:
        return config
    reloaded = writeSecret(config, generate())
    logger.info(
        "Generated a new data exchange secret into %s (%s); copy it to services on other hosts",
        config.path,
        SECRET_KEY,
    )
    return reloaded


def limitsFromConfig(config: ServiceConfig) -> TransportLimits:
    """The transport limits of the data exchange links."""
    return TransportLimits(
        maxMessageBytes=config["dataExchange.maxMessageBytes"],
        maxQueuedBytes=config["dataExchange.maxQueuedBytes"],
        heartbeatSeconds=config["dataExchange.heartbeatSeconds"],
    )


def _path(config: ServiceConfig, key: str) -> Path | None:
    value = config[key]
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else config.home / path


def _required(config: ServiceConfig, key: str) -> Path:
    path = _path(config, key)
    if path is None:
        raise DataExchangeConfigError(
            config.path, f"dataExchange.useTls is true but {key} is empty; set it to a PEM file"
        )
    return path


def serverTlsFromConfig(config: ServiceConfig) -> ServerTls | None:
    """Logic: the TLS (and mTLS) settings of the data exchange server, or None."""
    if not config["dataExchange.useTls"]:
        return None
    return ServerTls(
        certPath=_required(config, "dataExchange.tlsServerCertPath"),
        keyPath=_required(config, "dataExchange.tlsServerKeyPath"),
        clientCaPath=_path(config, "dataExchange.tlsClientCaPath"),
    )


def clientTlsFromConfig(config: ServiceConfig) -> ClientTls | None:
    """Other services: how to verify logic (and the client certificate for mTLS), or None."""
    if not config["dataExchange.useTls"]:
        return None
    cert = _path(config, "dataExchange.tlsClientCertPath")
    key = _path(config, "dataExchange.tlsClientKeyPath")
    if (cert is None) != (key is None):
        raise DataExchangeConfigError(
            config.path,
            "set both dataExchange.tlsClientCertPath and "
            "dataExchange.tlsClientKeyPath for mutual TLS, or neither",
        )
    return ClientTls(caPath=_path(config, "dataExchange.tlsCaPath"), certPath=cert, keyPath=key)


def dataExchangeUrl(host: str, port: int, useTls: bool) -> str:
    """``ws[s]://host:port/vortexws`` (IPv6 literals bracketed)."""
    scheme = "wss" if useTls else "ws"
    hostPart = f"[{host}]" if ":" in host else host
    return f"{scheme}://{hostPart}:{port}/{VORTEX_WS_PATH.decode()}"


def clientUrlFromConfig(config: ServiceConfig) -> str:
    """Where a service connects to logic: ``dataExchange.host``/``port``/``useTls``."""
    return dataExchangeUrl(
        config["dataExchange.host"], config["dataExchange.port"], config["dataExchange.useTls"]
    )


def backoffFromConfig(config: ServiceConfig) -> Backoff:
    """Reconnect policy: jittered exponential backoff capped at ``reconnectMaxSeconds``."""
    cap = config["dataExchange.reconnectMaxSeconds"]
    return Backoff(initial=min(0.25, cap), factor=2.0, cap=cap)

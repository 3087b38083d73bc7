"""The declarative table of every ``config.json`` key (see docs/dev/architecture.rst).

Later features add a ``ConfigKey`` to ``CONFIG_KEYS``; the loader, ``peek config check`` and
the documentation's key table all read this one tuple.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

from peek_platform.services import (
    DATA_EXCHANGE_DEFAULT_PORT,
    SERVICES_BY_KEY,
    ServiceSpec,
    SiteSpec,
    allSites,
)

#: Service keys for a setting that every service reads.
ALL_SERVICE_KEYS: frozenset[str] = frozenset(SERVICES_BY_KEY)
#: The logic service alone.
LOGIC_ONLY: frozenset[str] = frozenset({"logic"})
#: The services that use the database and Celery settings.
LOGIC_AND_WORKER: frozenset[str] = frozenset({"logic", "worker"})
#: The services that connect to logic's data exchange as clients.
CLIENT_SERVICE_KEYS: frozenset[str] = ALL_SERVICE_KEYS - LOGIC_ONLY
#: The services without a web site, which serve /metrics on a listener of their own.
METRICS_LISTENER_SERVICE_KEYS: frozenset[str] = frozenset({"agent", "worker"})

#: The accepted values of ``logging.level`` (matched case-insensitively).
LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

#: The accepted values of ``httpServer.<site>.deviceEnrolment``: a new device is approved
#: at its first login (``auto``) or waits until an administrator approves it (``approval``).
DEVICE_ENROLMENT_POLICIES: tuple[str, ...] = ("auto", "approval")

#: Human names of the supported value types; ``float`` means "any JSON number".
_TYPE_NAMES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list[str]: "list of strings",
    dict: "object",
    list[dict]: "list of objects",
}


class InvalidValue(ValueError):
    """A value does not fit its key; ``index`` is the offending list item, if any."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


def describeValue(value: Any) -> str:
    """Name the JSON type of ``value`` for error messages, e.g. ``'an integer (5)'``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _article(typeName: str) -> str:
    """Prefix a type name with its indefinite article."""
    return f"an {typeName}" if typeName[0] in "aeiou" else f"a {typeName}"


@dataclass(frozen=True)
class ConfigKey:
    """One dotted ``config.json`` key: its type, default, meaning and where it applies."""

    #: Dotted path inside ``config.json``, e.g. ``logging.level``.
    path: str
    #: ``str``, ``int``, ``float`` (any number), ``bool``, ``list[str]``, ``dict`` or
    #: ``list[dict]`` (each item's own fields are checked by the feature that reads them).
    type: Any
    #: Value used (and written back) when the key is missing.
    default: Any
    #: One-line description for the docs and ``peek config`` output.
    description: str
    #: Keys of the services that read this setting (``ServiceSpec.key``).
    services: frozenset[str]
    #: True when the value must be masked wherever config is displayed.
    secret: bool = False
    #: The allowed values; strings match case-insensitively and normalise to this spelling.
    choices: tuple[Any, ...] | None = None
    #: Inclusive lower bound for numbers (exclusive when ``minimumExclusive``).
    minimum: float | None = None
    #: Inclusive upper bound for numbers.
    maximum: float | None = None
    minimumExclusive: bool = False

    def __post_init__(self) -> None:
        """Reject table mistakes at import time rather than when a service starts."""
        if self.type not in _TYPE_NAMES:
            raise TypeError(f"config key {self.path}: unsupported type {self.type!r}")
        unknown = self.services - ALL_SERVICE_KEYS
        if unknown:
            raise ValueError(f"config key {self.path}: unknown services {sorted(unknown)}")
        try:
            self.check(self.default)
        except InvalidValue as e:
            raise ValueError(f"config key {self.path}: bad default: {e}") from None

    @property
    def typeName(self) -> str:
        """Human name of the value type: ``string``, ``integer``, ``list of strings``, …"""
        return _TYPE_NAMES[self.type]

    @property
    def constraintText(self) -> str:
        """Human description of the allowed values beyond the type, or ``''``."""
        if self.choices is not None:
            text = "one of " + ", ".join(str(c) for c in self.choices)
            if self.type is str:
                text += " (any case)"
            return text
        parts = []
        if self.minimum is not None:
            parts.append(f"{'>' if self.minimumExclusive else '>='} {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"<= {self.maximum:g}")
        return ", ".join(parts)

    def appliesTo(self, spec: ServiceSpec) -> bool:
        """True when the service described by ``spec`` reads this key."""
        return spec.key in self.services

    def check(self, value: Any) -> Any:
        """Return ``value`` typed and normalised for this key; raise ``InvalidValue`` if wrong."""
        expected = _article(self.typeName)
        if self.type in (list[str], list[dict]):
            itemType, itemName = (
                (str, "a string") if self.type == list[str] else (dict, "an object")
            )
            if not isinstance(value, list):
                raise InvalidValue(f"expected {expected}, got {describeValue(value)}")
            for index, item in enumerate(value):
                if not isinstance(item, itemType):
                    raise InvalidValue(
                        f"item {index}: expected {itemName}, got {describeValue(item)}", index
                    )
            return copy.deepcopy(list(value))
        if not self._hasType(value):
            raise InvalidValue(f"expected {expected}, got {describeValue(value)}")
        if self.type is float and not math.isfinite(value):
            raise InvalidValue(f"expected a finite number, got {value!r}")
        self._checkRange(value)
        if self.type is float:
            value = float(value)
        return self._checkChoice(copy.deepcopy(value))

    def _hasType(self, value: Any) -> bool:
        """True when ``value`` is of this key's JSON type (booleans are never numbers)."""
        if isinstance(value, bool):
            return self.type is bool
        if self.type is float:
            return isinstance(value, int | float)
        return isinstance(value, self.type)

    def _checkRange(self, value: Any) -> None:
        """Raise ``InvalidValue`` when a number is outside ``minimum``/``maximum``."""
        if self.minimum is not None:
            if self.minimumExclusive and not value > self.minimum:
                raise InvalidValue(f"must be greater than {self.minimum:g}, got {value!r}")
            if not self.minimumExclusive and value < self.minimum:
                raise InvalidValue(f"must be at least {self.minimum:g}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise InvalidValue(f"must be at most {self.maximum:g}, got {value!r}")

    def _checkChoice(self, value: Any) -> Any:
        """Return the canonical spelling of ``value`` among ``choices``."""
        if self.choices is None:
            return value
        for choice in self.choices:
            if choice == value or (
                isinstance(value, str)
                and isinstance(choice, str)
                and choice.lower() == value.lower()
            ):
                return choice
        raise InvalidValue(f"{value!r} is not {self.constraintText}")


def _httpSiteKeys(service: ServiceSpec, site: SiteSpec) -> tuple[ConfigKey, ...]:
    """The keys of one web site: port and bind address; login settings on app sites."""
    services = frozenset({service.key})
    keys = [
        ConfigKey(
            path=site.portKey,
            type=int,
            default=site.defaultPort,
            description=f"TCP port of {site.description} (0 lets the OS pick one).",
            services=services,
            minimum=0,
            maximum=65535,
        ),
        ConfigKey(
            path=site.bindKey,
            type=str,
            default=site.defaultBindAddress,
            description=f"Address {site.description} listens on; 0.0.0.0 is every "
            f"interface{site.bindNote}.",
            services=services,
        ),
        ConfigKey(
            path=site.compressDeviceLinksKey,
            type=bool,
            default=True,
            description=f"Browsers' vortex links to {site.description} are compressed "
            "(permessage-deflate, which browsers offer); false sends them uncompressed, "
            "saving the service's CPU at the cost of bandwidth.",
            services=services,
        ),
    ]
    if site.appSite:
        keys += [
            ConfigKey(
                path=site.requireLoginKey,
                type=bool,
                default=True,
                description=f"Users must log in to {site.description}; false serves it to "
                "anyone who can reach it (kiosks), with a warning at start.",
                services=services,
            ),
            ConfigKey(
                path=site.anonymousPermissionsKey,
                type=list[str],
                default=[],
                description=f"Permissions every device of {site.description} holds when "
                "requireLogin is false (a kiosk's rights); ignored while logins are required.",
                services=services,
            ),
            ConfigKey(
                path=site.deviceEnrolmentKey,
                type=str,
                default="auto",
                description=f"How {site.description} enrols a browser at its first login: "
                "auto approves it at once, approval makes it wait until an administrator "
                "approves it on the admin site's Devices page.",
                services=services,
                choices=DEVICE_ENROLMENT_POLICIES,
            ),
            ConfigKey(
                path=site.sessionIdleKey,
                type=float,
                default=480,
                description=f"Minutes without a request after which a login session of "
                f"{site.description} ends.",
                services=services,
                minimum=0,
                minimumExclusive=True,
            ),
            ConfigKey(
                path=site.offlineAppKey,
                type=bool,
                default=True,
                description=f"Browsers keep {site.description} (shell, vortex client and "
                "plugin files) for offline use with a service worker; false makes them "
                "remove it and its caches at their next online visit.",
                services=services,
            ),
            ConfigKey(
                path=site.offlineStorageBudgetKey,
                type=float,
                default=20,
                description=f"MiB of observed data each plugin of {site.description} may "
                "keep per user on a device for offline use; beyond it the least recently "
                "used entries are evicted.",
                services=services,
                minimum=0,
                minimumExclusive=True,
            ),
            ConfigKey(
                path=site.deviceLinksKey,
                type=int,
                default=100,
                description=f"Vortex links (browser tabs) one address may hold open to "
                f"{site.description}; more are refused with 429. Devices behind one NAT "
                "share an address: allow for all of them.",
                services=services,
                minimum=1,
            ),
            ConfigKey(
                path=site.newDeviceLinksPerMinuteKey,
                type=int,
                default=300,
                description=f"Vortex links one address may open to {site.description} in a "
                "minute; more are refused with 429 until the minute has passed.",
                services=services,
                minimum=1,
            ),
            ConfigKey(
                path=site.subscriptionsPerDeviceLinkKey,
                type=int,
                default=1000,
                description=f"Observable selectors one vortex link (browser tab) may hold on "
                f"{site.description}: live subscriptions plus those left or polled in the last "
                "30 s; one more closes the link (close code 4009).",
                services=services,
                minimum=1,
            ),
            ConfigKey(
                path=site.actionsPerDeviceLinkKey,
                type=int,
                default=200,
                description=f"Tuple actions and RPC calls one vortex link may send to "
                f"{site.description} in a second; one more closes the link (close code 4009).",
                services=services,
                minimum=1,
            ),
            ConfigKey(
                path=site.bytesPerDeviceLinkKey,
                type=int,
                default=4 * 1024 * 1024,
                description=f"Message bytes one vortex link may send to {site.description} in "
                "a second; more closes the link (close code 4009), so allow for the largest "
                "message a device sends.",
                services=services,
                minimum=1,
            ),
            ConfigKey(
                path=site.sessionMaxKey,
                type=float,
                default=24,
                description=f"Hours after login at which a session of {site.description} "
                "ends, however busy.",
                services=services,
                minimum=0,
                minimumExclusive=True,
            ),
        ]
    return tuple(keys)


#: Keys every service description shares (site keys are derived from the sites).
_COMMON_KEYS: tuple[ConfigKey, ...] = (
    ConfigKey(
        path="logging.level",
        type=str,
        default="INFO",
        description="Lowest level of log message written to the log file and console.",
        services=ALL_SERVICE_KEYS,
        choices=LOG_LEVELS,
    ),
    ConfigKey(
        path="logging.rotateSizeMb",
        type=int,
        default=20,
        description="Size in MiB at which the log file is rotated.",
        services=ALL_SERVICE_KEYS,
        minimum=1,
    ),
    ConfigKey(
        path="logging.rotationsToKeep",
        type=int,
        default=2,
        description="Number of rotated log files kept beside the current one.",
        services=ALL_SERVICE_KEYS,
        minimum=1,
    ),
    ConfigKey(
        path="logging.logToStdout",
        type=bool,
        default=True,
        description="Also write log messages to the console (standard error).",
        services=ALL_SERVICE_KEYS,
    ),
    ConfigKey(
        path="plugin.enabled",
        type=list[str],
        default=[],
        description="Package names of the plugins this service loads, in load order.",
        services=ALL_SERVICE_KEYS,
    ),
    ConfigKey(
        path="plugin.lifecycleDeadlineSeconds",
        type=float,
        default=30,
        description="Seconds each plugin load/start/stop/unload call may take before it fails.",
        services=ALL_SERVICE_KEYS,
        minimum=0,
        minimumExclusive=True,
    ),
    ConfigKey(
        path="plugin.allowUpload",
        type=bool,
        default=False,
        description="Let admins upload a plugin wheel on the admin site's Plugins page, which "
        "installs or upgrades it with pip in logic's environment (code runs as the service).",
        services=LOGIC_ONLY,
    ),
    ConfigKey(
        path="dataExchange.host",
        type=str,
        default="127.0.0.1",
        description="Host the logic service's data exchange listens on and the others connect to.",
        services=ALL_SERVICE_KEYS,
    ),
    ConfigKey(
        path="dataExchange.port",
        type=int,
        default=DATA_EXCHANGE_DEFAULT_PORT,
        description="TCP port of the logic service's data exchange (0 lets the OS pick one).",
        services=ALL_SERVICE_KEYS,
        minimum=0,
        maximum=65535,
    ),
    ConfigKey(
        path="sqlalchemy.connectUrl",
        type=str,
        default="",
        description="SQLAlchemy database URL, e.g. postgresql://peek:PASSWORD@127.0.0.1/peek; "
        "empty means the embedded SQLite database peek.sqlite in the logic service's home.",
        services=LOGIC_AND_WORKER,
        secret=True,
    ),
    ConfigKey(
        path="sqlalchemy.engineArgs",
        type=dict,
        default={},
        description="Keyword arguments for sqlalchemy.create_engine, e.g. "
        '{"pool_size": 20, "max_overflow": 50}. On PostgreSQL all plugins on logic share '
        "one engine, so its pool (default 5 + 10 overflow) bounds logic's server connections.",
        services=LOGIC_AND_WORKER,
    ),
    ConfigKey(
        path="celery.brokerUrl",
        type=str,
        default="",
        description="Celery broker URL, e.g. redis://127.0.0.1:6379/0; empty means the embedded "
        "SQLite broker in the logic service's home (single host only, no server needed).",
        services=LOGIC_AND_WORKER,
        secret=True,
    ),
    ConfigKey(
        path="celery.resultUrl",
        type=str,
        default="",
        description="Celery result backend URL, e.g. redis://127.0.0.1:6379/1; empty means the "
        "embedded SQLite result store in the logic service's home.",
        services=LOGIC_AND_WORKER,
        secret=True,
    ),
    ConfigKey(
        path="celery.workerConcurrency",
        type=int,
        default=2,
        description="Number of worker processes that run Celery tasks in parallel.",
        services=frozenset({"worker"}),
        minimum=1,
    ),
    ConfigKey(
        path="celery.prefetchMultiplier",
        type=int,
        default=1,
        description="Tasks each worker process reserves ahead of the one it runs.",
        services=frozenset({"worker"}),
        minimum=1,
    ),
    ConfigKey(
        path="celery.taskTimeLimitSeconds",
        type=float,
        default=600,
        description="Seconds a task may run before its worker process is killed and it fails.",
        services=LOGIC_AND_WORKER,
        minimum=0,
        minimumExclusive=True,
    ),
    ConfigKey(
        path="celery.resultTimeoutSeconds",
        type=float,
        default=600,
        description="Seconds the logic service waits for a submitted task's result before "
        "failing it with a timeout.",
        services=LOGIC_AND_WORKER,
        minimum=0,
        minimumExclusive=True,
    ),
    ConfigKey(
        path="dataExchange.bindAddress",
        type=str,
        default="127.0.0.1",
        description="Address the logic service's data exchange binds to; 0.0.0.0 accepts "
        "services on other hosts.",
        services=LOGIC_ONLY,
    ),
    ConfigKey(
        path="dataExchange.secret",
        type=str,
        default="",
        description="Shared secret the services authenticate the data exchange with; empty "
        "makes logic generate one on first run, the other services need logic's value.",
        services=ALL_SERVICE_KEYS,
        secret=True,
    ),
    ConfigKey(
        path="dataExchange.useTls",
        type=bool,
        default=False,
        description="Run the data exchange over TLS (wss://); logic then needs "
        "tlsServerCertPath and tlsServerKeyPath.",
        services=ALL_SERVICE_KEYS,
    ),
    ConfigKey(
        path="dataExchange.tlsServerCertPath",
        type=str,
        default="",
        description="PEM certificate (then any intermediates) logic presents on the data "
        "exchange; relative to the home.",
        services=LOGIC_ONLY,
    ),
    ConfigKey(
        path="dataExchange.tlsServerKeyPath",
        type=str,
        default="",
        description="PEM private key (unencrypted) of tlsServerCertPath; relative to the home.",
        services=LOGIC_ONLY,
        secret=True,
    ),
    ConfigKey(
        path="dataExchange.tlsClientCaPath",
        type=str,
        default="",
        description="PEM CA certificate for mutual TLS: services must present a certificate "
        "it signed; empty means no client certificate is asked for.",
        services=LOGIC_ONLY,
    ),
    ConfigKey(
        path="dataExchange.tlsCaPath",
        type=str,
        default="",
        description="PEM CA certificate that verifies logic's TLS certificate; empty means the "
        "system trust store.",
        services=CLIENT_SERVICE_KEYS,
    ),
    ConfigKey(
        path="dataExchange.tlsClientCertPath",
        type=str,
        default="",
        description="PEM certificate this service presents for mutual TLS (with "
        "tlsClientKeyPath); empty means none.",
        services=CLIENT_SERVICE_KEYS,
    ),
    ConfigKey(
        path="dataExchange.tlsClientKeyPath",
        type=str,
        default="",
        description="PEM private key (unencrypted) of tlsClientCertPath.",
        services=CLIENT_SERVICE_KEYS,
        secret=True,
    ),
    ConfigKey(
        path="dataExchange.maxMessageBytes",
        type=int,
        default=16 * 1024 * 1024,
        description="Largest data exchange message in bytes; a peer sending more is disconnected.",
        services=ALL_SERVICE_KEYS,
        minimum=1024,
    ),
    ConfigKey(
        path="dataExchange.maxQueuedBytes",
        type=int,
        default=64 * 1024 * 1024,
        description="Bytes a data exchange link may queue for a peer that is not reading "
        "before it is disconnected.",
        services=ALL_SERVICE_KEYS,
        minimum=1024,
    ),
    ConfigKey(
        path="dataExchange.compress",
        type=bool,
        default=False,
        description="Compress the data exchange links (permessage-deflate); takes effect "
        "when logic and the connecting service both say true. Worth it only where the "
        "services talk over a slow network: on one host or a LAN it costs more CPU than "
        "it saves time.",
        services=ALL_SERVICE_KEYS,
    ),
    ConfigKey(
        path="dataExchange.heartbeatSeconds",
        type=float,
        default=5,
        description="Seconds between data exchange heartbeats; a peer silent for three of "
        "the longer of the two sides' intervals is declared dead.",
        services=ALL_SERVICE_KEYS,
        minimum=0.1,
        maximum=300,
    ),
    ConfigKey(
        path="dataExchange.reconnectMaxSeconds",
        type=float,
        default=2,
        description="Longest wait between attempts to reconnect to logic's data exchange "
        "(exponential backoff with jitter up to this).",
        services=CLIENT_SERVICE_KEYS,
        minimum=0,
        minimumExclusive=True,
    ),
    ConfigKey(
        path="admin.recoveryUser",
        type=str,
        default="admin",
        description="User name of the admin site's recovery login.",
        services=LOGIC_ONLY,
    ),
    ConfigKey(
        path="admin.recoveryPassword",
        type=str,
        default="",
        description="Password of the recovery login; empty makes logic generate one on first "
        "run and write it here.",
        services=LOGIC_ONLY,
        secret=True,
    ),
    ConfigKey(
        path="admin.sessionIdleMinutes",
        type=float,
        default=30,
        description="Minutes without a request after which an admin site login session ends.",
        services=LOGIC_ONLY,
        minimum=0,
        minimumExclusive=True,
    ),
    ConfigKey(
        path="admin.sessionMaxHours",
        type=float,
        default=12,
        description="Hours after login at which an admin site session ends, however busy.",
        services=LOGIC_ONLY,
        minimum=0,
        minimumExclusive=True,
    ),
    ConfigKey(
        path="ldap.directories",
        type=list[dict],
        default=[],
        description="LDAP directories users may log in with, tried in order after local "
        "users. Each is an object with name, url, sites, mode (bind: userDnTemplate; search: "
        "bindDn, bindPassword, userSearchBase, userSearchFilter), groupSearchBase, "
        "groupMemberAttribute, groupRoles, timeoutSeconds and tlsCaPath, as the admin "
        "guide's LDAP directories page describes. bindPassword is secret: masked wherever "
        "the configuration is shown.",
        services=LOGIC_ONLY,
    ),
    ConfigKey(
        path="metrics.bearerToken",
        type=str,
        default="",
        description="Token a scraper on another host sends as 'Authorization: Bearer TOKEN' "
        "to read /metrics (at least 16 characters); loopback needs none, and with none set "
        "other hosts are refused.",
        services=ALL_SERVICE_KEYS,
        secret=True,
    ),
    ConfigKey(
        path="metrics.sitePort",
        type=int,
        default=-1,
        description="TCP port of the small listener serving /metrics for this service; -1 "
        "turns it off, 0 lets the OS pick one.",
        services=METRICS_LISTENER_SERVICE_KEYS,
        minimum=-1,
        maximum=65535,
    ),
    ConfigKey(
        path="metrics.bindAddress",
        type=str,
        default="127.0.0.1",
        description="Address the metrics listener listens on; 0.0.0.0 is every interface "
        "(other hosts then need metrics.bearerToken).",
        services=METRICS_LISTENER_SERVICE_KEYS,
    ),
    ConfigKey(
        path="tupleCache.maxMegabytes",
        type=float,
        default=256,
        description="MiB of observed data the observable proxies keep on disk in "
        "tuple_cache.sqlite, so devices are answered while logic is down; the least "
        "recently used entries go first; 0 keeps the cache in memory only.",
        services=frozenset({"field", "office"}),
        minimum=0,
    ),
    ConfigKey(
        path="bulkSync.maxMegabytes",
        type=float,
        default=2048,
        description="MiB of chunked index chunks (bulk data for devices) kept on disk in "
        "bulk_chunks.sqlite; chunks beyond it are not kept (and not served).",
        services=frozenset({"field", "office"}),
        minimum=1,
    ),
    ConfigKey(
        path="bulkSync.pollSeconds",
        type=float,
        default=2.0,
        description="Seconds between asks to logic whether a chunked index changed; "
        "changed chunks are then fetched.",
        services=frozenset({"field", "office"}),
        minimum=0.05,
    ),
)


#: Every key of every service: the common table, then each site's keys in service order.
CONFIG_KEYS: tuple[ConfigKey, ...] = (
    *_COMMON_KEYS,
    *(key for service, site in allSites() for key in _httpSiteKeys(service, site)),
)


def keysForService(spec: ServiceSpec) -> list[ConfigKey]:
    """The keys the service described by ``spec`` reads: common keys, then its sites' keys."""
    return [key for key in _COMMON_KEYS if key.appliesTo(spec)] + [
        key for site in spec.sites for key in _httpSiteKeys(spec, site)
    ]


def configKeyByPath(path: str) -> ConfigKey:
    """Return the key declared at dotted ``path``; ``KeyError`` naming it otherwise."""
    for key in CONFIG_KEYS:
        if key.path == path:
            return key
    raise KeyError(f"unknown config key {path!r}")

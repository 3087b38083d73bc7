"""ServiceExtensions that give each service process its vortex and link it to logic.

Logic runs the data exchange server (a ``twisted.web`` site on ``dataExchange.bindAddress``
and ``dataExchange.port``, path ``/vortexws``); field, office, agent and worker connect to
it as clients and report their status. Each process's VortexFactory uses
``PayloadIO.default()`` and is made the default, so plugin endpoints and handlers reach it.

Settings are checked in ``configure`` (before anything listens): a missing secret or an
unusable TLS file raises DataExchangeConfigError, a ``ConfigError`` the service runner turns
into exit status 2.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import IListeningPort
from twisted.web.resource import Resource
from twisted.web.server import Site

from peek_platform.config import ServiceConfig
from peek_platform.process.context import ServiceContext, ServiceExtensionBase
from peek_platform.vortex.service_commands import ServiceCommandServer
from peek_platform.vortex.settings import (
    WILDCARD_ADDRESSES,
    DataExchangeConfigError,
    backoffFromConfig,
    clientTlsFromConfig,
    clientUrlFromConfig,
    dataExchangeUrl,
    ensureSecret,
    limitsFromConfig,
    secretBytes,
    serverTlsFromConfig,
)
from peek_platform.vortex.status_report import ServiceIdentity, StatusReporter
from vortex.PayloadIO import PayloadIO
from vortex.transport import (
    Backoff,
    ClientTls,
    ServerTls,
    TlsConfigError,
    TransportLimits,
    VortexClient,
)
from vortex.VortexFactory import NoVortexException, RemoteVortexInfo, VortexFactory

logger = logging.getLogger(__name__)


class _VortexExtension(ServiceExtensionBase):
    """Shared part: one VortexFactory per process, the default, logging its links."""

    def __init__(self) -> None:
        self._factory: VortexFactory | None = None
        self._identity: ServiceIdentity | None = None
        self._limits: TransportLimits | None = None
        self._secret: bytes | None = None
        #: ``dataExchange.compress``: offer (or accept) permessage-deflate on the link.
        self._compress = False

    @property
    def factory(self) -> VortexFactory:
        """This process's VortexFactory (after ``startBeforePlugins``)."""
        if self._factory is None:
            raise NoVortexException("the vortex is not started: startBeforePlugins has not run")
        return self._factory

    @property
    def limits(self) -> TransportLimits:
        """The link limits from the config (after ``configure``)."""
        if self._limits is None:
            raise RuntimeError("the vortex is not configured: configure has not run")
        return self._limits

    @property
    def identity(self) -> ServiceIdentity:
        """Who this process is on the platform (after ``startBeforePlugins``)."""
        if self._identity is None:
            raise RuntimeError("the vortex is not started: startBeforePlugins has not run")
        return self._identity

    def _startFactory(self, ctx: ServiceContext) -> VortexFactory:
        factory = VortexFactory(
            ctx.spec.vortexName, payloadIO=PayloadIO.default(), reactor=ctx.reactor
        )
        factory.makeDefault()
        factory.addOnlineListener(self._logUp)
        factory.addOfflineListener(self._logDown)
        self._factory = factory
        self._identity = ServiceIdentity(
            serviceKey=ctx.spec.key, vortexName=factory.vortexName, vortexUuid=factory.vortexUuid
        )
        return factory

    def _logUp(self, info: RemoteVortexInfo) -> None:
        logger.info(
            "%s: data exchange link up with %s (uuid %s) at %s",
            self.factory.vortexName,
            info.identity,
            info.uuid,
            info.peerAddress,
        )

    def _logDown(self, info: RemoteVortexInfo, reason: str) -> None:
        logger.info(
            "%s: data exchange link down with %s (uuid %s) at %s: %s",
            self.factory.vortexName,
            info.identity,
            info.uuid,
            info.peerAddress,
            reason,
        )


def _checkTls(config: ServiceConfig, build: Callable[[], object]) -> None:
    """Load the TLS files now so a bad one stops the service with its name (exit 2)."""
    try:
        build()
    except TlsConfigError as e:
        raise DataExchangeConfigError(config.path, f"data exchange TLS: {e}") from e


class DataExchangeServerExtension(_VortexExtension):
    """Logic: generate the secret if needed and serve the data exchange vortex."""

    def __init__(self) -> None:
        super().__init__()
        self._tls: ServerTls | None = None
        self._port: IListeningPort | None = None

    @property
    def listeningPort(self) -> IListeningPort:
        """The listening socket (its ``getHost().port`` is the real port when 0 was asked)."""
        if self._port is None:
            raise RuntimeError("the data exchange is not listening")
        return self._port

    def configure(self, ctx: ServiceContext) -> ServiceConfig:
        """Generate the secret if needed (written to config.json) and check limits and TLS."""
        config = ensureSecret(ctx.config)
        self._secret = secretBytes(config)
        self._limits = limitsFromConfig(config)
        self._compress = bool(config["dataExchange.compress"])
        self._tls = serverTlsFromConfig(config)
        if self._tls is not None:
            _checkTls(config, self._tls.contextFactory)
        return config

    def startBeforePlugins(self, ctx: ServiceContext) -> None:
        """Create the vortex so plugins can register their endpoints while they load."""
        self._startFactory(ctx)

    def startAfterPlugins(self, ctx: ServiceContext) -> None:
        """Listen on ``dataExchange.bindAddress``:``port`` once every plugin has started."""
        factory = self.factory
        root = Resource()
        factory.listen(
            root,
            secret=self._secret,
            allowDevices=False,
            limits=self.limits,
            permessageDeflate=self._compress,
        )
        site = Site(root)
        site.noisy = False
        address = ctx.config["dataExchange.bindAddress"]
        port = ctx.config["dataExchange.port"]
        if self._tls is None:
            self._port = ctx.reactor.listenTCP(port, site, interface=address)
        else:
            contextFactory = self._tls.contextFactory()
            self._port = ctx.reactor.listenSSL(port, site, contextFactory, interface=address)
        host = self._port.getHost()
        assert isinstance(host, IPv4Address | IPv6Address)  # a TCP or TLS port's address
        actual = host.port
        logger.info(
            "%s: data exchange listening on %s (TLS %s%s)",
            factory.vortexName,
            dataExchangeUrl(address, actual, self._tls is not None),
            "on" if self._tls is not None else "off",
            ", client certificates required" if self._tls and self._tls.clientCaPath else "",
        )
        if address in WILDCARD_ADDRESSES and self._tls is None:
            logger.warning(
                "%s: the data exchange accepts connections from other hosts without TLS; "
                "the shared secret authenticates peers but traffic is not encrypted",
                factory.vortexName,
            )

    def stopAfterPlugins(self, ctx: ServiceContext) -> Deferred[None]:
        """Close every link, stop listening, and stop being the default factory."""
        d = self.factory.shutdown()
        port, self._port = self._port, None
        if port is not None:
            d.addCallback(lambda _: maybeDeferred(port.stopListening))
        return d.addCallback(lambda _: None)


class DataExchangeClientExtension(_VortexExtension):
    """Field, office, agent, worker: link to logic (reconnecting) and report status to it."""

    def __init__(self) -> None:
        super().__init__()
        self._tls: ClientTls | None = None
        self._url = ""
        self._backoff: Backoff | None = None
        self._client: VortexClient | None = None
        self._reporter: StatusReporter | None = None
        self._commandServer: ServiceCommandServer | None = None

    @property
    def client(self) -> VortexClient:
        """The link to logic (after ``startBeforePlugins``)."""
        if self._client is None:
            raise RuntimeError("the vortex is not started: startBeforePlugins has not run")
        return self._client

    @property
    def reporter(self) -> StatusReporter:
        """The status reporter (after ``startBeforePlugins``)."""
        if self._reporter is None:
            raise RuntimeError("the vortex is not started: startBeforePlugins has not run")
        return self._reporter

    def configure(self, ctx: ServiceContext) -> ServiceConfig:
        """Check the secret, limits, TLS files and logic's address."""
        config = ctx.config
        self._secret = secretBytes(config)
        self._limits = limitsFromConfig(config)
        self._compress = bool(config["dataExchange.compress"])
        self._tls = tls = clientTlsFromConfig(config)
        self._url = clientUrlFromConfig(config)
        if tls is not None:
            _checkTls(config, lambda: tls.connectionCreator(config["dataExchange.host"]))
        self._backoff = backoffFromConfig(config)
        return config

    def startBeforePlugins(self, ctx: ServiceContext) -> None:
        """Create the vortex so plugins can register their endpoints while they load."""
        self._startFactory(ctx)

    def startAfterPlugins(self, ctx: ServiceContext) -> None:
        """Link to logic (reconnecting) once every plugin has started, report status and
        answer logic's service commands."""
        factory = self.factory
        logger.info("%s: connecting to the data exchange at %s", factory.vortexName, self._url)
        self._client = factory.connect(
            self._url,
            secret=self._secret,
            tls=self._tls,
            limits=self.limits,
            backoff=self._backoff,
            permessageDeflate=self._compress,
        )
        loader = ctx.loader
        if loader is None:
            raise RuntimeError("the status report needs the plugin loader; it is not built")
        self._reporter = StatusReporter(
            factory,
            self.identity,
            loader.statuses,
            subscribe=loader.addStatusListener,
            clock=ctx.reactor,
        )
        self._reporter.start()
        self._commandServer = ServiceCommandServer(factory, ctx.commands)
        self._commandServer.start()

    def stopAfterPlugins(self, ctx: ServiceContext) -> Deferred[None]:
        """Stop reporting and answering commands, close the link and stop being the default
        factory."""
        if self._reporter is not None:
            self._reporter.stop()
        if self._commandServer is not None:
            self._commandServer.stop()
        return self.factory.shutdown()

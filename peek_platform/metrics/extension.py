"""The ``ServiceExtension`` that serves a process's metrics at ``/metrics``.

On a service with web sites it mounts ``/metrics`` on each site's root as a public path:
the site's login does not apply, the metrics access rule does (``resource.py``). On agent
and worker it opens the metrics listener (``listener.py``) when ``metrics.sitePort`` is set.
It comes after the vortex and the sites in a composition, so their objects exist when it
starts; it reads their counters only when scraped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from prometheus_client import generate_latest
from prometheus_client.registry import CollectorRegistry
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IListeningPort

from peek_platform.config import ConfigError, ServiceConfig
from peek_platform.diagnostics.collector import METRICS_COMMAND
from peek_platform.metrics.collectors import CeleryTaskCounts, metricsRegistry
from peek_platform.metrics.listener import PORT_KEY, ListenerAddress, listenForMetrics
from peek_platform.metrics.resource import (
    BEARER_TOKEN_KEY,
    METRICS_PATH,
    MetricsAccess,
    MetricsResource,
)
from peek_platform.process.context import ServiceContext, ServiceExtensionBase
from peek_platform.web.site_root import WebSiteRoot
from vortex.VortexFactory import VortexFactory

logger = logging.getLogger(__name__)

#: Shortest ``metrics.bearerToken`` accepted: a shorter one is guessable.
MIN_TOKEN_CHARS = 16


class ServedSite(Protocol):
    """A web site extension (admin, app site): its root exists once it has started."""

    @property
    def root(self) -> WebSiteRoot | None:
        """The site's root resource; None before the site starts."""


class MetricsExtension(ServiceExtensionBase):
    """Serves this process's metrics: on each of ``sites`` (which must start before it), and
    with ``ownListener`` on the metrics listener of agent and worker.

    ``celery`` gives logic's task submitter (None until it starts). ``registry`` is this
    process's own ``CollectorRegistry``, set in ``startBeforePlugins``.
    """

    def __init__(
        self,
        *,
        vortexFactory: Callable[[], VortexFactory],
        sites: Sequence[ServedSite] = (),
        ownListener: bool = False,
        celery: Callable[[], CeleryTaskCounts | None] | None = None,
    ) -> None:
        self._vortexFactory = vortexFactory
        self._sites = tuple(sites)
        self._ownListener = ownListener
        self._celery = celery
        #: The process's metrics, once started.
        self.registry: CollectorRegistry | None = None
        #: The ``/metrics`` resource, once started.
        self.resource: MetricsResource | None = None
        self._port: IListeningPort | None = None
        self._removeCommand: Callable[[], None] | None = None

    def configure(self, ctx: ServiceContext) -> ServiceConfig:
        """Refuse a bearer token too short to be secret (never logging it)."""
        token = str(ctx.config[BEARER_TOKEN_KEY])
        if token and len(token) < MIN_TOKEN_CHARS:
            raise ConfigError(
                ctx.config.path,
                f"{BEARER_TOKEN_KEY}: must be at least {MIN_TOKEN_CHARS} characters "
                f"(it has {len(token)}), or empty to serve metrics to this host only",
            )
        return ctx.config

    def startBeforePlugins(self, ctx: ServiceContext) -> None:
        """Build the registry, mount ``/metrics`` on the sites, open the listener."""
        loader = ctx.loader
        self.registry = metricsRegistry(
            ctx.spec.key,
            vortexFactory=self._vortexFactory,
            statuses=loader.statuses if loader is not None else list,
            celery=self._celery,
        )
        self.resource = MetricsResource(
            self.registry, MetricsAccess(str(ctx.config[BEARER_TOKEN_KEY]))
        )
        registry = self.registry
        self._removeCommand = ctx.commands.add(
            METRICS_COMMAND, lambda args: {"text": generate_latest(registry).decode()}
        )
        for site in self._sites:
            root = site.root
            if root is None:
                raise RuntimeError("metrics: a site has no root; start the sites before metrics")
            root.mount(METRICS_PATH, self.resource, public=True)
        if not self._ownListener:
            return
        address = ListenerAddress.fromConfig(ctx.config)
        if not address.enabled:
            logger.info("metrics listener off (%s is -1)", PORT_KEY)
            return
        self._port = listenForMetrics(ctx.reactor, self.resource, address)

    def stopAfterPlugins(self, ctx: ServiceContext) -> Deferred[Any] | None:
        """Close the listener, if one was opened (the sites' paths go with the sites)."""
        if self._removeCommand is not None:
            self._removeCommand()
            self._removeCommand = None
        port, self._port = self._port, None
        if port is None:
            return None
        return port.stopListening()

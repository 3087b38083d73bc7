"""Open a web site's listening port, with an error that names the config keys to change."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IListeningPort
from twisted.web.resource import IResource
from twisted.web.server import Site

from peek_platform.services import SiteSpec

if TYPE_CHECKING:
    from peek_platform.config import ConfigLookup
    from peek_platform.process.context import ServiceReactor

logger = logging.getLogger(__name__)

#: Connections the kernel queues before the site accepts them (Twisted's default is 50):
#: thousands of devices reconnect at once after a restart, and a full queue drops their
#: connection attempts, which then wait a second or more to retry.
LISTEN_BACKLOG = 1024


class WebSiteError(Exception):
    """A web site cannot be served (port in use, bad address); says which key to change."""


@dataclass(frozen=True)
class SiteAddress:
    """Where one site listens, and the ``config.json`` keys that set it."""

    siteName: str
    port: int
    bindAddress: str

    @property
    def portKey(self) -> str:
        """``httpServer.<site>.sitePort``."""
        return f"httpServer.{self.siteName}.sitePort"

    @property
    def bindAddressKey(self) -> str:
        """``httpServer.<site>.bindAddress``."""
        return f"httpServer.{self.siteName}.bindAddress"

    @classmethod
    def fromConfig(cls, site: SiteSpec, config: ConfigLookup) -> SiteAddress:
        """Read the port and bind address of ``site`` from a service config."""
        return cls(site.name, int(config[site.portKey]), str(config[site.bindKey]))


def newSite(root: IResource, reactor: ServiceReactor = None) -> Site:
    """A ``Site`` for ``root`` that never shows tracebacks to clients; timers on ``reactor``."""
    site = Site(root, reactor=reactor)
    site.displayTracebacks = False
    site.noisy = False
    return site


def listenSite(reactor: ServiceReactor, site: Site, address: SiteAddress) -> IListeningPort:
    """Listen on ``address``; ``WebSiteError`` naming the keys and port when that fails."""
    try:
        port = reactor.listenTCP(
            address.port, site, backlog=LISTEN_BACKLOG, interface=address.bindAddress
        )
    except CannotListenError as e:
        raise WebSiteError(
            f"{address.siteName} site: cannot listen on {address.bindAddress}:{address.port} "
            f"({address.bindAddressKey}, {address.portKey}): {e.socketError}. Stop the program "
            f"using that port or set {address.portKey} to a free port in config.json."
        ) from e
    host = port.getHost()
    logger.info(
        "%s site listening on http://%s:%d/ (%s)",
        address.siteName,
        host.host,
        host.port,
        address.portKey,
    )
    return port

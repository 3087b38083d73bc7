"""The small HTTP listener serving ``/metrics`` for services without a web site (agent, worker).

It listens on ``metrics.bindAddress``:``metrics.sitePort`` (-1, the default, turns it off; 0
lets the OS pick a port) and serves nothing but ``/metrics``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IListeningPort

from peek_platform.metrics.resource import METRICS_PATH, MetricsResource
from peek_platform.web.listening import WebSiteError, newSite
from peek_platform.web.site_root import ChildrenOnly

if TYPE_CHECKING:
    from peek_platform.config import ConfigLookup
    from peek_platform.process.context import ServiceReactor

logger = logging.getLogger(__name__)

#: The config keys of the listener.
PORT_KEY = "metrics.sitePort"
BIND_ADDRESS_KEY = "metrics.bindAddress"
#: ``metrics.sitePort`` value that turns the listener off.
LISTENER_OFF = -1


@dataclass(frozen=True)
class ListenerAddress:
    """Where the metrics listener listens; ``port`` -1 means it is off."""

    port: int
    bindAddress: str

    @property
    def enabled(self) -> bool:
        """True unless ``metrics.sitePort`` is -1."""
        return self.port != LISTENER_OFF

    @classmethod
    def fromConfig(cls, config: ConfigLookup) -> ListenerAddress:
        """Read ``metrics.sitePort`` and ``metrics.bindAddress``."""
        return cls(int(config[PORT_KEY]), str(config[BIND_ADDRESS_KEY]))


def listenForMetrics(
    reactor: ServiceReactor, resource: MetricsResource, address: ListenerAddress
) -> IListeningPort:
    """Serve ``resource`` at ``/metrics`` on ``address``; ``WebSiteError`` naming the keys if
    the port cannot be opened."""
    site = newSite(ChildrenOnly({METRICS_PATH: resource}), reactor)
    try:
        port = reactor.listenTCP(address.port, site, interface=address.bindAddress)
    except CannotListenError as e:
        raise WebSiteError(
            f"metrics listener: cannot listen on {address.bindAddress}:{address.port} "
            f"({BIND_ADDRESS_KEY}, {PORT_KEY}): {e.socketError}. Set {PORT_KEY} to a free "
            "port (or -1 to turn the listener off) in config.json."
        ) from e
    host = port.getHost()
    logger.info("metrics listening on http://%s:%d/metrics (%s)", host.host, host.port, PORT_KEY)
    return port

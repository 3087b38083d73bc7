"""Limits on the device links one address may open to a field or office site.

``/vortexws`` upgrades pass :class:`DeviceLinkLimits` before the websocket takes them: an
address that opens more than ``newPerMinute`` links in a minute, or holds ``concurrent``
links already, gets ``429 Too Many Requests`` (with ``Retry-After``) and a logged WARNING;
every other address keeps working. Counting uses the socket's address, never a header.
The per-link quotas (:class:`~vortex.transport.DeviceQuotaLimits`: subscriptions, actions
and bytes a second) are read here too and enforced by the vortex on each device link.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass

from twisted.internet.interfaces import IReactorTime
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource

from peek_platform.config.service_config import ConfigLookup
from peek_platform.services import SiteSpec
from peek_platform.web.site_auth import StatusResource
from vortex.transport import DeviceQuotaLimits, VortexServerEndpoint
from vortex.transport.device_quota import DEFAULT_DEVICE_QUOTA

logger = logging.getLogger(__name__)

#: Seconds of the window ``newPerMinute`` counts in.
WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class DeviceLinkLimitSettings:
    """How many device links one address may hold and open per minute, and what each
    link may do (``quota``)."""

    concurrent: int
    newPerMinute: int
    quota: DeviceQuotaLimits = DEFAULT_DEVICE_QUOTA

    @classmethod
    def fromConfig(cls, site: SiteSpec, config: ConfigLookup) -> DeviceLinkLimitSettings:
        """The site's ``httpServer.<site>.*DeviceLink*`` settings; the quota's refusal
        reasons name the site's keys."""
        return cls(
            concurrent=int(config[site.deviceLinksKey]),
            newPerMinute=int(config[site.newDeviceLinksPerMinuteKey]),
            quota=DeviceQuotaLimits(
                subscriptionsPerLink=int(config[site.subscriptionsPerDeviceLinkKey]),
                actionsPerSecond=int(config[site.actionsPerDeviceLinkKey]),
                bytesPerSecond=int(config[site.bytesPerDeviceLinkKey]),
                keyPrefix=f"httpServer.{site.name}.",
            ),
        )


class DeviceLinkLimits(Resource):
    """``/vortexws`` of an app site: refuses an address over its link limits, else upgrades."""

    isLeaf = True

    def __init__(
        self,
        inner: IResource,
        endpoint: VortexServerEndpoint,
        settings: DeviceLinkLimitSettings,
        clock: IReactorTime,
        *,
        siteName: str,
    ) -> None:
        super().__init__()
        self._inner = inner
        self._endpoint = endpoint
        self.settings = settings
        self._clock = clock
        self._siteName = siteName
        self._opened: dict[str, deque[float]] = {}
        self._lastForget = clock.seconds()

    def render(self, request: IRequest) -> bytes | int:
        """Count the address's links; over a limit answer 429, else let the upgrade through."""
        peer = request.getClientAddress()
        host = str(getattr(peer, "host", peer))
        now = self._clock.seconds()
        self._forgetIdleAddresses(now)
        opened = self._opened.setdefault(host, deque())
        while opened and now - opened[0] >= WINDOW_SECONDS:
            opened.popleft()
        held = self._endpoint.linkCountFrom(host)
        refusal = None
        if held >= self.settings.concurrent:
            refusal = (f"{held} device links are open from this address already", 5)
        elif len(opened) >= self.settings.newPerMinute:
            wait = math.ceil(WINDOW_SECONDS - (now - opened[0]))
            refusal = (f"more than {self.settings.newPerMinute} new device links a minute", wait)
        if refusal is not None:
            reason, retryAfter = refusal
            logger.warning(
                "%s site: refused a device link from %s: %s", self._siteName, host, reason
            )
            request.setHeader(b"Retry-After", str(max(1, retryAfter)).encode())
            return StatusResource(429, f"device link refused: {reason}").render(request)
        opened.append(now)
        return self._inner.render(request)

    def _forgetIdleAddresses(self, now: float) -> None:
        """Once a window, drop addresses with nothing in it, so the table stays bounded
        without scanning it on every upgrade."""
        if now - self._lastForget < WINDOW_SECONDS:
            return
        self._lastForget = now
        stale = [
            host
            for host, times in self._opened.items()
            if not times or now - times[-1] >= WINDOW_SECONDS
        ]
        for host in stale:
            del self._opened[host]

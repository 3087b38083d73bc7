"""Logic's live view of the platform: each service's identity, link and plugins."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from peek_platform.services import ALL_SERVICES
from peek_platform.vortex.tuples import PlatformStatusTuple, PluginStatusTuple, ServiceStatusTuple

logger = logging.getLogger(__name__)

Subscriber = Callable[[PlatformStatusTuple], None]

_SERVICE_ORDER = {spec.key: index for index, spec in enumerate(ALL_SERVICES)}


def _copy(status: ServiceStatusTuple) -> ServiceStatusTuple:
    fields = {name: getattr(status, name) for name in status.tupleFieldNames()}
    fields["plugins"] = [
        PluginStatusTuple(**{name: getattr(p, name) for name in p.tupleFieldNames()})
        for p in status.plugins
    ]
    return ServiceStatusTuple(**fields)


class PlatformStatusView:
    """Every service logic has heard from (itself included), updated live.

    Keyed by vortex uuid (one per process run). A service that reconnects after a restart
    replaces its disconnected entry from the same host, so restarts do not pile up.
    ``subscribe`` callbacks get a fresh snapshot after each change; the admin site and
    ``peek status`` read the same snapshots.
    """

    def __init__(self, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._now = now
        self._services: dict[str, ServiceStatusTuple] = {}
        self._subscribers: list[Subscriber] = []

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(snapshot)`` after every change; returns the unsubscribe function."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def snapshot(self) -> PlatformStatusTuple:
        """A copy of the view now: logic first, then field, office, agent, worker."""
        services = sorted(
            self._services.values(),
            key=lambda s: (_SERVICE_ORDER.get(s.serviceKey, len(_SERVICE_ORDER)), s.host, s.pid),
        )
        return PlatformStatusTuple(generatedAt=self._now(), services=[_copy(s) for s in services])

    def service(self, vortexUuid: str) -> ServiceStatusTuple | None:
        """A copy of one service's entry, or None."""
        status = self._services.get(vortexUuid)
        return None if status is None else _copy(status)

    def updateLocal(self, status: ServiceStatusTuple) -> None:
        """Logic's own entry: always connected, since it started."""
        status = _copy(status)
        status.connected = True
        status.connectedSince = status.startedAt
        status.peerAddress = None
        self._store(status)

    def serviceReported(
        self, status: ServiceStatusTuple, connectedSince: datetime, peerAddress: str
    ) -> None:
        """A linked service sent its (already validated) status."""
        status = _copy(status)
        status.connected = True
        status.connectedSince = connectedSince
        status.disconnectedAt = None
        status.peerAddress = peerAddress
        for uuid, old in list(self._services.items()):
            if (
                uuid != status.vortexUuid
                and not old.connected
                and old.vortexName == status.vortexName
                and old.host == status.host
            ):
                del self._services[uuid]
        self._store(status)

    def linkDown(self, vortexUuid: str) -> None:
        """The link of the service with this uuid dropped: keep it, marked disconnected."""
        status = self._services.get(vortexUuid)
        if status is None or not status.connected:
            return
        status.connected = False
        status.disconnectedAt = self._now()
        self._notify()

    def _store(self, status: ServiceStatusTuple) -> None:
        self._services[status.vortexUuid] = status
        self._notify()

    def _notify(self) -> None:
        if not self._subscribers:
            return
        snapshot = self.snapshot()
        for callback in list(self._subscribers):
            try:
                callback(snapshot)
            except Exception:
                logger.exception(
                    "Platform status subscriber %r failed; it stays subscribed", callback
                )

"""Logic's status endpoints: receive service reports, answer queries, track link drops."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime

from peek_logic_service.status.view import PlatformStatusView
from peek_platform.plugin.state import PluginStatus
from peek_platform.services import ALL_SERVICES, LOGIC, SERVICES_BY_KEY
from peek_platform.vortex.status_report import LoaderStatusWatcher, ServiceIdentity, Subscribe
from peek_platform.vortex.tuples import (
    STATUS_QUERY_FILT,
    STATUS_REPORT_FILT,
    STATUS_SNAPSHOT_FILT,
    ServiceStatusTuple,
    StatusFieldError,
)
from vortex.Payload import Payload
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.SerialiseUtil import VortexDecodeError
from vortex.VortexFactory import DEVICE_PREFIX, RemoteVortexInfo, VortexFactory

logger = logging.getLogger(__name__)

#: The services whose reports logic accepts (by authenticated vortex name).
REPORTING_SERVICE_NAMES: frozenset[str] = frozenset(
    spec.vortexName for spec in ALL_SERVICES if spec is not LOGIC
)


class StatusReportRejected(ValueError):
    """A status report is malformed or claims another identity than its link's."""


def parseReport(envelope: PayloadEnvelope, vortexName: str, vortexUuid: str) -> ServiceStatusTuple:
    """Decode and check one report; StatusReportRejected says why it is refused."""
    try:
        payload = envelope.decodePayload()
    except VortexDecodeError as e:
        raise StatusReportRejected(f"undecodable payload: {e}") from e
    if len(payload.tuples) != 1 or not isinstance(payload.tuples[0], ServiceStatusTuple):
        kinds = [type(t).__name__ for t in payload.tuples]
        raise StatusReportRejected(f"expected one ServiceStatusTuple, got {kinds}")
    status: ServiceStatusTuple = payload.tuples[0]
    try:
        status.validate()
    except StatusFieldError as e:
        raise StatusReportRejected(str(e)) from e
    spec = SERVICES_BY_KEY.get(status.serviceKey)
    if spec is None or spec.vortexName != vortexName:
        raise StatusReportRejected(
            f"serviceKey {status.serviceKey!r} does not belong to the authenticated link "
            f"{vortexName!r}"
        )
    if status.vortexName != vortexName or status.vortexUuid != vortexUuid:
        raise StatusReportRejected(
            f"reported identity {status.vortexName}/{status.vortexUuid} differs from the "
            f"authenticated link {vortexName}/{vortexUuid}"
        )
    return status


class PlatformStatusService:
    """Feeds a PlatformStatusView from the data exchange and answers ``peek status``."""

    def __init__(
        self,
        view: PlatformStatusView,
        factory: VortexFactory,
        identity: ServiceIdentity,
        statuses: Callable[[], Iterable[PluginStatus]],
        *,
        subscribe: Subscribe,
        clock: IReactorTime | None = None,
    ) -> None:
        self.view = view
        self._factory = factory
        self._identity = identity
        self._watcher = LoaderStatusWatcher(
            statuses,
            lambda plugins: view.updateLocal(identity.statusTuple(plugins)),
            subscribe=subscribe,
            clock=clock,
        )
        self._endpoints: list[PayloadEndpoint] = []
        self._unsubscribe: Callable[[], None] | None = None
        #: Reports refused so far (malformed, mistyped, or claiming another identity).
        self.rejectedReports = 0

    def start(self) -> None:
        """Register the endpoints, follow link drops, and watch logic's own plugins."""
        io = self._factory.payloadIO
        self._endpoints = [
            PayloadEndpoint(
                STATUS_REPORT_FILT,
                self._onReport,
                acceptOnlyFromVortex=REPORTING_SERVICE_NAMES,
                payloadIO=io,
            ),
            PayloadEndpoint(STATUS_QUERY_FILT, self._onQuery, payloadIO=io),
        ]
        self._unsubscribe = self._factory.addOfflineListener(self._linkDown)
        self._watcher.start()

    def stop(self) -> None:
        """Unregister everything."""
        self._watcher.stop()
        for endpoint in self._endpoints:
            endpoint.shutdown()
        self._endpoints = []
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _linkDown(self, info: RemoteVortexInfo, reason: str) -> None:
        self.view.linkDown(info.uuid)

    def _onReport(
        self, envelope: PayloadEnvelope, vortexUuid: str, vortexName: str, **kwargs: Any
    ) -> None:
        info = self._factory.remoteVortexByUuid(vortexUuid)
        if info is None:
            return  # the link dropped while the report was queued; it reports again
        try:
            status = parseReport(envelope, vortexName, vortexUuid)
        except StatusReportRejected as e:
            self.rejectedReports += 1
            logger.error(
                "Rejected a platform status report from %s (uuid %s) at %s: %s",
                vortexName,
                vortexUuid,
                info.peerAddress,
                e,
            )
            return
        self.view.serviceReported(status, info.since, info.peerAddress)

    def _onQuery(
        self,
        envelope: PayloadEnvelope,
        vortexUuid: str,
        vortexName: str,
        sendResponse: Callable[[bytes], defer.Deferred],
        **kwargs: Any,
    ) -> defer.Deferred | None:
        if vortexName.startswith(DEVICE_PREFIX):
            logger.error("Refused a platform status query from device link %s", vortexName)
            return None
        snapshot = self.view.snapshot()
        return sendResponse(
            Payload(filt=dict(STATUS_SNAPSHOT_FILT), tuples=[snapshot]).toVortexMsg()
        )

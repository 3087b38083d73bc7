"""Logic's device extension: the device store, its RPCs and the live sessions registry.

``startBeforePlugins`` opens the device store on the platform schema (after storage migrated
it), starts the RPCs field and office call at every login (``device_rpc``) and the live
sessions service (``live_sessions``). The admin site approves and revokes devices and
forces logouts through it; plugins see which devices are online through ``registry``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from twisted.internet.defer import Deferred

from peek_platform.identity.device_rpc import admitDeviceRpc, deviceStatesRpc
from peek_platform.identity.devices import DeviceRecord, DeviceState, DeviceStore
from peek_platform.identity.live_sessions import LiveSessionRegistry, LiveSessionsService
from peek_platform.process.context import ServiceContext, ServiceExtensionBase
from peek_platform.storage.extension import StorageServiceExtension
from vortex.VortexFactory import VortexFactory

logger = logging.getLogger(__name__)


class DeviceServiceExtension(ServiceExtensionBase):
    """Enrolled devices and live sessions; runs on logic after storage and the vortex.

    ``registry`` exists from construction, so platform hooks can hand it to plugins before
    the service starts.
    """

    def __init__(
        self, storage: StorageServiceExtension, vortexFactory: Callable[[], VortexFactory]
    ) -> None:
        self._storage = storage
        self._vortexFactory = vortexFactory
        #: Every site's live sessions, and which devices are online.
        self.registry = LiveSessionRegistry()
        self.registry.addDevicesGoneListener(self._devicesGone)
        self._store: DeviceStore | None = None
        self._service: LiveSessionsService | None = None
        self._rpcs: list[Any] = []

    @property
    def store(self) -> DeviceStore:
        """The enrolled devices (after ``startBeforePlugins``)."""
        if self._store is None:
            raise RuntimeError("devices are not started: startBeforePlugins has not run")
        return self._store

    @property
    def service(self) -> LiveSessionsService:
        """The live sessions reports and orders (after ``startBeforePlugins``)."""
        if self._service is None:
            raise RuntimeError("devices are not started: startBeforePlugins has not run")
        return self._service

    def startBeforePlugins(self, ctx: ServiceContext) -> None:
        """Open the device store; answer field's and office's device calls and reports."""
        self._store = DeviceStore(self._storage.platformDb.dbEngine)
        factory = self._vortexFactory()
        self._rpcs = [
            admitDeviceRpc().start(funcSelf=self._store.admit, vortexFactory=factory),
            deviceStatesRpc().start(funcSelf=self._store.states, vortexFactory=factory),
        ]
        self._service = LiveSessionsService(self.registry, factory, ctx.reactor)
        self._service.start()

    def listDevices(self) -> Deferred[list[DeviceRecord]]:
        """Every enrolled device, read off the reactor thread."""
        return self._storage.inThread(self.store.listDevices)

    def setState(self, deviceId: str, state: DeviceState, actor: str) -> Deferred[DeviceRecord]:
        """Approve or revoke device ``deviceId`` for ``actor``; revoking also tells field
        and office to end its sessions now, which closes its links."""

        def changed(device: DeviceRecord) -> DeviceRecord:
            if device.state == DeviceState.REVOKED:
                self.service.endSessions(
                    deviceIds=[deviceId], reason=f"the device was revoked by {actor}"
                )
            return device

        return self._storage.inThread(self.store.setState, deviceId, state).addCallback(changed)

    def forceLogout(self, userId: str, actor: str) -> int:
        """Tell field and office to end every session of ``userId`` now (the admin site
        ends its own); the number of service links told."""
        return self.service.endSessions(userIds=[userId], reason=f"forced logout by {actor}")

    def _devicesGone(self, lastSeen: dict[str, float]) -> None:
        """Record when devices whose last session ended were last seen."""
        if self._store is None:
            return
        seen = {deviceId: datetime.fromtimestamp(t, UTC) for deviceId, t in lastSeen.items()}
        d = self._storage.inThread(self._store.touch, seen)
        d.addErrback(lambda f: logger.warning("could not record devices' last seen: %s", f.value))

    def stopAfterPlugins(self, ctx: ServiceContext) -> None:
        """Stop answering field's and office's calls and reports."""
        for rpc in self._rpcs:
            rpc.shutdown()
        self._rpcs = []
        if self._service is not None:
            self._service.stop()
            self._service = None

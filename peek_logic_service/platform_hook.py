"""The platform hook plugins receive on the logic service."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred, fail

from peek_logic_service.celery.errors import CeleryUnavailable
from peek_logic_service.celery.extension import LogicCeleryExtension
from peek_platform.app_site_hook import siteResourceMethods
from peek_platform.bulk.logic import BulkIndexExtension
from peek_platform.config import ConfigLookup
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.identity.live_sessions import PluginDeviceStatus
from peek_platform.platform_hook import PlatformHookBase
from peek_platform.services import LOGIC
from peek_plugin_base.bulk.ChunkedIndex import ChunkedIndex, ChunkedIndexPublisherABC
from peek_plugin_base.logic.DeviceStatusApiABC import DeviceStatusApiABC
from peek_plugin_base.logic.PeekLogicPlatformHookABC import PeekLogicPlatformHookABC

if TYPE_CHECKING:
    from peek_platform.plugin.loader import PluginLoader


class LogicPlatformHook(PlatformHookBase, PeekLogicPlatformHookABC):
    """Admin site (``addAdmin...``) and dataExchange site (``addLogic...``/``addServer...``)."""

    def __init__(
        self,
        home: Path,
        config: ConfigLookup,
        pluginName: str,
        loader: PluginLoader,
        *,
        adminSite: SiteResources,
        logicSite: SiteResources,
        celery: LogicCeleryExtension | None = None,
        deviceStatus: DeviceStatusApiABC | None = None,
        bulk: BulkIndexExtension | None = None,
    ) -> None:
        super().__init__(LOGIC, home, config, pluginName, loader)
        self._adminSite = adminSite
        self._logicSite = logicSite
        self._celery = celery
        self._deviceStatus = None if deviceStatus is None else PluginDeviceStatus(deviceStatus)
        self._bulk = bulk

    def submitCeleryTask(self, task: Any, *args: Any, **kwargs: Any) -> Deferred:
        """Run a Celery task on the workers; a Deferred of its result, never blocking."""
        submitter = self._celery.submitter if self._celery is not None else None
        if submitter is None:
            return fail(
                CeleryUnavailable(f"{self.pluginName}: Celery is not running on this logic service")
            )
        return submitter.submit(task, *args, **kwargs)

    def chunkedIndexPublisher(self, index: ChunkedIndex) -> ChunkedIndexPublisherABC:
        """The publisher of this plugin's chunked ``index`` (``LookupError`` without bulk sync)."""
        if self._bulk is None:
            raise LookupError(f"{self.pluginName}: this logic service has no bulk data sync")
        return self._bulk.publisher(self.pluginName, index)

    @property
    def dbConnectString(self) -> str:
        """``sqlalchemy.connectUrl`` from the logic config (the storage setup provides it)."""
        return str(
            self._configValue(
                "sqlalchemy.connectUrl", "the logic service's storage settings provide it"
            )
        )

    @property
    def deviceStatusApi(self) -> DeviceStatusApiABC:
        """Which devices are online; this plugin's listeners go when it unloads."""
        if self._deviceStatus is None:
            raise LookupError(f"{self.pluginName}: this logic service tracks no device status")
        return self._deviceStatus

    def releaseRegistrations(self) -> None:
        """Remove this plugin's resource trees and device status listeners."""
        super().releaseRegistrations()
        if self._deviceStatus is not None:
            self._deviceStatus.release()

    addAdminResource, addAdminStaticResourceDir, rootAdminResource = siteResourceMethods(
        "_adminSite", "admin"
    )
    addLogicResource, addLogicStaticResourceDir, rootLogicResource = siteResourceMethods(
        "_logicSite", "dataExchange"
    )

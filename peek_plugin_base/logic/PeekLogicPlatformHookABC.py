"""Platform hook of the logic service."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING

from peek_plugin_base.logic.PeekPlatformAdminHttpHookABC import PeekPlatformAdminHttpHookABC
from peek_plugin_base.PeekPlatformCommonHookABC import PeekPlatformCommonHookABC
from peek_plugin_base.PeekPlatformFileStorageHookABC import PeekPlatformFileStorageHookABC
from peek_plugin_base.server.PeekPlatformServerHttpHookABC import PeekPlatformServerHttpHookABC
from peek_plugin_base.settings.PluginSettingsABC import PluginSettingsABC

if TYPE_CHECKING:
    from peek_plugin_base.bulk.ChunkedIndex import ChunkedIndex, ChunkedIndexPublisherABC
    from peek_plugin_base.logic.DeviceStatusApiABC import DeviceStatusApiABC
    from peek_plugin_base.storage.DbConnection import DbConnection


class PeekLogicPlatformHookABC(
    PeekPlatformCommonHookABC,
    PeekPlatformAdminHttpHookABC,
    PeekPlatformServerHttpHookABC,
    PeekPlatformFileStorageHookABC,
):
    """Everything the platform offers plugins on the logic service."""

    #: The plugin's database connection, attached by the platform before ``load()`` when
    #: plugin_package.json declares ``storage`` (``None`` otherwise, and after unload).
    #: Entry hooks use it through ``PluginLogicStorageEntryHookABC`` (``dbSessionCreator``...).
    pluginStorage: DbConnection | None = None
    #: The plugin's settings, attached before ``load()`` when plugin_package.json declares
    #: ``settings`` (``None`` otherwise); entry hooks read them as ``self.pluginSettings``.
    pluginSettings: PluginSettingsABC | None = None

    @property
    @abstractmethod
    def dbConnectString(self) -> str:
        """The SQLAlchemy URL of the platform database."""

    @property
    @abstractmethod
    def deviceStatusApi(self) -> DeviceStatusApiABC:
        """Which field and office devices are online now, and changes as they happen."""

    @abstractmethod
    def chunkedIndexPublisher(self, index: ChunkedIndex) -> ChunkedIndexPublisherABC:
        """The publisher of this plugin's chunked ``index`` (bulk data sync to devices)."""

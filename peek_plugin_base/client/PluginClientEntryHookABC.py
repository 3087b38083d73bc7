"""Legacy entry hook ABC for plugins on the client service (loads on field and office)."""

from __future__ import annotations

from peek_plugin_base.client.PeekClientPlatformHookABC import PeekClientPlatformHookABC
from peek_plugin_base.PluginCommonEntryHookABC import PluginCommonEntryHookABC


class PluginClientEntryHookABC(PluginCommonEntryHookABC):
    """Base class of the object a plugin's entry hook returns on this service."""

    def __init__(
        self, pluginName: str, pluginRootDir: str, platform: PeekClientPlatformHookABC | None = None
    ) -> None:
        super().__init__(pluginName, pluginRootDir, platform)

    @property
    def platform(self) -> PeekClientPlatformHookABC:
        """The platform hook of this service."""
        return self._platform

    @property
    def publishedClientApi(self) -> object | None:
        """The API this plugin offers other plugins on this service (None: no API)."""
        return None

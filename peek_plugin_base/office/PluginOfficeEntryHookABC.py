"""Entry hook ABC for plugins on the office service."""

from __future__ import annotations

from peek_plugin_base.client.PluginClientEntryHookABC import PluginClientEntryHookABC
from peek_plugin_base.office.PeekOfficePlatformHookABC import PeekOfficePlatformHookABC


class PluginOfficeEntryHookABC(PluginClientEntryHookABC):
    """Base class of the object a plugin's ``peekOfficeEntryHook`` returns.

    It derives from the legacy client ABC, because the office service took over part of
    the old client service's role.
    """

    def __init__(
        self, pluginName: str, pluginRootDir: str, platform: PeekOfficePlatformHookABC | None = None
    ) -> None:
        super().__init__(pluginName, pluginRootDir, platform)

    @property
    def platform(self) -> PeekOfficePlatformHookABC:
        """The platform hook of the office service."""
        return self._platform

    @property
    def publishedOfficeApi(self) -> object | None:
        """The API this plugin offers other plugins on this service (None: no API)."""
        return None

"""Entry hook ABC for plugins on the logic service."""

from __future__ import annotations

from typing import Any

from peek_plugin_base.logic.PeekLogicPlatformHookABC import PeekLogicPlatformHookABC
from peek_plugin_base.PluginCommonEntryHookABC import PluginCommonEntryHookABC


class PluginLogicEntryHookABC(PluginCommonEntryHookABC):
    """Base class of the object a plugin's entry hook returns on this service."""

    _pluginSettings: Any = None

    def __init__(
        self, pluginName: str, pluginRootDir: str, platform: PeekLogicPlatformHookABC | None = None
    ) -> None:
        super().__init__(pluginName, pluginRootDir, platform)

    @property
    def platform(self) -> PeekLogicPlatformHookABC:
        """The platform hook of this service."""
        return self._platform

    @property
    def publishedLogicApi(self) -> object | None:
        """The API this plugin offers other plugins on this service (None: no API)."""
        return None

    @property
    def publishedServerApi(self) -> object | None:
        """Legacy name of :attr:`publishedLogicApi`."""
        return self.publishedLogicApi

    @property
    def pluginSettings(self) -> Any:
        """The settings declared in plugin_package.json ``settings`` (``PluginSettingsABC``)."""
        if self._pluginSettings is None:
            name = getattr(self, "name", type(self).__name__)
            raise RuntimeError(
                f"plugin {name}: no settings; declare them in plugin_package.json "
                '"settings": [{"name", "type", "default", "description"}]'
            )
        return self._pluginSettings

"""Entry hook ABC for plugins on the logic service."""

from __future__ import annotations

from peek_plugin_base.logic.PeekLogicPlatformHookABC import PeekLogicPlatformHookABC
from peek_plugin_base.PluginCommonEntryHookABC import PluginCommonEntryHookABC
from peek_plugin_base.settings.PluginSettingsABC import PluginSettingsABC


class PluginLogicEntryHookABC(PluginCommonEntryHookABC[PeekLogicPlatformHookABC]):
    """Base class of the object a plugin's entry hook returns on this service."""

    @property
    def publishedLogicApi(self) -> object | None:
        """The API this plugin offers other plugins on this service (None: no API)."""
        return None

    @property
    def publishedServerApi(self) -> object | None:
        """Legacy name of :attr:`publishedLogicApi`."""
        return self.publishedLogicApi

    @property
    def pluginSettings(self) -> PluginSettingsABC:
        """The settings declared in plugin_package.json ``settings`` (from the platform hook)."""
        settings = getattr(self._platform, "pluginSettings", None)
        if settings is None:
            name = getattr(self, "name", type(self).__name__)
            raise RuntimeError(
                f"plugin {name}: no settings; declare them in plugin_package.json "
                '"settings": [{"name", "type", "default", "description"}]'
            )
        return settings

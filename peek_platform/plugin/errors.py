"""Errors raised about one plugin; they always name the plugin they concern."""

from __future__ import annotations


class PluginError(Exception):
    """Something is wrong with plugin ``pluginName``; ``message`` says what and what to do."""

    def __init__(self, pluginName: str, message: str) -> None:
        super().__init__(pluginName, message)
        self.pluginName = pluginName
        self.message = message

    def __str__(self) -> str:
        return f"{self.pluginName}: {self.message}"


class PluginValidationError(PluginError):
    """The plugin package breaks the contract (plugin_package.json, entry hook, version)."""


class PluginDependencyError(PluginError):
    """The plugin's ``requiresPlugins`` cannot be satisfied (missing, failed or cyclic)."""


class PluginControlError(PluginError):
    """A runtime enable, disable or restart of the plugin cannot be done; nothing changed."""


class PluginNotHereError(PluginControlError):
    """The plugin is not enabled on this service, or does not run on it."""

"""Legacy name of the logic storage mixin."""

from peek_plugin_base.logic.PluginLogicStorageEntryHookABC import (
    PluginLogicStorageEntryHookABC as PluginServerStorageEntryHookABC,
)

__all__ = ["PluginServerStorageEntryHookABC"]

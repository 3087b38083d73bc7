"""Legacy name of the logic entry hook ABC."""

from peek_plugin_base.logic.PluginLogicEntryHookABC import (
    PluginLogicEntryHookABC as PluginServerEntryHookABC,
)

__all__ = ["PluginServerEntryHookABC"]

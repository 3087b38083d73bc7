"""Legacy name of the logic worker mixin."""

from peek_plugin_base.logic.PluginLogicWorkerEntryHookABC import (
    PluginLogicWorkerEntryHookABC as PluginServerWorkerEntryHookABC,
)

__all__ = ["PluginServerWorkerEntryHookABC"]

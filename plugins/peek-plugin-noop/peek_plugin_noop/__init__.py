"""Noop plugin: a small Peek plugin that runs on every service and uses every platform feature.

Each service imports this package and calls its entry-hook function to get the class that
runs the plugin there. The functions import that class only when called, so a service
loads no code of the other services.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peek_plugin_base.agent.PluginAgentEntryHookABC import PluginAgentEntryHookABC
    from peek_plugin_base.field.PluginFieldEntryHookABC import PluginFieldEntryHookABC
    from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC
    from peek_plugin_base.office.PluginOfficeEntryHookABC import PluginOfficeEntryHookABC
    from peek_plugin_base.worker.PluginWorkerEntryHookABC import PluginWorkerEntryHookABC

#: Keep in step with ``plugin.version`` in plugin_package.json.
__version__ = "0.1.0"


def peekLogicEntryHook() -> type[PluginLogicEntryHookABC]:
    """Return the class that runs this plugin on the logic service."""
    from peek_plugin_noop._private.logic.LogicEntryHook import LogicEntryHook

    return LogicEntryHook


def peekFieldEntryHook() -> type[PluginFieldEntryHookABC]:
    """Return the class that runs this plugin on the field service."""
    from peek_plugin_noop._private.field.FieldEntryHook import FieldEntryHook

    return FieldEntryHook


def peekOfficeEntryHook() -> type[PluginOfficeEntryHookABC]:
    """Return the class that runs this plugin on the office service."""
    from peek_plugin_noop._private.office.OfficeEntryHook import OfficeEntryHook

    return OfficeEntryHook


def peekAgentEntryHook() -> type[PluginAgentEntryHookABC]:
    """Return the class that runs this plugin on the agent service."""
    from peek_plugin_noop._private.agent.AgentEntryHook import AgentEntryHook

    return AgentEntryHook


def peekWorkerEntryHook() -> type[PluginWorkerEntryHookABC]:
    """Return the class that runs this plugin on the worker service."""
    from peek_plugin_noop._private.worker.WorkerEntryHook import WorkerEntryHook

    return WorkerEntryHook

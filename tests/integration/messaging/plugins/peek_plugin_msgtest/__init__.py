"""Messaging test plugin: RPC, observables and actions across real Peek service processes.

Used by ``tests/integration/messaging``; each service imports only its own entry hook.
"""

from __future__ import annotations

from typing import Any


def peekLogicEntryHook() -> type[Any]:
    """The class that runs this plugin on logic: RPCs, the observable, the action processor."""
    from peek_plugin_msgtest._private.logic.LogicEntryHook import LogicEntryHook

    return LogicEntryHook


def peekFieldEntryHook() -> type[Any]:
    """The class that runs this plugin on field: device proxies and a local processor."""
    from peek_plugin_msgtest._private.field.DeviceServiceEntryHook import FieldEntryHook

    return FieldEntryHook


def peekOfficeEntryHook() -> type[Any]:
    """The class that runs this plugin on office: the same device proxies as field."""
    from peek_plugin_msgtest._private.field.DeviceServiceEntryHook import OfficeEntryHook

    return OfficeEntryHook


def peekAgentEntryHook() -> type[Any]:
    """The class that runs this plugin on the agent: RPCs that logic calls."""
    from peek_plugin_msgtest._private.agent.AgentEntryHook import AgentEntryHook

    return AgentEntryHook

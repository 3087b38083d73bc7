"""Entry hook ABC for plugins on the agent service."""

from __future__ import annotations

from peek_plugin_base.agent.PeekAgentPlatformHookABC import PeekAgentPlatformHookABC
from peek_plugin_base.PluginCommonEntryHookABC import PluginCommonEntryHookABC


class PluginAgentEntryHookABC(PluginCommonEntryHookABC[PeekAgentPlatformHookABC]):
    """Base class of the object a plugin's entry hook returns on this service."""

    @property
    def publishedAgentApi(self) -> object | None:
        """The API this plugin offers other plugins on this service (None: no API)."""
        return None

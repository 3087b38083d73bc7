"""Entry hook ABC for plugins on the field service."""

from __future__ import annotations

from peek_plugin_base.client.PluginClientEntryHookABC import PluginClientEntryHookABC
from peek_plugin_base.field.PeekFieldPlatformHookABC import PeekFieldPlatformHookABC


class PluginFieldEntryHookABC(PluginClientEntryHookABC[PeekFieldPlatformHookABC]):
    """Base class of the object a plugin's ``peekFieldEntryHook`` returns.

    It derives from the legacy client ABC, because the field service took over part of
    the old client service's role.
    """

    @property
    def publishedFieldApi(self) -> object | None:
        """The API this plugin offers other plugins on this service (None: no API)."""
        return None

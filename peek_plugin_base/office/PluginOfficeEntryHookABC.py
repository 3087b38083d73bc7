"""Entry hook ABC for plugins on the office service."""

from __future__ import annotations

from peek_plugin_base.client.PluginClientEntryHookABC import PluginClientEntryHookABC
from peek_plugin_base.office.PeekOfficePlatformHookABC import PeekOfficePlatformHookABC


class PluginOfficeEntryHookABC(PluginClientEntryHookABC[PeekOfficePlatformHookABC]):
    """Base class of the object a plugin's ``peekOfficeEntryHook`` returns.

    It derives from the legacy client ABC, because the office service took over part of
    the old client service's role.
    """

    @property
    def publishedOfficeApi(self) -> object | None:
        """The API this plugin offers other plugins on this service (None: no API)."""
        return None

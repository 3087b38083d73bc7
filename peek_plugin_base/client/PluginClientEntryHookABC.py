"""Legacy entry hook ABC for plugins on the client service (loads on field and office)."""

from __future__ import annotations

from typing_extensions import TypeVar

from peek_plugin_base.client.PeekClientPlatformHookABC import PeekClientPlatformHookABC
from peek_plugin_base.PeekPlatformCommonHookABC import PeekPlatformCommonHookABC
from peek_plugin_base.PluginCommonEntryHookABC import PluginCommonEntryHookABC

#: The platform hook type: ``PeekClientPlatformHookABC`` for a legacy client plugin; the
#: field and office ABCs derive from this class with their own hook types.
ClientPlatformHookT = TypeVar(
    "ClientPlatformHookT",
    bound=PeekPlatformCommonHookABC,
    covariant=True,
    default=PeekClientPlatformHookABC,
)


class PluginClientEntryHookABC(PluginCommonEntryHookABC[ClientPlatformHookT]):
    """Base class of the object a plugin's entry hook returns on this service."""

    @property
    def publishedClientApi(self) -> object | None:
        """The API this plugin offers other plugins on this service (None: no API)."""
        return None

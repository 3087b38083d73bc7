"""Legacy platform hook of the client service; field and office implement it."""

from __future__ import annotations

from peek_plugin_base.client.PeekPlatformDesktopHttpHookABC import PeekPlatformDesktopHttpHookABC
from peek_plugin_base.client.PeekPlatformMobileHttpHookABC import PeekPlatformMobileHttpHookABC
from peek_plugin_base.PeekPlatformCommonHookABC import PeekPlatformCommonHookABC
from peek_plugin_base.PeekPlatformFileStorageHookABC import PeekPlatformFileStorageHookABC
from peek_plugin_base.PeekPlatformServerInfoHookABC import PeekPlatformServerInfoHookABC


class PeekClientPlatformHookABC(
    PeekPlatformCommonHookABC,
    PeekPlatformMobileHttpHookABC,
    PeekPlatformDesktopHttpHookABC,
    PeekPlatformServerInfoHookABC,
    PeekPlatformFileStorageHookABC,
):
    """Everything the platform offers plugins on the client service."""

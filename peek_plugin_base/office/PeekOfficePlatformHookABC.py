"""Platform hook of the office service."""

from __future__ import annotations

from peek_plugin_base.office.PeekPlatformOfficeHttpHookABC import PeekPlatformOfficeHttpHookABC
from peek_plugin_base.PeekPlatformCommonHookABC import PeekPlatformCommonHookABC
from peek_plugin_base.PeekPlatformFileStorageHookABC import PeekPlatformFileStorageHookABC
from peek_plugin_base.PeekPlatformServerInfoHookABC import PeekPlatformServerInfoHookABC


class PeekOfficePlatformHookABC(
    PeekPlatformCommonHookABC,
    PeekPlatformOfficeHttpHookABC,
    PeekPlatformServerInfoHookABC,
    PeekPlatformFileStorageHookABC,
):
    """Everything the platform offers plugins on the office service."""

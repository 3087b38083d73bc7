"""Platform hook of the agent service."""

from __future__ import annotations

from peek_plugin_base.PeekPlatformCommonHookABC import PeekPlatformCommonHookABC
from peek_plugin_base.PeekPlatformFileStorageHookABC import PeekPlatformFileStorageHookABC
from peek_plugin_base.PeekPlatformServerInfoHookABC import PeekPlatformServerInfoHookABC


class PeekAgentPlatformHookABC(
    PeekPlatformCommonHookABC,
    PeekPlatformServerInfoHookABC,
    PeekPlatformFileStorageHookABC,
):
    """Everything the platform offers plugins on the agent service."""

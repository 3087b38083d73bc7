"""Platform hook of the field service."""

from __future__ import annotations

from peek_plugin_base.field.PeekPlatformFieldHttpHookABC import PeekPlatformFieldHttpHookABC
from peek_plugin_base.PeekPlatformCommonHookABC import PeekPlatformCommonHookABC
from peek_plugin_base.PeekPlatformFileStorageHookABC import PeekPlatformFileStorageHookABC
from peek_plugin_base.PeekPlatformServerInfoHookABC import PeekPlatformServerInfoHookABC


class PeekFieldPlatformHookABC(
    PeekPlatformCommonHookABC,
    PeekPlatformFieldHttpHookABC,
    PeekPlatformServerInfoHookABC,
    PeekPlatformFileStorageHookABC,
):
    """Everything the platform offers plugins on the field service."""

"""Legacy import path of the admin site hook."""

from peek_plugin_base.logic.PeekPlatformAdminHttpHookABC import PeekPlatformAdminHttpHookABC

__all__ = ["PeekPlatformAdminHttpHookABC"]

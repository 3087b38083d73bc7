"""Legacy name of the logic platform hook."""

from peek_plugin_base.logic.PeekLogicPlatformHookABC import (
    PeekLogicPlatformHookABC as PeekServerPlatformHookABC,
)

__all__ = ["PeekServerPlatformHookABC"]

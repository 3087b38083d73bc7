"""Platform hook of the logic service."""

from __future__ import annotations

from abc import abstractmethod

from peek_plugin_base.logic.PeekPlatformAdminHttpHookABC import PeekPlatformAdminHttpHookABC
from peek_plugin_base.PeekPlatformCommonHookABC import PeekPlatformCommonHookABC
from peek_plugin_base.PeekPlatformFileStorageHookABC import PeekPlatformFileStorageHookABC
from peek_plugin_base.server.PeekPlatformServerHttpHookABC import PeekPlatformServerHttpHookABC


class PeekLogicPlatformHookABC(
    PeekPlatformCommonHookABC,
    PeekPlatformAdminHttpHookABC,
    PeekPlatformServerHttpHookABC,
    PeekPlatformFileStorageHookABC,
):
    """Everything the platform offers plugins on the logic service."""

    @property
    @abstractmethod
    def dbConnectString(self) -> str:
        """The SQLAlchemy URL of the platform database."""

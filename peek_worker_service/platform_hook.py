"""The platform hook plugins receive on the worker service."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from peek_platform.config import ConfigLookup
from peek_platform.platform_hook import ConfigServerInfoHook, PlatformHookBase
from peek_platform.services import WORKER
from peek_plugin_base.worker.PeekWorkerPlatformHookABC import PeekWorkerPlatformHookABC

if TYPE_CHECKING:
    from peek_platform.plugin.loader import PluginLoader


class WorkerPlatformHook(PlatformHookBase, ConfigServerInfoHook, PeekWorkerPlatformHookABC):
    """Plugin API lookup, file storage and the logic service's location; no web site."""

    def __init__(
        self, home: Path, config: ConfigLookup, pluginName: str, loader: PluginLoader
    ) -> None:
        super().__init__(WORKER, home, config, pluginName, loader)

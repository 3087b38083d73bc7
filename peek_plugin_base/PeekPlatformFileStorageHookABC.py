"""Per-plugin managed directory on the file system."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from pathlib import Path


class PeekPlatformFileStorageHookABC(metaclass=ABCMeta):
    """Gives each plugin a directory of its own: ``<home>/plugin_data/<pluginName>``."""

    @property
    @abstractmethod
    def fileStorageDirectory(self) -> Path:
        """The plugin's storage directory, created on first use."""

"""Hook for plugins to add resources to the field site (port 8000)."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any


class PeekPlatformFieldHttpHookABC(metaclass=ABCMeta):
    """Resources a plugin serves on the field site (port 8000), under ``/<pluginName>/``."""

    @abstractmethod
    def addFieldResource(self, pluginSubPath: bytes, resource: Any) -> None:
        """Serve ``resource`` (a twisted.web resource) at ``/<pluginName>/<pluginSubPath>``."""

    @abstractmethod
    def addFieldStaticResourceDir(self, dir: str) -> None:
        """Serve the files of directory ``dir`` at ``/<pluginName>/``."""

    @property
    @abstractmethod
    def rootFieldResource(self) -> Any:
        """The plugin's root resource on this site."""

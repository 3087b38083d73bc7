"""Hook for plugins to add resources to the legacy desktop site (the office site)."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any


class PeekPlatformDesktopHttpHookABC(metaclass=ABCMeta):
    """Resources a plugin serves on the office site, under ``/<pluginName>/``."""

    @abstractmethod
    def addDesktopResource(self, pluginSubPath: bytes, resource: Any) -> None:
        """Serve ``resource`` (a twisted.web resource) at ``/<pluginName>/<pluginSubPath>``."""

    @abstractmethod
    def addDesktopStaticResourceDir(self, dir: str) -> None:
        """Serve the files of directory ``dir`` at ``/<pluginName>/``."""

    @property
    @abstractmethod
    def rootDesktopResource(self) -> Any:
        """The plugin's root resource on this site."""

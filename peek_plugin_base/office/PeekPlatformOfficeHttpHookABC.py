"""Hook for plugins to add resources to the office site (port 8002)."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any


class PeekPlatformOfficeHttpHookABC(metaclass=ABCMeta):
    """Resources a plugin serves on the office site (port 8002), under ``/<pluginName>/``."""

    @abstractmethod
    def addOfficeResource(self, pluginSubPath: bytes, resource: Any) -> None:
        """Serve ``resource`` (a twisted.web resource) at ``/<pluginName>/<pluginSubPath>``."""

    @abstractmethod
    def addOfficeStaticResourceDir(self, dir: str) -> None:
        """Serve the files of directory ``dir`` at ``/<pluginName>/``."""

    @property
    @abstractmethod
    def rootOfficeResource(self) -> Any:
        """The plugin's root resource on this site."""

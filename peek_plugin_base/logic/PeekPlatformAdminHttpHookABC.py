"""Hook for plugins to add resources to the admin site (logic service, port 8010)."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any


class PeekPlatformAdminHttpHookABC(metaclass=ABCMeta):
    """Resources a plugin serves on the admin site, under ``/<pluginName>/``."""

    @abstractmethod
    def addAdminResource(self, pluginSubPath: bytes, resource: Any) -> None:
        """Serve ``resource`` (a twisted.web resource) at ``/<pluginName>/<pluginSubPath>``."""

    @abstractmethod
    def addAdminStaticResourceDir(self, dir: str) -> None:
        """Serve the files of directory ``dir`` at ``/<pluginName>/``."""

    @property
    @abstractmethod
    def rootAdminResource(self) -> Any:
        """The plugin's root resource on this site."""

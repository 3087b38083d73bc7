"""Hook for plugins to add resources to the legacy mobile site (the field site)."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any


class PeekPlatformMobileHttpHookABC(metaclass=ABCMeta):
    """Resources a plugin serves on the field site, under ``/<pluginName>/``."""

    @abstractmethod
    def addMobileResource(self, pluginSubPath: bytes, resource: Any) -> None:
        """Serve ``resource`` (a twisted.web resource) at ``/<pluginName>/<pluginSubPath>``."""

    @abstractmethod
    def addMobileStaticResourceDir(self, dir: str) -> None:
        """Serve the files of directory ``dir`` at ``/<pluginName>/``."""

    @property
    @abstractmethod
    def rootMobileResource(self) -> Any:
        """The plugin's root resource on this site."""

"""Hook for plugins to add resources to the logic service's dataExchange site."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any


class PeekPlatformLogicHttpHookABC(metaclass=ABCMeta):
    """Resources a plugin serves on the dataExchange site, under ``/<pluginName>/``."""

    @abstractmethod
    def addLogicResource(self, pluginSubPath: bytes, resource: Any) -> None:
        """Serve ``resource`` (a twisted.web resource) at ``/<pluginName>/<pluginSubPath>``."""

    @abstractmethod
    def addLogicStaticResourceDir(self, dir: str) -> None:
        """Serve the files of directory ``dir`` at ``/<pluginName>/``."""

    @property
    @abstractmethod
    def rootLogicResource(self) -> Any:
        """The plugin's root resource on this site."""

"""Where the logic service is, for services that link to it."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod


class PeekPlatformServerInfoHookABC(metaclass=ABCMeta):
    """Host and port of the logic service's inter-service (dataExchange) site."""

    @property
    @abstractmethod
    def peekLogicHost(self) -> str:
        """Host name or address of the logic service."""

    @property
    @abstractmethod
    def peekLogicHttpPort(self) -> int:
        """TCP port of the logic service's dataExchange site (not the admin site)."""

    @property
    def peekServerHost(self) -> str:
        """Legacy name of :attr:`peekLogicHost`."""
        return self.peekLogicHost

    @property
    def peekServerHttpPort(self) -> int:
        """Legacy name of :attr:`peekLogicHttpPort`."""
        return self.peekLogicHttpPort

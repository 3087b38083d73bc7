"""What every service's platform hook offers a plugin."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod


class PeekPlatformCommonHookABC(metaclass=ABCMeta):
    """Cross-plugin API lookup and the identity of the running service."""

    @abstractmethod
    def getOtherPluginApi(self, pluginName: str) -> object | None:
        """Return the API another plugin publishes on this service, or None."""

    @property
    @abstractmethod
    def serviceId(self) -> str:
        """A unique identifier of this service process (stable for its lifetime)."""

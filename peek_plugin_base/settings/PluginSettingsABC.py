"""What a logic plugin gets to read and write its declared settings."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

from twisted.internet.defer import Deferred

from peek_plugin_base.settings.PluginSetting import PluginSetting


class PluginSettingsABC(metaclass=ABCMeta):
    """A plugin's settings; the Deferred methods are safe on the reactor thread."""

    @property
    @abstractmethod
    def declarations(self) -> tuple[PluginSetting, ...]:
        """The settings the plugin declared in its plugin_package.json."""

    @abstractmethod
    def get(self, name: str) -> Deferred[Any]:
        """Deferred of the current value of ``name`` (its default until one is written)."""

    @abstractmethod
    def set(self, name: str, value: Any) -> Deferred[None]:
        """Store ``value`` for ``name``; fails with ``PluginSettingError`` on a wrong type."""

    @abstractmethod
    def getBlocking(self, name: str) -> Any:
        """Current value of ``name``; for use in threads only (never the reactor thread)."""

    @abstractmethod
    def setBlocking(self, name: str, value: Any) -> None:
        """Store ``value`` for ``name``; for use in threads only (never the reactor thread)."""

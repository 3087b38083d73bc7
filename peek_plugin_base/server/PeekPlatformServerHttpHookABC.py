"""Legacy name of the logic dataExchange site hook (``addServerResource`` → logic site)."""

from __future__ import annotations

from typing import Any

from peek_plugin_base.logic.PeekPlatformLogicHttpHookABC import PeekPlatformLogicHttpHookABC


class PeekPlatformServerHttpHookABC(PeekPlatformLogicHttpHookABC):
    """The manual's method names, forwarding to the modern ``...Logic...`` ones."""

    def addServerResource(self, pluginSubPath: bytes, resource: Any) -> None:
        """Legacy name of :meth:`addLogicResource`."""
        self.addLogicResource(pluginSubPath, resource)

    def addServerStaticResourceDir(self, dir: str) -> None:
        """Legacy name of :meth:`addLogicStaticResourceDir`."""
        self.addLogicStaticResourceDir(dir)

    @property
    def rootServerResource(self) -> Any:
        """Legacy name of :attr:`rootLogicResource`."""
        return self.rootLogicResource

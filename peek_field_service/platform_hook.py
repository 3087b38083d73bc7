"""The platform hook plugins receive on the field service."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peek_platform.http.plugin_resources import PluginSiteResource, SiteResources
from peek_platform.platform_hook import ConfigServerInfoHook, PlatformHookBase
from peek_platform.services import FIELD
from peek_plugin_base.client.PeekClientPlatformHookABC import PeekClientPlatformHookABC
from peek_plugin_base.field.PeekFieldPlatformHookABC import PeekFieldPlatformHookABC

if TYPE_CHECKING:
    from peek_platform.plugin.loader import PluginLoader


class FieldPlatformHook(
    PlatformHookBase, ConfigServerInfoHook, PeekFieldPlatformHookABC, PeekClientPlatformHookABC
):
    """Field site resources; the legacy mobile names map to it, desktop ones are ignored."""

    def __init__(
        self,
        home: Path,
        config: Mapping[str, Any],
        pluginName: str,
        loader: PluginLoader,
        *,
        fieldSite: SiteResources,
    ) -> None:
        super().__init__(FIELD, home, config, pluginName, loader)
        self._fieldSite = fieldSite

    def addFieldResource(self, pluginSubPath: bytes, resource: Any) -> None:
        """Serve ``resource`` at ``/<pluginName>/<pluginSubPath>`` on the field site."""
        self._siteRoot(self._fieldSite).addResource(pluginSubPath, resource)

    def addFieldStaticResourceDir(self, dir: str) -> None:
        """Serve directory ``dir`` at ``/<pluginName>/`` on the field site."""
        self._siteRoot(self._fieldSite).addStaticResourceDir(dir)

    @property
    def rootFieldResource(self) -> PluginSiteResource:
        """The plugin's tree on the field site."""
        return self._siteRoot(self._fieldSite)

    def addMobileResource(self, pluginSubPath: bytes, resource: Any) -> None:
        """Legacy name of :meth:`addFieldResource`."""
        self.addFieldResource(pluginSubPath, resource)

    def addMobileStaticResourceDir(self, dir: str) -> None:
        """Legacy name of :meth:`addFieldStaticResourceDir`."""
        self.addFieldStaticResourceDir(dir)

    @property
    def rootMobileResource(self) -> PluginSiteResource:
        """Legacy name of :attr:`rootFieldResource`."""
        return self.rootFieldResource

    def addDesktopResource(self, pluginSubPath: bytes, resource: Any) -> None:
        """Accepted and not served: the office service serves desktop resources."""
        self._foreignSiteRoot("desktop", "office")

    def addDesktopStaticResourceDir(self, dir: str) -> None:
        """Accepted and not served: the office service serves desktop resources."""
        self._foreignSiteRoot("desktop", "office")

    @property
    def rootDesktopResource(self) -> PluginSiteResource:
        """A detached tree: the office service serves desktop resources."""
        return self._foreignSiteRoot("desktop", "office")

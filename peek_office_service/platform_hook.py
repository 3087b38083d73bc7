"""The platform hook plugins receive on the office service."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peek_platform.http.plugin_resources import PluginSiteResource, SiteResources
from peek_platform.platform_hook import ConfigServerInfoHook, PlatformHookBase
from peek_platform.services import OFFICE
from peek_plugin_base.client.PeekClientPlatformHookABC import PeekClientPlatformHookABC
from peek_plugin_base.office.PeekOfficePlatformHookABC import PeekOfficePlatformHookABC

if TYPE_CHECKING:
    from peek_platform.plugin.loader import PluginLoader


class OfficePlatformHook(
    PlatformHookBase, ConfigServerInfoHook, PeekOfficePlatformHookABC, PeekClientPlatformHookABC
):
    """Office site resources; the legacy desktop names map to it, mobile ones are ignored."""

    def __init__(
        self,
        home: Path,
        config: Mapping[str, Any],
        pluginName: str,
        loader: PluginLoader,
        *,
        officeSite: SiteResources,
    ) -> None:
        super().__init__(OFFICE, home, config, pluginName, loader)
        self._officeSite = officeSite

    def addOfficeResource(self, pluginSubPath: bytes, resource: Any) -> None:
        """Serve ``resource`` at ``/<pluginName>/<pluginSubPath>`` on the office site."""
        self._siteRoot(self._officeSite).addResource(pluginSubPath, resource)

    def addOfficeStaticResourceDir(self, dir: str) -> None:
        """Serve directory ``dir`` at ``/<pluginName>/`` on the office site."""
        self._siteRoot(self._officeSite).addStaticResourceDir(dir)

    @property
    def rootOfficeResource(self) -> PluginSiteResource:
        """The plugin's tree on the office site."""
        return self._siteRoot(self._officeSite)

    def addDesktopResource(self, pluginSubPath: bytes, resource: Any) -> None:
        """Legacy name of :meth:`addOfficeResource`."""
        self.addOfficeResource(pluginSubPath, resource)

    def addDesktopStaticResourceDir(self, dir: str) -> None:
        """Legacy name of :meth:`addOfficeStaticResourceDir`."""
        self.addOfficeStaticResourceDir(dir)

    @property
    def rootDesktopResource(self) -> PluginSiteResource:
        """Legacy name of :attr:`rootOfficeResource`."""
        return self.rootOfficeResource

    def addMobileResource(self, pluginSubPath: bytes, resource: Any) -> None:
        """Accepted and not served: the field service serves mobile resources."""
        self._foreignSiteRoot("mobile", "field")

    def addMobileStaticResourceDir(self, dir: str) -> None:
        """Accepted and not served: the field service serves mobile resources."""
        self._foreignSiteRoot("mobile", "field")

    @property
    def rootMobileResource(self) -> PluginSiteResource:
        """A detached tree: the field service serves mobile resources."""
        return self._foreignSiteRoot("mobile", "field")

"""The platform hook plugins receive on the office service."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from peek_platform.app_site_hook import (
    AppSitePlatformHook,
    ignoredSiteMethods,
    siteResourceMethods,
)
from peek_platform.config import ConfigLookup
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.services import OFFICE
from peek_plugin_base.office.PeekOfficePlatformHookABC import PeekOfficePlatformHookABC

if TYPE_CHECKING:
    from peek_platform.plugin.loader import PluginLoader


class OfficePlatformHook(AppSitePlatformHook, PeekOfficePlatformHookABC):
    """Office site resources; the legacy desktop names map to it, mobile ones are ignored."""

    def __init__(
        self,
        home: Path,
        config: ConfigLookup,
        pluginName: str,
        loader: PluginLoader,
        *,
        officeSite: SiteResources,
    ) -> None:
        super().__init__(OFFICE, home, config, pluginName, loader, officeSite)

    addOfficeResource, addOfficeStaticResourceDir, rootOfficeResource = siteResourceMethods(
        "_appSite", "office"
    )
    addDesktopResource, addDesktopStaticResourceDir, rootDesktopResource = siteResourceMethods(
        "_appSite", "office", legacyName="desktop"
    )
    addMobileResource, addMobileStaticResourceDir, rootMobileResource = ignoredSiteMethods(
        "mobile", "field"
    )

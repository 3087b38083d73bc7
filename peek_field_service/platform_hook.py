"""The platform hook plugins receive on the field service."""

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
from peek_platform.services import FIELD
from peek_plugin_base.field.PeekFieldPlatformHookABC import PeekFieldPlatformHookABC

if TYPE_CHECKING:
    from peek_platform.plugin.loader import PluginLoader


class FieldPlatformHook(AppSitePlatformHook, PeekFieldPlatformHookABC):
    """Field site resources; the legacy mobile names map to it, desktop ones are ignored."""

    def __init__(
        self,
        home: Path,
        config: ConfigLookup,
        pluginName: str,
        loader: PluginLoader,
        *,
        fieldSite: SiteResources,
    ) -> None:
        super().__init__(FIELD, home, config, pluginName, loader, fieldSite)

    addFieldResource, addFieldStaticResourceDir, rootFieldResource = siteResourceMethods(
        "_appSite", "field"
    )
    addMobileResource, addMobileStaticResourceDir, rootMobileResource = siteResourceMethods(
        "_appSite", "field", legacyName="mobile"
    )
    addDesktopResource, addDesktopStaticResourceDir, rootDesktopResource = ignoredSiteMethods(
        "desktop", "office"
    )

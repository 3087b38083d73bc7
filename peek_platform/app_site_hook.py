"""Site-resource methods of the platform hooks, built once per site instead of copied.

Every ``add<Site>Resource`` / ``add<Site>StaticResourceDir`` / ``root<Site>Resource`` trio
of the logic, field and office hooks does the same thing on a different site tree, and a
client service accepts (and ignores) the trio of the site the other client service serves.
:func:`siteResourceMethods` and :func:`ignoredSiteMethods` build those trios;
:class:`AppSitePlatformHook` is the shared base of the field and office hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peek_platform.config import ConfigLookup
from peek_platform.http.plugin_resources import PluginSiteResource, SiteResources
from peek_platform.platform_hook import ConfigServerInfoHook, PlatformHookBase
from peek_platform.services import ServiceSpec
from peek_plugin_base.client.PeekClientPlatformHookABC import PeekClientPlatformHookABC

if TYPE_CHECKING:
    from peek_platform.plugin.loader import PluginLoader

#: ``(addResource, addStaticResourceDir, rootResource)`` of one site, for a class body.
SiteMethods = tuple[Callable[..., None], Callable[..., None], property]


def siteResourceMethods(siteAttribute: str, siteName: str, legacyName: str = "") -> SiteMethods:
    """The trio serving on the ``SiteResources`` held in ``self.<siteAttribute>``.

    ``legacyName`` (e.g. ``"mobile"``) only changes the docstrings, for the manual's names.
    """
    where = f"the {siteName} site" + (f" (legacy name: {legacyName})" if legacyName else "")

    def addResource(self: PlatformHookBase, pluginSubPath: bytes, resource: Any) -> None:
        self._siteRoot(getattr(self, siteAttribute)).addResource(pluginSubPath, resource)

    def addStaticResourceDir(self: PlatformHookBase, dir: str) -> None:
        self._siteRoot(getattr(self, siteAttribute)).addStaticResourceDir(dir)

    def rootResource(self: PlatformHookBase) -> PluginSiteResource:
        return self._siteRoot(getattr(self, siteAttribute))

    addResource.__doc__ = f"Serve ``resource`` at ``/<pluginName>/<pluginSubPath>`` on {where}."
    addStaticResourceDir.__doc__ = f"Serve directory ``dir`` at ``/<pluginName>/`` on {where}."
    rootResource.__doc__ = f"The plugin's tree on {where}."
    return addResource, addStaticResourceDir, property(rootResource)


def ignoredSiteMethods(legacyName: str, servingService: str) -> SiteMethods:
    """The trio of a site another service serves: accepted, not served, logged once."""
    reason = f"the {servingService} service serves {legacyName} resources"

    def addResource(self: PlatformHookBase, pluginSubPath: bytes, resource: Any) -> None:
        self._foreignSiteRoot(legacyName, servingService)

    def addStaticResourceDir(self: PlatformHookBase, dir: str) -> None:
        self._foreignSiteRoot(legacyName, servingService)

    def rootResource(self: PlatformHookBase) -> PluginSiteResource:
        return self._foreignSiteRoot(legacyName, servingService)

    addResource.__doc__ = f"Accepted and not served: {reason}."
    addStaticResourceDir.__doc__ = f"Accepted and not served: {reason}."
    rootResource.__doc__ = f"A detached tree: {reason}."
    return addResource, addStaticResourceDir, property(rootResource)


class AppSitePlatformHook(PlatformHookBase, ConfigServerInfoHook, PeekClientPlatformHookABC):
    """Hook of a service serving one app site (field, office) and the logic location."""

    def __init__(
        self,
        spec: ServiceSpec,
        home: Path,
        config: ConfigLookup,
        pluginName: str,
        loader: PluginLoader,
        appSite: SiteResources,
    ) -> None:
        super().__init__(spec, home, config, pluginName, loader)
        self._appSite = appSite

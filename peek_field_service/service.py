"""The field service's composition: its platform hook and extensions (``peek.services``)."""

from __future__ import annotations

from peek_field_service.platform_hook import FieldPlatformHook
from peek_platform.process import ServiceComposition, ServiceContext, SiteTrees
from peek_platform.services import ServiceSpec
from peek_platform.vortex import DataExchangeClientExtension
from peek_platform.web.app_site import AppSiteExtension


def compose(spec: ServiceSpec, sites: SiteTrees) -> ServiceComposition:
    """A link to logic, then an app site for each site of the description."""
    vortex = DataExchangeClientExtension()
    appSites = [
        AppSiteExtension(site, sites[site.name], vortexFactory=lambda: vortex.factory)
        for site in spec.sites
    ]

    def platformHook(ctx: ServiceContext, pluginName: str) -> FieldPlatformHook:
        """Each plugin's hook; all share this process's field site tree."""
        assert ctx.loader is not None
        return FieldPlatformHook(
            ctx.home, ctx.config, pluginName, ctx.loader, fieldSite=sites["field"]
        )

    return ServiceComposition(platformHook=platformHook, extensions=[vortex, *appSites])

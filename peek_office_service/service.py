"""The office service's composition: its platform hook and extensions (``peek.services``)."""

from __future__ import annotations

from peek_office_service.platform_hook import OfficePlatformHook
from peek_platform.process import ServiceComposition, ServiceContext, SiteTrees
from peek_platform.services import ServiceSpec
from peek_platform.web.app_site import appServiceComposition


def compose(spec: ServiceSpec, sites: SiteTrees) -> ServiceComposition:
    """A link to logic and the office app site; each plugin's hook serves on that site."""

    def platformHook(ctx: ServiceContext, pluginName: str) -> OfficePlatformHook:
        """Each plugin's hook; all share this process's office site tree."""
        assert ctx.loader is not None
        return OfficePlatformHook(
            ctx.home, ctx.config, pluginName, ctx.loader, officeSite=sites["office"]
        )

    return appServiceComposition(spec, sites, platformHook)

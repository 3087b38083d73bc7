"""The field service's composition: its platform hook and extensions (``peek.services``)."""

from __future__ import annotations

from peek_field_service.platform_hook import FieldPlatformHook
from peek_platform.process import ServiceComposition, ServiceContext, SiteTrees
from peek_platform.services import ServiceSpec
from peek_platform.web.app_site import appServiceComposition


def compose(spec: ServiceSpec, sites: SiteTrees) -> ServiceComposition:
    """A link to logic and the field app site; each plugin's hook serves on that site."""

    def platformHook(ctx: ServiceContext, pluginName: str) -> FieldPlatformHook:
        """Each plugin's hook; all share this process's field site tree."""
        assert ctx.loader is not None
        return FieldPlatformHook(
            ctx.home, ctx.config, pluginName, ctx.loader, fieldSite=sites["field"]
        )

    return appServiceComposition(spec, sites, platformHook)

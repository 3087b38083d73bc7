"""Console entry point of the Peek field service (``run_peek_field_service``)."""

import sys

from peek_field_service.platform_hook import FieldPlatformHook
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.process import ServiceContext, runService
from peek_platform.services import FIELD
from peek_platform.vortex import DataExchangeClientExtension, runGuarded
from peek_platform.web.app_site import AppSiteExtension


def main() -> None:
    """Run the field service with the process's command line and exit with its status."""
    fieldSite = SiteResources("field")

    def platformHook(ctx: ServiceContext, pluginName: str) -> FieldPlatformHook:
        """Each plugin's hook; all share this process's field site tree."""
        return FieldPlatformHook(ctx.home, ctx.config, pluginName, ctx.loader, fieldSite=fieldSite)

    sys.exit(
        runGuarded(
            lambda: runService(
                FIELD,
                platformHookFactory=platformHook,
                extensions=[DataExchangeClientExtension(), AppSiteExtension(fieldSite)],
            )
        )
    )

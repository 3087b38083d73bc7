"""Console entry point of the Peek office service (``run_peek_office_service``)."""

import sys

from peek_office_service.platform_hook import OfficePlatformHook
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.process import ServiceContext, runService
from peek_platform.services import OFFICE
from peek_platform.vortex import DataExchangeClientExtension, runGuarded
from peek_platform.web.app_site import AppSiteExtension


def main() -> None:
    """Run the office service with the process's command line and exit with its status."""
    officeSite = SiteResources("office")

    def platformHook(ctx: ServiceContext, pluginName: str) -> OfficePlatformHook:
        """Each plugin's hook; all share this process's office site tree."""
        return OfficePlatformHook(
            ctx.home, ctx.config, pluginName, ctx.loader, officeSite=officeSite
        )

    sys.exit(
        runGuarded(
            lambda: runService(
                OFFICE,
                platformHookFactory=platformHook,
                extensions=[DataExchangeClientExtension(), AppSiteExtension(officeSite)],
            )
        )
    )

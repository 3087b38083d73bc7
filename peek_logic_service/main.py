"""Console entry point of the Peek logic service (``run_peek_logic_service``)."""

import sys

from peek_logic_service.admin.extension import AdminSiteExtension
from peek_logic_service.celery.extension import LogicCeleryExtension
from peek_logic_service.platform_hook import LogicPlatformHook
from peek_logic_service.status import PlatformStatusExtension
from peek_logic_service.storage.extension import StorageServiceExtension
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.process import ServiceContext, runService
from peek_platform.services import LOGIC
from peek_platform.vortex import DataExchangeServerExtension, runGuarded


def main() -> None:
    """Run the logic service with the process's command line and exit with its status."""
    adminSite, logicSite = SiteResources("admin"), SiteResources("logic")

    def platformHook(ctx: ServiceContext, pluginName: str) -> LogicPlatformHook:
        """Each plugin's hook; all share this process's admin and logic site trees."""
        return LogicPlatformHook(
            ctx.home,
            ctx.config,
            pluginName,
            ctx.loader,
            adminSite=adminSite,
            logicSite=logicSite,
            celery=celery,
        )

    vortex = DataExchangeServerExtension()
    celery = LogicCeleryExtension()
    # status.view is the live platform view (subscribe/snapshot) the admin site shows.
    status = PlatformStatusExtension(vortex)
    storage = StorageServiceExtension()
    sys.exit(
        runGuarded(
            lambda: runService(
                LOGIC,
                platformHookFactory=platformHook,
                extensions=[
                    vortex,
                    storage,
                    celery,
                    status,
                    AdminSiteExtension(adminSite, statusView=status.view, storage=storage),
                ],
            )
        )
    )

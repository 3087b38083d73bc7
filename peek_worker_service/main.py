"""Console entry point of the Peek worker service (``run_peek_worker_service``)."""

import sys

from peek_platform.process import ServiceContext, runService
from peek_platform.services import WORKER
from peek_platform.vortex import DataExchangeClientExtension, runGuarded
from peek_worker_service.celery_extension import WorkerCeleryExtension
from peek_worker_service.platform_hook import WorkerPlatformHook


def main() -> None:
    """Run the worker service with the process's command line and exit with its status."""

    def platformHook(ctx: ServiceContext, pluginName: str) -> WorkerPlatformHook:
        """Each plugin's hook."""
        return WorkerPlatformHook(ctx.home, ctx.config, pluginName, ctx.loader)

    sys.exit(
        runGuarded(
            lambda: runService(
                WORKER,
                platformHookFactory=platformHook,
                extensions=[DataExchangeClientExtension(), WorkerCeleryExtension()],
            )
        )
    )

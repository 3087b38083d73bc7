"""The worker service's composition: its platform hook and extensions (``peek.services``)."""

from __future__ import annotations

from peek_platform.metrics import MetricsExtension
from peek_platform.process import ServiceComposition, ServiceContext, SiteTrees
from peek_platform.services import ServiceSpec
from peek_platform.vortex import DataExchangeClientExtension
from peek_worker_service.celery_extension import WorkerCeleryExtension
from peek_worker_service.platform_hook import WorkerPlatformHook


def compose(spec: ServiceSpec, sites: SiteTrees) -> ServiceComposition:
    """A link to logic, then the supervised Celery worker child and the metrics listener."""

    def platformHook(ctx: ServiceContext, pluginName: str) -> WorkerPlatformHook:
        """Each plugin's hook."""
        assert ctx.loader is not None
        return WorkerPlatformHook(ctx.home, ctx.config, pluginName, ctx.loader)

    vortex = DataExchangeClientExtension()
    metrics = MetricsExtension(vortexFactory=lambda: vortex.factory, ownListener=True)
    return ServiceComposition(
        platformHook=platformHook,
        extensions=[vortex, WorkerCeleryExtension(), metrics],
    )

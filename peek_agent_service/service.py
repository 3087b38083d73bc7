"""The agent service's composition: its platform hook and extensions (``peek.services``)."""

from __future__ import annotations

from peek_agent_service.platform_hook import AgentPlatformHook
from peek_platform.metrics import MetricsExtension
from peek_platform.process import ServiceComposition, ServiceContext, SiteTrees
from peek_platform.services import ServiceSpec
from peek_platform.vortex import DataExchangeClientExtension


def compose(spec: ServiceSpec, sites: SiteTrees) -> ServiceComposition:
    """A link to logic; the agent serves no site, only its metrics listener."""

    def platformHook(ctx: ServiceContext, pluginName: str) -> AgentPlatformHook:
        """Each plugin's hook."""
        assert ctx.loader is not None
        return AgentPlatformHook(ctx.home, ctx.config, pluginName, ctx.loader)

    vortex = DataExchangeClientExtension()
    metrics = MetricsExtension(vortexFactory=lambda: vortex.factory, ownListener=True)
    return ServiceComposition(platformHook=platformHook, extensions=[vortex, metrics])

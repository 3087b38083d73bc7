"""Console entry point of the Peek agent service (``run_peek_agent_service``)."""

import sys

from peek_agent_service.platform_hook import AgentPlatformHook
from peek_platform.process import ServiceContext, runService
from peek_platform.services import AGENT
from peek_platform.vortex import DataExchangeClientExtension, runGuarded


def main() -> None:
    """Run the agent service with the process's command line and exit with its status."""

    def platformHook(ctx: ServiceContext, pluginName: str) -> AgentPlatformHook:
        """Each plugin's hook."""
        return AgentPlatformHook(ctx.home, ctx.config, pluginName, ctx.loader)

    sys.exit(
        runGuarded(
            lambda: runService(
                AGENT,
                platformHookFactory=platformHook,
                extensions=[DataExchangeClientExtension()],
            )
        )
    )

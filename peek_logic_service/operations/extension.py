"""Logic ``ServiceExtension`` that runs service commands across the platform (after status)."""

from __future__ import annotations

from peek_logic_service.operations.platform_commands import (
    PlatformCommandEndpoint,
    PlatformCommands,
)
from peek_logic_service.status import PlatformStatusExtension
from peek_platform.process.context import ServiceContext, ServiceExtensionBase
from peek_platform.vortex.extension import DataExchangeServerExtension
from peek_platform.vortex.service_commands import ServiceCommandClient


class PlatformCommandsExtension(ServiceExtensionBase):
    """Builds :class:`PlatformCommands` over logic's links and answers ``peek`` with it."""

    def __init__(
        self, vortex: DataExchangeServerExtension, status: PlatformStatusExtension
    ) -> None:
        self._vortex = vortex
        self._status = status
        self._client: ServiceCommandClient | None = None
        self._endpoint: PlatformCommandEndpoint | None = None
        self._commands: PlatformCommands | None = None

    @property
    def commands(self) -> PlatformCommands:
        """The platform-wide command runner (after ``startBeforePlugins``)."""
        if self._commands is None:
            raise RuntimeError("platform commands are not started: startBeforePlugins has not run")
        return self._commands

    def startBeforePlugins(self, ctx: ServiceContext) -> None:
        """Receive service answers and accept ``peek``'s requests."""
        factory = self._vortex.factory
        self._client = ServiceCommandClient(factory, ctx.reactor)
        self._client.start()
        self._commands = PlatformCommands(
            ctx.commands, self._client, self._status.view, lambda: self._vortex.identity.vortexUuid
        )
        self._endpoint = PlatformCommandEndpoint(self._commands, factory)
        self._endpoint.start()

    def stopAfterPlugins(self, ctx: ServiceContext) -> None:
        """Stop accepting requests and fail the calls still waiting."""
        if self._endpoint is not None:
            self._endpoint.stop()
            self._endpoint = None
        if self._client is not None:
            self._client.stop()
            self._client = None

"""Logic ``ServiceExtension`` that keeps the live platform status view (after the vortex)."""

from __future__ import annotations

from collections.abc import Sequence

from peek_logic_service.status.service import PlatformStatusService
from peek_logic_service.status.view import PlatformStatusView
from peek_platform.plugin.extension import LoaderExtension
from peek_platform.process.context import ServiceContext, ServiceExtensionBase
from peek_platform.vortex.extension import DataExchangeServerExtension


class PlatformStatusExtension(ServiceExtensionBase):
    """Starts the status endpoints on logic's data exchange; ``view`` exists from the start
    so the admin site can subscribe before the service runs."""

    def __init__(self, vortex: DataExchangeServerExtension) -> None:
        self._vortex = vortex
        #: The live view (``subscribe(cb)``, ``snapshot()``).
        self.view = PlatformStatusView()
        self._service: PlatformStatusService | None = None

    def startBeforePlugins(self, ctx: ServiceContext) -> None:
        """Register the endpoints; logic's own plugins are watched from now on."""
        loader = ctx.loader
        if loader is None:
            raise RuntimeError("the platform status needs the plugin loader; it is not built")
        self._service = PlatformStatusService(
            self.view,
            self._vortex.factory,
            self._vortex.identity,
            loader.statuses,
            subscribe=loader.addStatusListener,
            clock=ctx.reactor,
        )
        self._service.start()

    def loaderExtensions(self, ctx: ServiceContext) -> Sequence[LoaderExtension]:
        """No per-plugin hooks."""
        return []

    def stopAfterPlugins(self, ctx: ServiceContext) -> None:
        """Unregister the endpoints."""
        if self._service is not None:
            self._service.stop()
            self._service = None

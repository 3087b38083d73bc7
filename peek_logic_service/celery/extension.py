"""The logic service's Celery extension: configure the app and run the task submitter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from celery import Celery
from twisted.internet.defer import Deferred

from peek_logic_service.celery.submitter import CeleryTaskSubmitter
from peek_platform.celery.app_config import configureCeleryApp, prepareLocalStores
from peek_platform.celery.settings import celerySettingsFromConfig
from peek_platform.plugin.extension import LoaderExtension
from peek_platform.process.context import ServiceContext, ServiceExtensionBase
from peek_plugin_base.worker.CeleryApp import celeryApp


class LogicCeleryExtension(ServiceExtensionBase):
    """Service extension: before plugins load, configure ``app`` and start the submitter.

    ``submitter`` is available from ``startBeforePlugins`` until ``stopAfterPlugins``, so
    plugins can submit tasks from ``load()`` to ``unload()``.
    """

    def __init__(self, app: Celery = celeryApp) -> None:
        self._app = app
        self.submitter: CeleryTaskSubmitter | None = None

    def startBeforePlugins(self, ctx: ServiceContext) -> None:
        """Configure the Celery app from the logic config and start submitting."""
        settings = celerySettingsFromConfig(ctx.config, ctx.spec, ctx.home)
        prepareLocalStores(settings)
        configureCeleryApp(self._app, settings)
        self.submitter = CeleryTaskSubmitter(
            self._app, ctx.reactor, resultTimeoutSeconds=settings.resultTimeoutSeconds
        )
        self.submitter.start()

    def loaderExtensions(self, ctx: ServiceContext) -> Sequence[LoaderExtension]:
        """No per-plugin work."""
        return ()

    def stopAfterPlugins(self, ctx: ServiceContext) -> Deferred[Any] | None:
        """Stop the submitter (tasks still pending fail with ``CeleryUnavailable``)."""
        if self.submitter is None:
            return None
        return self.submitter.stop()

"""Mixin for logic plugins that submit Celery tasks to the worker service."""

from __future__ import annotations

from celery import Celery

from peek_plugin_base.worker.CeleryApp import celeryApp


class PluginLogicWorkerEntryHookABC:
    """A logic plugin with worker tasks names the Celery app its tasks are registered on."""

    @property
    def celeryApp(self) -> Celery:
        """The platform Celery app, configured by the logic service so tasks reach workers."""
        return celeryApp

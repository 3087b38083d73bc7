"""Entry hook ABC for plugins on the worker service."""

from __future__ import annotations

from celery import Celery

from peek_plugin_base.PluginCommonEntryHookABC import PluginCommonEntryHookABC
from peek_plugin_base.worker.CeleryApp import celeryApp
from peek_plugin_base.worker.PeekWorkerPlatformHookABC import PeekWorkerPlatformHookABC


class PluginWorkerEntryHookABC(PluginCommonEntryHookABC[PeekWorkerPlatformHookABC]):
    """Base class of the object a plugin's ``peekWorkerEntryHook`` returns."""

    @property
    def publishedWorkerApi(self) -> object | None:
        """The API this plugin offers other plugins on this service (None: no API)."""
        return None

    @property
    def celeryAppIncludes(self) -> list[str]:
        """Dotted module names holding this plugin's Celery tasks (imported by the worker)."""
        return []

    @property
    def celeryApp(self) -> Celery:
        """The platform Celery app the plugin's tasks are defined on (configured by Peek)."""
        return celeryApp

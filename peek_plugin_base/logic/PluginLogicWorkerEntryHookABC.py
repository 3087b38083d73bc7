"""Mixin for logic plugins that submit Celery tasks to the worker service."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any


class PluginLogicWorkerEntryHookABC(metaclass=ABCMeta):
    """A logic plugin with worker tasks names the Celery app its tasks are registered on."""

    @property
    @abstractmethod
    def celeryApp(self) -> Any:
        """The Celery app the platform configures, so tasks submitted from logic reach workers."""

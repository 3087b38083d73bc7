"""The platform's Celery app, which plugins define their tasks on.

Plugin task modules declare tasks with ``@celeryApp.task(bind=True)`` and list their module
names in ``celeryAppIncludes``; the platform configures this app from the service's
``config.json`` (broker, result store, JSON only, late acknowledgement) before any task is
sent or run, so importing this module never connects to anything.
"""

from __future__ import annotations

from celery import Celery

#: The one Celery app of a Peek process; configured by the logic and worker services.
celeryApp: Celery = Celery("peek", set_as_current=False)

__all__ = ["celeryApp"]

"""Errors a submitted Celery task's Deferred fails with."""

from __future__ import annotations


class CeleryTaskError(Exception):
    """The task raised in the worker; carries the remote exception's type name and message."""

    def __init__(self, taskName: str, taskId: str, remoteType: str, remoteMessage: str) -> None:
        super().__init__(
            f"Celery task {taskName} ({taskId}) failed in the worker with "
            f"{remoteType}: {remoteMessage}"
        )
        self.taskName = taskName
        self.taskId = taskId
        #: Qualified name of the exception class raised in the worker, e.g. ``ValueError``.
        self.remoteType = remoteType
        self.remoteMessage = remoteMessage


class CeleryResultTimeout(TimeoutError):
    """No result arrived within ``celery.resultTimeoutSeconds``."""

    def __init__(self, taskName: str, taskId: str, timeoutSeconds: float) -> None:
        super().__init__(
            f"Celery task {taskName} ({taskId}) gave no result within {timeoutSeconds:g} s "
            "(celery.resultTimeoutSeconds in the logic config.json): check that a worker "
            "service is running with the same celery.brokerUrl and celery.resultUrl and "
            "has the plugin that defines this task enabled"
        )
        self.taskName = taskName
        self.taskId = taskId
        self.timeoutSeconds = timeoutSeconds


class CeleryPublishError(RuntimeError):
    """The task could not be put on the queue (broker unreachable or the message invalid)."""


class CeleryUnavailable(RuntimeError):
    """The task submitter is not running (not started yet, or the service is stopping)."""

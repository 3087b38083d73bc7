"""Celery signal handlers that manage ``CeleryDbConn`` in worker processes.

The worker service calls ``connectSignals()`` once, before its pool forks: each pool
process then creates its engine at start, closes the task's session after every task,
and closes its connections when it exits.
"""

from __future__ import annotations

from typing import Any

from celery import signals

from peek_plugin_base.worker import CeleryDbConn


def initWorkerProcessDbConn(**kwargs: Any) -> None:
    """``worker_process_init``: create this pool process's engine (after the fork)."""
    if CeleryDbConn.processDbConn.url is not None:
        CeleryDbConn.processDbConn.engine()


def taskEndCloseSession(**kwargs: Any) -> None:
    """``task_postrun``: close the finished task's session (uncommitted work rolls back)."""
    CeleryDbConn.processDbConn.endTask()


def shutdownWorkerProcessDbConn(**kwargs: Any) -> None:
    """``worker_process_shutdown``: close this process's database connections."""
    CeleryDbConn.processDbConn.shutdown()


def connectSignals() -> None:
    """Connect the handlers above to Celery's signals (idempotent)."""
    signals.worker_process_init.connect(
        initWorkerProcessDbConn, weak=False, dispatch_uid="peekInitWorkerProcessDbConn"
    )
    signals.task_postrun.connect(
        taskEndCloseSession, weak=False, dispatch_uid="peekTaskEndCloseSession"
    )
    signals.worker_process_shutdown.connect(
        shutdownWorkerProcessDbConn, weak=False, dispatch_uid="peekShutdownWorkerProcessDbConn"
    )

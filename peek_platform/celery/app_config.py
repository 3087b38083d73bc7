"""Configure the platform Celery app from resolved settings (docs/dev/worker.rst).

Delivery rules: tasks are acknowledged after they finish (``task_acks_late``) and a task
whose pool process died is put back on the queue (``task_reject_on_worker_lost``), so a
killed worker's task runs again. A worker that cannot store a result because the result
store is unreachable (Redis restarting) tries again with a growing delay for about two
minutes, instead of failing the task with the connection error. Only JSON crosses the
broker and the result store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from celery import Celery

from peek_platform.celery.embedded_broker import (
    BUSY_TIMEOUT_SECONDS,
    TRANSPORT_PATH,
    prepareSqliteFile,
)
from peek_platform.celery.settings import CelerySettings

#: Extra seconds beyond the task time limit before Redis re-delivers an unacknowledged
#: task (a task held longer than the visibility timeout would otherwise run twice).
VISIBILITY_MARGIN_SECONDS = 60
#: Tries of a worker to store a result while the result store is unreachable (Celery sleeps
#: up to 10 s, at random, between two; about two minutes in all).
RESULT_STORE_RETRIES = 30


def celeryConf(settings: CelerySettings, includes: Sequence[str] = ()) -> dict[str, Any]:
    """The Celery configuration dictionary for ``settings``."""
    conf: dict[str, Any] = {
        "broker_url": settings.brokerUrl,
        "result_backend": settings.resultUrl,
        "include": list(includes),
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "result_backend_always_retry": True,
        "result_backend_max_retries": RESULT_STORE_RETRIES,
        "task_time_limit": settings.taskTimeLimitSeconds,
        "worker_concurrency": settings.workerConcurrency,
        "worker_prefetch_multiplier": settings.prefetchMultiplier,
        "worker_hijack_root_logger": True,
        "worker_log_format": "%(levelname)s %(processName)s %(name)s: %(message)s",
        "worker_task_log_format": (
            "%(levelname)s %(processName)s %(task_name)s[%(task_id)s]: %(message)s"
        ),
        "broker_connection_retry_on_startup": True,
        "task_track_started": False,
        "enable_utc": True,
    }
    if settings.brokerIsEmbedded:
        conf["broker_transport"] = TRANSPORT_PATH
        # The SQLite queue has no broadcast exchange: no remote control, gossip or mingle.
        conf["worker_enable_remote_control"] = False
    else:
        visibility = settings.taskTimeLimitSeconds * settings.prefetchMultiplier
        conf["broker_transport_options"] = {
            "visibility_timeout": visibility + VISIBILITY_MARGIN_SECONDS
        }
    if settings.resultUrl.startswith("db+sqlite:"):
        conf["database_engine_options"] = {"connect_args": {"timeout": BUSY_TIMEOUT_SECONDS}}
    return conf


def configureCeleryApp(
    app: Celery, settings: CelerySettings, includes: Sequence[str] = ()
) -> Celery:
    """Apply ``settings`` (and the task modules ``includes``) to ``app``; return it."""
    app.conf.update(celeryConf(settings, includes))
    return app


def newCeleryApp(settings: CelerySettings, includes: Sequence[str] = ()) -> Celery:
    """A separate, configured Celery app (for tools and tests that must not share one)."""
    return configureCeleryApp(Celery("peek", set_as_current=False), settings, includes)


def prepareLocalStores(settings: CelerySettings) -> None:
    """Create the SQLite files (WAL mode) of an embedded broker or result store, if used."""
    if settings.brokerIsEmbedded:
        prepareSqliteFile(settings.brokerUrl)
    if settings.resultUrl.startswith("db+sqlite:"):
        prepareSqliteFile(settings.resultUrl)

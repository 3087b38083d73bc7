"""The Celery worker child of the worker service: ``python -m peek_worker_service.celery_main``.

It reads the worker's ``config.json`` from ``--home``, imports the task modules of the
plugins enabled for the worker, points ``CeleryDbConn`` at the logic database and runs a
prefork Celery worker until SIGTERM (warm shutdown: running tasks finish, reserved ones go
back to the queue). It also stops itself the same way if the service process that
started it disappears, so a worker never outlives its service.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from peek_platform.bulk.tasks import BULK_TASK_MODULE
from peek_platform.celery.app_config import configureCeleryApp, prepareLocalStores
from peek_platform.celery.settings import CelerySettings, celerySettingsFromConfig
from peek_platform.config import ConfigError, loadServiceConfig
from peek_platform.exit_codes import EXIT_CONFIG_ERROR
from peek_platform.services import WORKER
from peek_platform.storage.db_config import dbSettingsFromConfig
from peek_plugin_base.storage.PluginSchema import SchemaNameError, schemaNameForPlugin
from peek_plugin_base.worker import CeleryDbConn, CeleryDbConnInit
from peek_plugin_base.worker.CeleryApp import celeryApp
from peek_plugin_base.worker.CeleryDbConn import workerAttachSchemas
from peek_worker_service.task_modules import WorkerTaskPlan, planWorkerTasks

logger = logging.getLogger(__name__)

#: Seconds between checks that the service process is still there.
PARENT_CHECK_SECONDS = 1.0


def workerArgv(settings: CelerySettings, logLevel: str) -> list[str]:
    """The ``celery worker`` command line for ``settings``."""
    return [
        "worker",
        "--pool=prefork",
        f"--concurrency={settings.workerConcurrency}",
        f"--loglevel={logLevel}",
        f"--hostname=peek-worker-{os.getpid()}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]


def _pluginSchemas(plugins: list[str]) -> list[str]:
    """Schema names of the plugins that could own storage (others are ignored)."""
    schemas = []
    for name in plugins:
        try:
            schemas.append(schemaNameForPlugin(name))
        except SchemaNameError:
            continue
    return schemas


def _watchParent(parentPid: int) -> None:
    """Send ourselves SIGTERM once the service process that started us is gone."""

    def watch() -> None:
        while os.getppid() == parentPid:
            threading.Event().wait(PARENT_CHECK_SECONDS)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="peek-parent-watch", daemon=True).start()


def _reportPlan(plan: WorkerTaskPlan) -> None:
    """Log which plugins' tasks this worker runs and why others contribute none."""
    for name, reason in plan.problems.items():
        logger.error("%s: its tasks are not available on this worker: %s", name, reason)
    logger.info(
        "Celery task modules of %d plugin(s): %s",
        len(plan.plugins),
        ", ".join(plan.modules) or "none",
    )


def main(argv: list[str] | None = None) -> int:
    """Run the Celery worker for the worker service home given on the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m peek_worker_service.celery_main",
        description="Celery worker process of the Peek worker service (started by it).",
    )
    parser.add_argument("--home", type=Path, required=True, help="the worker service home")
    args = parser.parse_args(argv)
    home = args.home.expanduser().resolve()
    try:
        config = loadServiceConfig(WORKER, home, writeBack=False)
    except ConfigError as err:
        print(str(err), file=sys.stderr)
        return EXIT_CONFIG_ERROR

    logging.basicConfig(
        level=config["logging.level"], format="%(levelname)s %(processName)s %(name)s: %(message)s"
    )
    settings = celerySettingsFromConfig(config, WORKER, home)
    plan = planWorkerTasks(config["plugin.enabled"])
    _reportPlan(plan)

    dbUrl, engineArgs = dbSettingsFromConfig(config, WORKER, home)
    attach = workerAttachSchemas(dbUrl, _pluginSchemas(plan.plugins))
    CeleryDbConn.configureWorkerDb(dbUrl, engineArgs, attach)
    CeleryDbConnInit.connectSignals()

    prepareLocalStores(settings)
    # The platform's own task (compiling chunked indexes) comes first, then the plugins'.
    configureCeleryApp(celeryApp, settings, [BULK_TASK_MODULE, *plan.modules])
    _watchParent(os.getppid())
    celeryApp.worker_main(workerArgv(settings, config["logging.level"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

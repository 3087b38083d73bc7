"""Run the worker service's Celery worker as a supervised child process.

Architecture: the service process keeps the Twisted reactor for config, logging and the
plugin lifecycle (``peekWorkerEntryHook``), while the tasks run in a child process,
``python -m peek_worker_service.celery_main --home HOME``, a prefork Celery worker that
imports the enabled plugins' task modules itself. Celery's own process model (signals,
pool supervision, blocking consumer loop) then never touches the reactor.

The child starts before the plugins load and is restarted with backoff if it dies. On
SIGTERM the service sends the child SIGTERM as soon as shutdown begins (Celery's warm
shutdown: running tasks finish, reserved ones go back to the queue), while the plugins
stop and unload; the service exits once the child has exited. A child still running
``graceSeconds`` after SIGTERM gets SIGKILL; its unacknowledged tasks are then delivered
again (see docs/admin/worker.rst for when).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from peek_platform.plugin.extension import LoaderExtension
from peek_platform.process.context import ServiceContext, ServiceExtensionBase
from peek_platform.process.supervisor import (
    ChildCommand,
    SpawnFunction,
    Supervisor,
    reactorSpawner,
)

logger = logging.getLogger(__name__)
#: Logger of the lines the Celery child writes (relayed with their own level).
childLogger = logging.getLogger("peek_worker_service.celery")

#: Key of the child in the supervisor and prefix of its relayed lines.
CHILD_KEY = "celery"
_LEVELS = {name: getattr(logging, name) for name in ("DEBUG", "INFO", "WARNING", "ERROR")}
_LEVELS["CRITICAL"] = logging.CRITICAL


def relayChildLine(key: str, line: str) -> None:
    """Log one line of the child's output at the level it starts with (else INFO)."""
    if not line.strip():
        return
    level = _LEVELS.get(line.split(" ", 1)[0], logging.INFO)
    childLogger.log(level, "%s: %s", key, line)


def celeryChildCommand(home: Any, python: str = sys.executable) -> ChildCommand:
    """The command line of the Celery child for the worker service at ``home``."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return ChildCommand(
        key=CHILD_KEY,
        argv=(python, "-m", "peek_worker_service.celery_main", "--home", str(home)),
        env=env,
    )


class WorkerCeleryExtension(ServiceExtensionBase):
    """Service extension that runs and stops the Celery worker child."""

    def __init__(self, spawn: SpawnFunction | None = None, python: str = sys.executable) -> None:
        self._spawn = spawn
        self._python = python
        self._supervisor: Supervisor | None = None
        self._stopped: Deferred[None] | None = None

    def startBeforePlugins(self, ctx: ServiceContext) -> None:
        """Start the Celery child and arrange its warm shutdown when the reactor stops."""
        deadline = float(ctx.config["plugin.lifecycleDeadlineSeconds"])
        self._supervisor = Supervisor(
            [celeryChildCommand(ctx.home, self._python)],
            clock=ctx.reactor,
            spawn=self._spawn or reactorSpawner(ctx.reactor),
            relay=relayChildLine,
            # SIGKILL before the lifecycle gives up on this stop step.
            graceSeconds=deadline * 0.8,
        )
        self._supervisor.start()
        ctx.reactor.addSystemEventTrigger("before", "shutdown", self._beginStop)

    def _beginStop(self) -> None:
        """Send the child SIGTERM now, in parallel with the plugins' stop."""
        if self._supervisor is not None and self._stopped is None:
            self._stopped = self._supervisor.stop()

    def loaderExtensions(self, ctx: ServiceContext) -> Sequence[LoaderExtension]:
        """No per-plugin work: the child imports the task modules itself."""
        return ()

    def stopAfterPlugins(self, ctx: ServiceContext) -> Deferred[None] | None:
        """Wait until the Celery child has exited (stopping it if not done yet)."""
        self._beginStop()
        if self._stopped is None:
            return None
        done: Deferred[None] = Deferred()

        def fireDone(result: Failure | None) -> Failure | None:
            done.callback(None)
            return result

        self._stopped.addBoth(fireDone)
        return done

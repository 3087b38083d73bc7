"""Logic submitting Celery tasks to the worker service and using their results.

When a worker service links up (only then are the tasks run), logic submits a small batch
of ``upsertNoopItem`` tasks, logs the results and tells the observable, because the tasks
changed the table. A failed submission is logged; the plugin carries on without it.
"""

import logging
from typing import Any

from twisted.internet.defer import Deferred, FirstError, gatherResults, succeed
from twisted.python.failure import Failure

from peek_plugin_base.PeekVortexUtil import peekWorkerName
from peek_plugin_noop._private.logic.controller.MainController import MainController
from peek_plugin_noop._private.WhenVortexOnline import WhenVortexOnline
from peek_plugin_noop._private.worker.tasks.NoopItemTasks import upsertNoopItem

logger = logging.getLogger(__name__)

#: The items the batch writes, by name; running it again writes the same values.
WORKER_ITEMS = {"Worker plums": 10, "Worker cherries": 20, "Worker grapes": 30}


class WorkerBatchExample:
    """Submits the batch once per start, when the first worker service comes online."""

    def __init__(self, platform: Any, mainController: MainController) -> None:
        # platform.submitCeleryTask(task, *args) -> Deferred of the task's result.
        self._platform = platform
        self._mainController = mainController
        self._submitted = False
        self._whenOnline = WhenVortexOnline(peekWorkerName, self.run, "The worker batch")

    def start(self) -> "WorkerBatchExample":
        """Start waiting for a worker service; returns self."""
        self._whenOnline.start()
        return self

    def shutdown(self) -> None:
        """Stop; tasks still pending are cancelled (their results are ignored)."""
        self._whenOnline.shutdown()

    def run(self) -> Deferred[None]:
        """Submit the batch (the first time only) and log what the tasks returned."""
        if self._submitted:
            return succeed(None)
        self._submitted = True
        logger.info("Submitting %d worker tasks", len(WORKER_ITEMS))
        results = [
            self._platform.submitCeleryTask(upsertNoopItem, name, value)
            for name, value in WORKER_ITEMS.items()
        ]
        # consumeErrors: the first failure fails the batch; the others are not logged twice.
        d = gatherResults(results, consumeErrors=True)
        d.addCallbacks(self._batchDone, _firstFailure)
        return d

    def _batchDone(self, items: list[dict]) -> None:
        described = ", ".join(f"{item['name']}={item['value']} (id {item['id']})" for item in items)
        logger.info("Worker batch done: %s", described)
        self._mainController.notifyItemsChanged()


def _firstFailure(failure: Failure) -> Failure:
    """The failure of the first task that failed, rather than gatherResults' wrapper."""
    return failure.value.subFailure if failure.check(FirstError) else failure

"""Results of tasks in flight arrive exactly once when the Redis result store restarts."""

from __future__ import annotations

import json
import threading

import pytest

pytestmark = pytest.mark.integration

#: Tasks submitted at once; Redis restarts once RESTART_AFTER of them have started.
TASKS = 300
RESTART_AFTER = 60
PLUGIN = "peek_plugin_witest"


def test_results_arrive_once_across_a_result_store_restart(restartableResultStoreDeployment):
    """300 tasks in flight through a real worker service; the result store (Redis) restarts
    on the same port while they run. Every task's Deferred fires once with its own result:
    none is lost (the worker stores results again once the store is back, and those
    stored before logic has subscribed again are read once it has) and none is delivered
    for another task."""
    deployment, results = restartableResultStoreDeployment
    worker = deployment.startWorker(concurrency=2)
    calls = [[f"{PLUGIN}.tasks.sleepThenReturn", [0.02, i]] for i in range(TASKS)]
    report: dict = {}

    def runLogic() -> None:
        report.update(deployment.logic("calls", json.dumps(calls), timeout=240))

    logic = threading.Thread(target=runLogic)
    logic.start()
    try:
        worker.waitForLines(r"WITEST sleepThenReturn running", count=RESTART_AFTER)
        results.restart()
    finally:
        logic.join(300)
    assert report["outcomes"] == [{"ok": i} for i in range(TASKS)]

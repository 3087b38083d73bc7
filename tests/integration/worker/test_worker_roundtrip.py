"""Tasks submitted from logic reach real worker services and come back as Deferreds."""

from __future__ import annotations

import os
import signal
import threading

import pytest
from sqlalchemy import text

from peek_plugin_base.storage.DbEngine import createDbEngine

pytestmark = pytest.mark.integration


def test_results_and_task_exceptions_arrive_as_deferred_outcomes(deployment):
    """A result arrives as the value; a task's exception as its type name and message."""
    deployment.startWorker()
    outcomes = deployment.calls(("add", [2, 3]), ("fail", ["no such meter"]))
    assert outcomes[0] == {"ok": 5}
    assert outcomes[1]["error"] == "CeleryTaskError"
    assert (outcomes[1]["remoteType"], outcomes[1]["remoteMessage"]) == (
        "ValueError",
        "no such meter",
    )


def test_200_concurrent_tasks_all_complete(deployment):
    """200 tasks submitted at once each complete once with the right result. (How late the
    logic reactor's heartbeat gets meanwhile is a figure, printed by
    bench/worker_roundtrip.py, not asserted here.)"""
    deployment.startWorker()
    report = deployment.logic("burst", "peek_plugin_witest.tasks.add", "[20, 22]", "--count=200")
    assert report["outcomes"] == [{"ok": 42}] * 200


def test_task_of_sigkilled_pool_process_runs_again(deployment, tmp_path, waitFor):
    """Killing the pool process running a task makes the task run again and complete."""
    deployment.startWorker()
    markers = tmp_path / "markers"
    markers.mkdir()
    attempts = markers / "attempts"

    def killFirstAttempt() -> None:
        waitFor(lambda: attempts.exists() and attempts.read_text().strip() != "")
        os.kill(int(attempts.read_text().split()[0]), signal.SIGKILL)

    killer = threading.Thread(target=killFirstAttempt)
    killer.start()
    outcomes = deployment.calls(("slowOnFirstAttempt", [str(markers), 30]))
    killer.join()
    assert outcomes == [{"ok": 2}]


def test_two_worker_services_share_the_load(deployment):
    """With two worker services, each one runs some of the submitted tasks."""
    deployment.startWorker("w1", concurrency=1)
    deployment.startWorker("w2", concurrency=1)
    outcomes = deployment.calls(*[("whoAmI", [0.2])] * 16)
    hosts = {outcome["ok"] for outcome in outcomes}
    assert len(hosts) == 2


def test_task_database_write_is_visible_to_logic(deployment):
    """A row a task commits through CeleryDbConn can be read from the logic database."""
    engine = createDbEngine(deployment.databaseUrl, attachSchemas=["pl_witest"])
    with engine.begin() as conn:
        conn.execute(text('CREATE TABLE pl_witest."Note" (id INTEGER PRIMARY KEY, text TEXT)'))
    deployment.startWorker()
    outcomes = deployment.calls(("writeNote", ["meter 7 read"]))
    noteId = outcomes[0]["ok"]
    with engine.connect() as conn:
        row = conn.execute(
            text('SELECT text FROM pl_witest."Note" WHERE id = :id'), {"id": noteId}
        ).one()
    engine.dispose()
    assert row.text == "meter 7 read"


def test_sigterm_lets_the_running_task_finish_then_exits_zero(deployment):
    """SIGTERM during a task: the task still completes and the service exits with 0."""
    worker = deployment.startWorker()
    outcome: dict = {}

    def submit() -> None:
        outcome.update(deployment.calls(("sleepThenReturn", [2, "done"]))[0])

    logic = threading.Thread(target=submit)
    logic.start()
    # Running, not only received: warm shutdown finishes running tasks and gives back the
    # ones a worker merely reserved.
    worker.waitForLine(r"WITEST sleepThenReturn running")
    worker.signal(signal.SIGTERM)
    logic.join(30)
    assert outcome == {"ok": "done"}
    assert worker.wait(30) == 0

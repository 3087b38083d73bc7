"""A task held by a worker service that is killed outright runs again (embedded broker)."""

from __future__ import annotations

import threading

import pytest

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("deployment", ["embedded"], indirect=True)
def test_task_of_sigkilled_worker_service_runs_again_after_restart(deployment, tmp_path, waitFor):
    """SIGKILL of the worker service's whole process group (service, Celery main process and
    pool) while a task runs: once the service is started again, the task runs a second time
    and its one result reaches logic's Deferred."""
    worker = deployment.startWorker(concurrency=1)
    markers = tmp_path / "markers"
    markers.mkdir()
    attempts = markers / "attempts"
    report: dict = {}

    def submit() -> None:
        try:
            report["outcomes"] = deployment.calls(("slowOnFirstAttempt", [str(markers), 600]))
        except BaseException as e:  # pytest.fail in this thread: re-raised below
            report["error"] = e

    logic = threading.Thread(target=submit)
    logic.start()
    waitFor(lambda: attempts.exists() and attempts.read_text().strip(), what="first attempt")
    worker.kill()
    deployment.startWorker()
    logic.join()
    if "error" in report:
        raise report["error"]
    assert report["outcomes"] == [{"ok": 2}]
    assert len(attempts.read_text().split()) == 2

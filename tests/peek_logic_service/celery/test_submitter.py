"""CeleryTaskSubmitter: publish off the reactor thread, deliver results as Deferreds."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery import Celery, states
from twisted.internet.task import Clock

from peek_logic_service.celery.errors import (
    CeleryResultTimeout,
    CeleryTaskError,
    CeleryUnavailable,
)
from peek_logic_service.celery.submitter import CeleryTaskSubmitter, outcomeOf

WAIT_SECONDS = 5.0


class ThreadedClock(Clock):
    """A Clock whose ``callFromThread`` queues calls for the test thread to run."""

    def __init__(self) -> None:
        super().__init__()
        self.fromThreads: queue.SimpleQueue[tuple[Callable[..., Any], tuple]] = queue.SimpleQueue()

    def callFromThread(self, f: Callable[..., Any], *args: Any) -> None:
        self.fromThreads.put((f, args))

    def pumpUntil(self, condition: Callable[[], bool]) -> None:
        """Run queued calls (as the reactor thread) until ``condition`` holds."""
        deadline = time.monotonic() + WAIT_SECONDS
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail("condition not met in time")
            try:
                f, args = self.fromThreads.get(timeout=remaining)
            except queue.Empty:
                continue
            f(*args)


@pytest.fixture
def app() -> Celery:
    """An app with the in-memory broker and result cache of this process."""
    return Celery(
        "submitter-test",
        set_as_current=False,
        broker="memory://",
        backend="cache+memory://",
    )


@pytest.fixture
def clock() -> ThreadedClock:
    return ThreadedClock()


@pytest.fixture
def submitter(app: Celery, clock: ThreadedClock) -> Iterator[CeleryTaskSubmitter]:
    """A started submitter; stopped (and its thread ended) after the test."""
    s = CeleryTaskSubmitter(app, clock, resultTimeoutSeconds=10, pollIntervalSeconds=0.005)
    s.start()
    yield s
    stopped = s.stop()
    clock.pumpUntil(lambda: stopped.called)


def takeMessage(app: Celery) -> tuple[str, str, list]:
    """Receive one published task message: ``(taskId, taskName, args)``."""
    with app.connection_for_read() as connection:
        message = connection.SimpleQueue("celery").get(timeout=WAIT_SECONDS)
        message.ack()
    args, _kwargs, _embed = message.decode()
    return message.headers["id"], message.headers["task"], args


def test_result_stored_by_a_worker_fires_the_deferred(app, clock, submitter):
    """The Deferred fires with the value the worker stored for the task."""
    d = submitter.submit("plugin.tasks.add", 2, 3)
    taskId, name, args = takeMessage(app)
    assert (name, args) == ("plugin.tasks.add", [2, 3])
    app.backend.store_result(taskId, sum(args), states.SUCCESS)
    clock.pumpUntil(lambda: d.called)
    assert d.result == 5


def test_task_exception_fails_the_deferred_with_type_and_message(app, clock, submitter):
    """A task that raised fails the Deferred with CeleryTaskError naming type and message."""
    d = submitter.submit("plugin.tasks.fail")
    taskId, _, _ = takeMessage(app)
    app.backend.store_result(taskId, ValueError("meter 9"), states.FAILURE)
    clock.pumpUntil(lambda: d.called)
    failure = []
    d.addErrback(failure.append)
    error = failure[0].value
    assert isinstance(error, CeleryTaskError)
    assert (error.remoteType, error.remoteMessage) == ("ValueError", "meter 9")


def test_no_result_within_the_timeout_fails_with_result_timeout(app, clock, submitter):
    """Without a result, the Deferred fails with CeleryResultTimeout after the timeout."""
    d = submitter.submit("plugin.tasks.add", 1, 1)
    takeMessage(app)
    clock.advance(10)
    failure = []
    d.addErrback(failure.append)
    assert failure[0].check(CeleryResultTimeout)
    assert "10 s" in str(failure[0].value)


def test_stop_fails_pending_deferreds(app, clock):
    """Stopping the submitter fails every pending Deferred with CeleryUnavailable."""
    s = CeleryTaskSubmitter(app, clock, resultTimeoutSeconds=10)
    s.start()
    d = s.submit("plugin.tasks.add", 1, 1)
    stopped = s.stop()
    clock.pumpUntil(lambda: stopped.called)
    failure = []
    d.addErrback(failure.append)
    assert failure[0].check(CeleryUnavailable)


def test_submit_before_start_fails_at_once(app, clock):
    """A submitter that is not running fails submissions immediately."""
    s = CeleryTaskSubmitter(app, clock, resultTimeoutSeconds=10)
    failure = []
    s.submit("plugin.tasks.add").addErrback(failure.append)
    assert failure[0].check(CeleryUnavailable)


def test_outcome_of_serialised_exception_keeps_module_qualified_type():
    """A JSON-serialised exception of a plugin class names its module and class."""
    meta = {
        "status": states.FAILURE,
        "result": {"exc_type": "MeterError", "exc_module": "plugin.errors", "exc_message": ["x"]},
    }
    ok, error = outcomeOf("t", "id", meta)
    assert not ok
    assert (error.remoteType, error.remoteMessage) == ("plugin.errors.MeterError", "x")


def test_outcome_of_pending_task_is_none():
    """A task still pending or running has no outcome yet."""
    assert outcomeOf("t", "id", {"status": states.PENDING, "result": None}) is None

"""CeleryTaskSubmitter on a real Redis: results are pushed, each delivered exactly once.

A stand-in worker (a second Celery app on the same Redis) takes the published task messages
and stores results with ``store_result``, which is what a Celery worker does (``SET`` and
``PUBLISH`` of the result key). The reactor is a ``ThreadedClock`` whose ``callFromThread``
calls the test thread runs, so every result handed to the reactor can be counted.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery import Celery, states
from twisted.internet.task import Clock

from peek_logic_service.celery.submitter import CeleryTaskSubmitter
from peek_plugin_base.testing.RedisTestServer import RedisTestServer

# Celery's Redis backend stores results with redis-py's deprecated ``setex``.
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")

#: Seconds a test waits for results before failing (no result takes near this long).
WAIT_SECONDS = 30.0


class CountingClock(Clock):
    """A Clock whose ``callFromThread`` queues calls for the test thread, counting every
    result the submitter hands to the reactor (``_deliver``'s outcomes) per task id."""

    def __init__(self) -> None:
        super().__init__()
        self.fromThreads: queue.SimpleQueue[tuple[Callable[..., Any], tuple]] = queue.SimpleQueue()
        self.handedOver: Counter[str] = Counter()

    def callFromThread(self, f: Callable[..., Any], *args: Any) -> None:
        if getattr(f, "__name__", "") == "_deliver":
            self.handedOver.update(taskId for taskId, _, _ in args[0])
        self.fromThreads.put((f, args))

    def pumpUntil(self, condition: Callable[[], bool], what: str) -> None:
        """Run queued calls (as the reactor thread) until ``condition`` holds."""
        deadline = time.monotonic() + WAIT_SECONDS
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"not within {WAIT_SECONDS:g} s: {what}")
            try:
                f, args = self.fromThreads.get(timeout=min(remaining, 0.1))
            except queue.Empty:
                continue
            f(*args)


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisTestServer]:
    """A persistent redis-server of this module's own, so it can be restarted."""
    server = RedisTestServer(persistent=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def newApp(redis: RedisTestServer) -> Celery:
    return Celery(
        "submitter-redis-test",
        set_as_current=False,
        broker=redis.url(0),
        backend=redis.url(1),
    )


@pytest.fixture
def clock() -> CountingClock:
    return CountingClock()


@pytest.fixture
def worker(redis: RedisTestServer) -> Iterator[Celery]:
    """The stand-in worker's app (its own connections, as a worker process has)."""
    redis.flush()
    app = newApp(redis)
    yield app
    app.close()


def startSubmitter(redis: RedisTestServer, clock: CountingClock, **kwargs: Any):
    submitter = CeleryTaskSubmitter(newApp(redis), clock, resultTimeoutSeconds=300, **kwargs)
    submitter.start()
    return submitter


def stopSubmitter(submitter: CeleryTaskSubmitter, clock: CountingClock) -> None:
    stopped = submitter.stop()
    clock.pumpUntil(lambda: stopped.called, "the submitter stopped")


def takeMessages(worker: Celery, count: int) -> list[tuple[str, list]]:
    """Receive ``count`` published task messages: ``(taskId, args)`` each."""
    taken = []
    with worker.connection_for_read() as connection:
        simple = connection.SimpleQueue("celery")
        for _ in range(count):
            message = simple.get(timeout=WAIT_SECONDS)
            message.ack()
            args, _kwargs, _embed = message.decode()
            taken.append((message.headers["id"], args))
        simple.close()
    return taken


def mgetCalls(redis: RedisTestServer) -> int:
    """How many ``MGET`` commands the server has run since its start."""
    import redis as redisClient

    stats = redisClient.Redis(port=redis.port).info("commandstats")
    return int(stats.get("cmdstat_mget", {}).get("calls", 0))


def test_results_are_pushed_not_polled(redis, clock, worker):
    """Tasks run one at a time each get their result without the store being polled for
    it: the whole run reads keys (``MGET``) far fewer times than there are tasks."""
    submitter = startSubmitter(redis, clock)
    try:
        before = mgetCalls(redis)
        for i in range(40):
            d = submitter.submit("plugin.tasks.add", i, 1)
            [(taskId, args)] = takeMessages(worker, 1)
            worker.backend.store_result(taskId, sum(args), states.SUCCESS)
            clock.pumpUntil(lambda d=d: d.called, f"result {i}")
            assert d.result == i + 1
        reads = mgetCalls(redis) - before
    finally:
        stopSubmitter(submitter, clock)
    # One read follows the subscription; safety polls come once a second.
    assert reads < 20


def test_each_result_is_delivered_exactly_once_under_many_tasks(redis, clock, worker):
    """500 tasks in flight, results stored in random order, a tenth of them twice (a task
    that ran again), while safety polls read the same keys: every Deferred fires once with
    its own result, and each result is handed to the reactor exactly once."""
    submitter = startSubmitter(redis, clock, safetyPollSeconds=0.01)
    try:
        ds = [submitter.submit("plugin.tasks.add", i, 1000) for i in range(500)]
        taken = takeMessages(worker, 500)
        rng = random.Random(13)
        rng.shuffle(taken)
        for n, (taskId, args) in enumerate(taken):
            worker.backend.store_result(taskId, sum(args), states.SUCCESS)
            if n % 10 == 0:
                worker.backend.store_result(taskId, sum(args), states.SUCCESS)
        clock.pumpUntil(lambda: all(d.called for d in ds), "all 500 results")
        assert [d.result for d in ds] == [i + 1000 for i in range(500)]
        ids = {taskId for taskId, _ in taken}
        assert set(clock.handedOver) == ids
        assert max(clock.handedOver.values()) == 1
        assert (submitter.succeededCount, submitter.failedCount) == (500, 0)
    finally:
        stopSubmitter(submitter, clock)


def test_delivered_results_are_deleted_from_the_store(redis, clock, worker):
    """Once delivered, a task's result key is gone from the result store."""
    submitter = startSubmitter(redis, clock)
    try:
        ds = [submitter.submit("plugin.tasks.add", i, 1) for i in range(20)]
        for taskId, args in takeMessages(worker, 20):
            worker.backend.store_result(taskId, sum(args), states.SUCCESS)
        clock.pumpUntil(lambda: all(d.called for d in ds), "all 20 results")
        client = worker.backend.client
        clock.pumpUntil(lambda: client.dbsize() == 0, "the result keys deleted")
    finally:
        stopSubmitter(submitter, clock)


def test_results_stored_around_a_result_store_restart_all_arrive_once(
    redis, clock, worker, monkeypatch
):
    """Redis restarts while 150 tasks are pending: results stored before the restart, while
    the submitter is not subscribed again yet, and after it has subscribed all arrive, each
    once. The safety poll is off (an hour), so the read that follows every new subscription
    is what finds the results nobody pushed."""
    app = newApp(redis)
    # Celery's backend (and its client) is per thread, so hold the class's method.
    client = type(app.backend.client)
    subscribe = client.pubsub
    resubscribe = threading.Event()
    subscriptions: list[int] = []

    def heldPubsub(self: Any, **kwargs: Any) -> Any:
        """Every subscription after the first waits until the test lets it go on."""
        subscriptions.append(1)
        if len(subscriptions) > 1:
            resubscribe.wait(WAIT_SECONDS)
        return subscribe(self, **kwargs)

    monkeypatch.setattr(client, "pubsub", heldPubsub)
    submitter = CeleryTaskSubmitter(app, clock, resultTimeoutSeconds=300, safetyPollSeconds=3600)
    submitter.start()
    try:
        ds = [submitter.submit("plugin.tasks.add", i, 1) for i in range(150)]
        taken = takeMessages(worker, 150)
        for taskId, args in taken[:50]:
            worker.backend.store_result(taskId, sum(args), states.SUCCESS)
        clock.pumpUntil(lambda: all(d.called for d in ds[:50]), "the first 50 results")
        redis.restart()
        for taskId, args in taken[50:100]:
            worker.backend.store_result(taskId, sum(args), states.SUCCESS)
        clock.pumpUntil(lambda: len(subscriptions) > 1, "the submitter subscribing again")
        resubscribe.set()
        clock.pumpUntil(lambda: all(d.called for d in ds[:100]), "50 results stored meanwhile")
        for taskId, args in taken[100:]:
            worker.backend.store_result(taskId, sum(args), states.SUCCESS)
        clock.pumpUntil(lambda: all(d.called for d in ds), "all 150 results")
        assert [d.result for d in ds] == [i + 1 for i in range(150)]
        assert max(clock.handedOver.values()) == 1
        assert len(clock.handedOver) == 150
    finally:
        resubscribe.set()
        stopSubmitter(submitter, clock)

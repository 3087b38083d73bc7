"""MetricsExtension's settings and listener, and the plugin-state and Celery collectors."""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from celery import Celery, states
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock

from peek_logic_service.celery.submitter import CeleryTaskSubmitter
from peek_platform.config import ConfigError
from peek_platform.metrics.collectors import CeleryCollector, PluginStateCollector
from peek_platform.metrics.extension import MetricsExtension
from peek_platform.plugin.state import PluginState, PluginStatus
from peek_platform.testing.ServiceBuilder import makeServiceContext
from vortex.VortexFactory import NoVortexException, VortexFactory

WAIT_SECONDS = 5.0


def noVortex() -> VortexFactory:
    """The vortex of a process that has none yet."""
    raise NoVortexException("not started")


def samples(registry: CollectorRegistry) -> dict[tuple[str, frozenset], float]:
    """Every sample of ``registry``, parsed from its Prometheus text."""
    text = generate_latest(registry).decode("utf-8")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_short_bearer_token_is_a_config_error_that_does_not_show_it(tmp_path):
    """A metrics.bearerToken under 16 characters stops the service with a ConfigError
    naming the key, never the token."""
    extension = MetricsExtension(vortexFactory=noVortex, ownListener=True)
    with pytest.raises(ConfigError, match=r"metrics\.bearerToken") as raised:
        makeServiceContext(
            "agent", tmp_path, {"metrics.bearerToken": "short-secret"}, extensions=[extension]
        )
    assert "short-secret" not in str(raised.value)


@pytest.mark.parametrize(("port", "listening"), [(-1, []), (0, [(0, "127.0.0.1")])])
def test_listener_is_off_by_default_and_opens_on_a_port(tmp_path, port, listening):
    """metrics.sitePort -1 (the default) opens nothing; 0 or a port opens the listener on
    metrics.bindAddress (127.0.0.1 by default)."""
    reactor = MemoryReactorClock()
    extension = MetricsExtension(vortexFactory=noVortex, ownListener=True)
    config = {} if port == -1 else {"metrics.sitePort": port}
    ctx = makeServiceContext("worker", tmp_path, config, reactor=reactor, extensions=[extension])
    extension.startBeforePlugins(ctx)
    assert [(p, interface) for p, _, _, interface in reactor.tcpServers] == listening
    assert extension.registry is not None
    assert ("peek_service_info", frozenset({("service", "worker"), ("version", "0.1.0")})) in (
        samples(extension.registry)
    )


def test_plugin_state_is_one_for_the_current_state_only():
    """Each plugin has a series per state: 1 for the state it is in, 0 for the others."""
    statuses = [
        PluginStatus("peek_plugin_a", state=PluginState.STARTED),
        PluginStatus("peek_plugin_b", state=PluginState.FAILED, reason="broken"),
    ]
    registry = CollectorRegistry()
    registry.register(PluginStateCollector(lambda: statuses))
    found = samples(registry)

    def state(plugin: str, name: str) -> float:
        return found[("peek_plugin_state", frozenset({("plugin", plugin), ("state", name)}))]

    assert state("peek_plugin_a", "started") == 1
    assert state("peek_plugin_b", "failed") == 1
    assert state("peek_plugin_a", "failed") == 0
    assert sum(v for (name, _), v in found.items() if name == "peek_plugin_state") == 2
    assert len([n for n, _ in found if n == "peek_plugin_state"]) == 2 * len(PluginState)


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


def test_celery_tasks_submitted_succeeded_failed_and_in_flight():
    """Logic's submitter counts tasks submitted, succeeded and failed, and those in flight
    (the queue depth the metrics report)."""
    app = Celery(
        "metrics-test", set_as_current=False, broker="memory://", backend="cache+memory://"
    )
    # The in-memory broker is one per process: a queue of its own keeps other tests' task
    # messages out of this one's.
    queueName = f"metrics-test-{uuid.uuid4().hex}"
    app.conf.task_default_queue = queueName
    clock = ThreadedClock()
    submitter = CeleryTaskSubmitter(app, clock, resultTimeoutSeconds=10, pollIntervalSeconds=0.005)
    registry = CollectorRegistry()
    registry.register(CeleryCollector(lambda: submitter))
    submitter.start()
    try:
        ids = []
        results = [submitter.submit("plugin.tasks.t", n) for n in range(3)]
        with app.connection_for_read() as connection:
            taskQueue = connection.SimpleQueue(queueName)
            for _ in results:
                message = taskQueue.get(timeout=WAIT_SECONDS)
                message.ack()
                ids.append(message.headers["id"])
        assert samples(registry)[("peek_celery_tasks_in_flight", frozenset())] == 3
        app.backend.store_result(ids[0], 1, states.SUCCESS)
        app.backend.store_result(ids[1], ValueError("bad"), states.FAILURE)
        for d in results:
            d.addErrback(lambda f: None)
        clock.pumpUntil(lambda: results[0].called and results[1].called)
        found = samples(registry)
        assert found[("peek_celery_tasks_submitted_total", frozenset())] == 3
        assert found[("peek_celery_tasks_succeeded_total", frozenset())] == 1
        assert found[("peek_celery_tasks_failed_total", frozenset())] == 1
        assert found[("peek_celery_tasks_in_flight", frozenset())] == 1
    finally:
        stopped = submitter.stop()
        clock.pumpUntil(lambda: stopped.called)

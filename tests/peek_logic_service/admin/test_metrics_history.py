"""The admin Overview's samples (MetricsHistory) over a real VortexFactory's counters, on a
twisted Clock."""

from __future__ import annotations

import pytest
from twisted.internet import task

from peek_logic_service.admin.metrics_history import MetricsHistory, percentileMs
from vortex.stats import DEVICE_PEER, LATENCY_BUCKETS, LinkTraffic
from vortex.VortexFactory import VortexFactory


@pytest.fixture
def sampled():
    """A history of a fresh factory, 10 s periods, 30 s kept; its factory, clock, figures."""
    factory = VortexFactory("peek-logic-service")
    clock = task.Clock()
    clock.advance(1000.0)
    figures = {"devices": 0, "tasks": 0}
    history = MetricsHistory(
        lambda: factory,
        lambda: figures["devices"],
        lambda: figures["tasks"],
        clock=clock,
        periodSeconds=10.0,
        keepSeconds=30.0,
    )
    history.start()
    yield history, factory, clock, figures
    history.stop()


def test_a_sample_holds_the_rates_of_its_period(sampled):
    """After one period: messages/s and tasks/s are the counters' increase over 10 s, devices
    the count now, and the RPC percentiles come from that period's latency buckets."""
    history, factory, clock, figures = sampled
    assert history.document()["samples"] == []
    factory.stats.linkClosed(DEVICE_PEER, LinkTraffic(receivedMessages=150, sentMessages=50))
    rpc = factory.stats.rpcCounts("peek_plugin_x.rpc", served=True)
    for _ in range(98):
        rpc.finish(0.0004, failed=False)
    for _ in range(2):
        rpc.finish(0.2, failed=False)
    figures.update(devices=3, tasks=40)
    clock.advance(10.0)

    [sample] = history.document()["samples"]
    assert sample["at"] == 1010.0
    assert sample["messagesPerSecond"] == 20.0
    assert sample["tasksPerSecond"] == 4.0
    assert sample["devicesOnline"] == 3
    assert sample["rpcP50Ms"] == LATENCY_BUCKETS[0] * 1000
    assert sample["rpcP99Ms"] >= 200


def test_a_quiet_period_has_no_rpc_percentiles_and_old_samples_go(sampled):
    """A period without RPCs has None percentiles; only keepSeconds of samples are kept."""
    history, _, clock, _ = sampled
    for _ in range(5):
        clock.advance(10.0)
    samples = history.document()["samples"]
    assert [s["at"] for s in samples] == [1030.0, 1040.0, 1050.0]
    assert all(s["rpcP50Ms"] is None and s["messagesPerSecond"] == 0 for s in samples)


def test_percentile_is_the_upper_bound_of_its_bucket():
    """percentileMs picks the bucket where the fraction is reached; empty gives None."""
    buckets = [0] * (len(LATENCY_BUCKETS) + 1)
    assert percentileMs(buckets, 0.5) is None
    buckets[0], buckets[3] = 50, 50
    assert percentileMs(buckets, 0.5) == LATENCY_BUCKETS[0] * 1000
    assert percentileMs(buckets, 0.51) == LATENCY_BUCKETS[3] * 1000
    buckets[-1] = 1000
    assert percentileMs(buckets, 0.99) == LATENCY_BUCKETS[-1] * 1000

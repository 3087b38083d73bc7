"""The Prometheus collectors of a service process, and the registry that holds them.

Each collector reads plain counters at scrape time (the vortex's ``factory.stats``, the
plugin loader's statuses, the Celery submitter's counts) and turns them into metric
families; nothing is counted here, so scraping costs only when someone scrapes. Every
metric is listed in ``docs/admin/metrics.rst``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from prometheus_client import ProcessCollector
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

from peek_platform import __version__
from peek_platform.plugin.state import PluginState, PluginStatus
from vortex.stats import LATENCY_BUCKETS, LatencyCounts
from vortex.VortexFactory import NoVortexException, VortexFactory

#: The ``le`` label of each latency bucket, as Prometheus spells it, then ``+Inf``.
_BUCKET_LABELS: tuple[str, ...] = (*(floatToGoString(b) for b in LATENCY_BUCKETS), "+Inf")

#: ``role`` label values of the RPC metrics.
ROLE_SERVER = "server"
ROLE_CLIENT = "client"


class CeleryTaskCounts(Protocol):
    """What the Celery collector reads: the logic service's task submitter."""

    submittedCount: int
    succeededCount: int
    failedCount: int

    @property
    def pendingCount(self) -> int:
        """Tasks submitted whose result has not been delivered yet."""


def _histogram(family: HistogramMetricFamily, labels: list[str], counts: LatencyCounts) -> None:
    """Add one series of fixed-bucket latency counts (made cumulative) to ``family``."""
    cumulative = 0
    buckets = []
    for label, count in zip(_BUCKET_LABELS, counts.buckets, strict=True):
        cumulative += count
        buckets.append((label, float(cumulative)))
    family.add_metric(labels, buckets, counts.seconds)


class VortexCollector(Collector):
    """Links, traffic, RPCs, actions and observables of this process's vortex."""

    def __init__(self, vortexFactory: Callable[[], VortexFactory]) -> None:
        self._vortexFactory = vortexFactory

    def collect(self) -> Iterable[Metric]:
        """Read the factory's counters now; nothing while the vortex is not started."""
        try:
            factory = self._vortexFactory()
        except NoVortexException:
            return []
        return list(self._families(factory))

    def _families(self, factory: VortexFactory) -> Iterator[Metric]:
        stats = factory.stats
        links = GaugeMetricFamily(
            "peek_vortex_links",
            "Vortex links up, by peer (a service's vortex name, or device for browsers).",
            labels=["peer"],
        )
        upByPeer: dict[str, int] = {}
        for info in factory.remoteVortexes():
            upByPeer[info.statsPeer] = upByPeer.get(info.statsPeer, 0) + 1
        for peer, up in sorted(upByPeer.items()):
            links.add_metric([peer], up)
        yield links

        traffic = sorted(factory.linkTraffic().items())
        for name, what, attribute in (
            ("peek_vortex_received_messages", "Payload messages received", "receivedMessages"),
            ("peek_vortex_received_bytes", "Payload bytes received", "receivedBytes"),
            ("peek_vortex_sent_messages", "Payload messages sent", "sentMessages"),
            ("peek_vortex_sent_bytes", "Payload bytes sent", "sentBytes"),
        ):
            family = CounterMetricFamily(
                name, f"{what} over vortex links, by peer.", labels=["peer"]
            )
            for peer, counts in traffic:
                family.add_metric([peer], getattr(counts, attribute))
            yield family

        closes = CounterMetricFamily(
            "peek_vortex_device_link_limit_closes",
            "Device links closed for breaking a per-link limit, by the limit's name.",
            labels=["limit"],
        )
        for limit, count in sorted(stats.deviceLinkLimitCloses.items()):
            closes.add_metric([limit], count)
        yield closes

        yield from self._requests(
            "peek_vortex_rpc_calls",
            "peek_vortex_rpc",
            "RPC calls",
            ["rpc", "role"],
            [
                *(([name, ROLE_SERVER], c) for name, c in sorted(stats.rpcServed.items())),
                *(([name, ROLE_CLIENT], c) for name, c in sorted(stats.rpcCalled.items())),
            ],
        )
        yield from self._requests(
            "peek_vortex_actions",
            "peek_vortex_action",
            "Tuple actions processed",
            ["processor"],
            [([name], c) for name, c in sorted(stats.actions.items())],
        )

        subscribers = GaugeMetricFamily(
            "peek_vortex_observable_subscribers",
            "Live subscriptions served by the observable handlers of this name.",
            labels=["observable"],
        )
        for name, count in sorted(stats.observableSubscribers().items()):
            subscribers.add_metric([name], count)
        yield subscribers
        proxySubscribers = GaugeMetricFamily(
            "peek_vortex_observable_proxy_subscribers",
            "Live device subscriptions to the observable proxies of this name.",
            labels=["observable"],
        )
        cacheEntries = GaugeMetricFamily(
            "peek_vortex_observable_proxy_cache_entries",
            "Selectors whose last upstream data the observable proxies of this name hold.",
            labels=["observable"],
        )
        for name, (devices, entries) in sorted(stats.observableProxies().items()):
            proxySubscribers.add_metric([name], devices)
            cacheEntries.add_metric([name], entries)
        yield proxySubscribers
        yield cacheEntries

    @staticmethod
    def _requests(
        callsName: str,
        prefix: str,
        what: str,
        labelNames: list[str],
        series: list[tuple[list[str], LatencyCounts]],
    ) -> Iterator[Metric]:
        """The calls (``callsName``), ``prefix_errors`` and ``prefix_seconds`` families of one
        kind of request."""
        calls = CounterMetricFamily(
            callsName, f"{what}, counted when they arrive or are made.", labels=labelNames
        )
        errors = CounterMetricFamily(
            f"{prefix}_errors", f"{what} that ended in an error.", labels=labelNames
        )
        seconds = HistogramMetricFamily(
            f"{prefix}_seconds", f"Seconds each of the {what.lower()} took.", labels=labelNames
        )
        for labels, counts in series:
            calls.add_metric(labels, counts.calls)
            errors.add_metric(labels, counts.errors)
            _histogram(seconds, labels, counts)
        yield calls
        yield errors
        yield seconds


class PluginStateCollector(Collector):
    """Each enabled plugin's lifecycle state: 1 for its state, 0 for every other."""

    def __init__(self, statuses: Callable[[], Iterable[PluginStatus]]) -> None:
        self._statuses = statuses

    def collect(self) -> Iterable[Metric]:
        """One series per plugin and state."""
        family = GaugeMetricFamily(
            "peek_plugin_state",
            "1 for the state each enabled plugin is in, 0 for the others.",
            labels=["plugin", "state"],
        )
        for status in self._statuses():
            for state in PluginState:
                family.add_metric([status.name, state.value], 1 if status.state is state else 0)
        return [family]


class CeleryCollector(Collector):
    """Celery tasks the logic service submitted, and how they ended."""

    def __init__(self, submitter: Callable[[], CeleryTaskCounts | None]) -> None:
        self._submitter = submitter

    def collect(self) -> Iterable[Metric]:
        """The submitter's counts; nothing before it starts."""
        submitter = self._submitter()
        if submitter is None:
            return []
        return [
            CounterMetricFamily(
                "peek_celery_tasks_submitted",
                "Celery tasks submitted by this service.",
                value=submitter.submittedCount,
            ),
            CounterMetricFamily(
                "peek_celery_tasks_succeeded",
                "Submitted Celery tasks whose result was delivered.",
                value=submitter.succeededCount,
            ),
            CounterMetricFamily(
                "peek_celery_tasks_failed",
                "Submitted Celery tasks that failed, timed out, or could not be queued.",
                value=submitter.failedCount,
            ),
            GaugeMetricFamily(
                "peek_celery_tasks_in_flight",
                "Submitted Celery tasks still waiting for their result (queued or running).",
                value=submitter.pendingCount,
            ),
        ]


class ServiceInfoCollector(Collector):
    """Which service and version this is (a constant 1 with labels)."""

    def __init__(self, serviceKey: str) -> None:
        self._serviceKey = serviceKey

    def collect(self) -> Iterable[Metric]:
        """One series naming the service and version."""
        family = GaugeMetricFamily(
            "peek_service_info", "The Peek service and version.", labels=["service", "version"]
        )
        family.add_metric([self._serviceKey, __version__], 1)
        return [family]


def metricsRegistry(
    serviceKey: str,
    *,
    vortexFactory: Callable[[], VortexFactory],
    statuses: Callable[[], Iterable[PluginStatus]],
    celery: Callable[[], CeleryTaskCounts | None] | None = None,
) -> CollectorRegistry:
    """A registry of its own for one service process: process, service, vortex, plugins
    and (on logic) Celery collectors; never prometheus_client's global one."""
    registry = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=registry)
    registry.register(ServiceInfoCollector(serviceKey))
    registry.register(VortexCollector(vortexFactory))
    registry.register(PluginStateCollector(statuses))
    if celery is not None:
        registry.register(CeleryCollector(celery))
    return registry

"""The last 15 minutes of a few platform figures, sampled on logic for the admin Overview.

Every ``periodSeconds`` logic reads its own counters (the same ones ``/metrics`` serves,
docs/dev/metrics.rst) and keeps one sample: messages per second through logic's data
exchange, the median and 99th percentile time of the RPCs logic served in that period
(from the latency buckets, so each is the upper bound of its bucket), the devices online on
the field and office sites, and Celery tasks finished per second. The Overview page polls
``/api/metrics-history`` and draws them; nothing is stored on disk.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from twisted.internet import task

from vortex.stats import LATENCY_BUCKETS
from vortex.VortexFactory import VortexFactory

#: Seconds between two samples.
PERIOD_SECONDS = 10.0
#: Seconds of samples kept.
KEEP_SECONDS = 15 * 60.0


@dataclass(frozen=True)
class Sample:
    """The figures of one period, ending at ``at`` (epoch seconds)."""

    at: float
    messagesPerSecond: float
    rpcP50Ms: float | None
    rpcP99Ms: float | None
    devicesOnline: int
    tasksPerSecond: float


@dataclass(frozen=True)
class _Totals:
    """Logic's counters at one moment; samples are the differences of two of these."""

    at: float
    messages: int
    rpcBuckets: tuple[int, ...]
    tasksFinished: int


def percentileMs(buckets: list[int], fraction: float) -> float | None:
    """The upper bound in ms of the latency bucket holding ``fraction`` of ``buckets``'
    requests (the last, unbounded bucket counts as the largest bound); None when empty."""
    total = sum(buckets)
    if total == 0:
        return None
    wanted = fraction * total
    seen = 0
    for index, count in enumerate(buckets):
        seen += count
        if seen >= wanted and count:
            bound = LATENCY_BUCKETS[min(index, len(LATENCY_BUCKETS) - 1)]
            return bound * 1000
    return LATENCY_BUCKETS[-1] * 1000


class MetricsHistory:
    """Samples logic's figures every ``periodSeconds`` on ``clock``, keeping ``keepSeconds``."""

    def __init__(
        self,
        vortexFactory: Callable[[], VortexFactory],
        devicesOnline: Callable[[], int],
        tasksFinished: Callable[[], int],
        *,
        clock: Any,
        periodSeconds: float = PERIOD_SECONDS,
        keepSeconds: float = KEEP_SECONDS,
    ) -> None:
        self._vortexFactory = vortexFactory
        self._devicesOnline = devicesOnline
        self._tasksFinished = tasksFinished
        self._clock = clock
        self.periodSeconds = periodSeconds
        self._samples: deque[Sample] = deque(maxlen=max(1, int(keepSeconds // periodSeconds)))
        self._last: _Totals | None = None
        self._loop = task.LoopingCall(self.sample)
        self._loop.clock = clock

    def start(self) -> None:
        """Read the counters now (the first period's start) and sample every period."""
        self._loop.start(self.periodSeconds, now=True)

    def stop(self) -> None:
        """Stop sampling."""
        if self._loop.running:
            self._loop.stop()

    def _totals(self) -> _Totals:
        factory = self._vortexFactory()
        traffic = factory.linkTraffic().values()
        messages = sum(t.receivedMessages + t.sentMessages for t in traffic)
        width = len(LATENCY_BUCKETS) + 1
        buckets = [0] * width
        for counts in factory.stats.rpcServed.values():
            for index, count in enumerate(counts.buckets):
                buckets[index] += count
        return _Totals(self._clock.seconds(), messages, tuple(buckets), self._tasksFinished())

    def sample(self) -> None:
        """Take one sample: the change of every counter since the previous one."""
        now = self._totals()
        last, self._last = self._last, now
        if last is None or now.at <= last.at:
            return
        seconds = now.at - last.at
        rpc = [n - p for n, p in zip(now.rpcBuckets, last.rpcBuckets, strict=True)]
        self._samples.append(
            Sample(
                at=now.at,
                messagesPerSecond=(now.messages - last.messages) / seconds,
                rpcP50Ms=percentileMs(rpc, 0.5),
                rpcP99Ms=percentileMs(rpc, 0.99),
                devicesOnline=self._devicesOnline(),
                tasksPerSecond=(now.tasksFinished - last.tasksFinished) / seconds,
            )
        )

    def document(self) -> dict[str, Any]:
        """The samples, oldest first, as the JSON the Overview page reads."""
        return {
            "periodSeconds": self.periodSeconds,
            "samples": [asdict(sample) for sample in self._samples],
        }

"""Prometheus metrics of a service process: collectors, ``/metrics`` and its access rule.

See ``docs/admin/metrics.rst`` for the metrics and settings, ``docs/dev/metrics.rst`` for
how the vortex's counters reach the collectors.
"""

from peek_platform.metrics.collectors import CeleryTaskCounts, metricsRegistry
from peek_platform.metrics.extension import MetricsExtension
from peek_platform.metrics.resource import MetricsAccess, MetricsResource, isLoopbackPeer

__all__ = [
    "CeleryTaskCounts",
    "MetricsAccess",
    "MetricsExtension",
    "MetricsResource",
    "isLoopbackPeer",
    "metricsRegistry",
]

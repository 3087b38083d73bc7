"""The one-line plugin summary a service logs once its plugins have started."""

from __future__ import annotations

from collections.abc import Iterable

from peek_platform.plugin.state import PluginState, PluginStatus


def pluginSummaryLine(serviceName: str, statuses: Iterable[PluginStatus]) -> str:
    """Say how many plugins started, failed, were skipped and are retrying, and name why."""
    statuses = list(statuses)

    def inState(state: PluginState) -> list[PluginStatus]:
        return [status for status in statuses if status.state is state]

    failed = inState(PluginState.FAILED)
    line = (
        f"{serviceName} started: {len(inState(PluginState.STARTED))} plugins started, "
        f"{len(failed)} failed, {len(inState(PluginState.SKIPPED))} skipped"
    )
    retrying = inState(PluginState.RETRYING)
    if retrying:
        line += f", {len(retrying)} retrying"
    if failed:
        line += "; failed: " + "; ".join(f"{s.name} ({s.reason})" for s in failed)
    if retrying:
        line += "; retrying: " + "; ".join(f"{s.name} ({s.reason})" for s in retrying)
    return line

"""The one-line plugin summary a service logs once its plugins have started."""

from __future__ import annotations

from collections.abc import Iterable

from peek_platform.plugin.state import PluginState, PluginStatus


def pluginSummaryLine(serviceName: str, statuses: Iterable[PluginStatus]) -> str:
    """Say how many plugins started, failed and were skipped, naming each failure and why."""
    statuses = list(statuses)

    def inState(state: PluginState) -> list[PluginStatus]:
        return [status for status in statuses if status.state is state]

    failed = inState(PluginState.FAILED)
    line = (
        f"{serviceName} started: {len(inState(PluginState.STARTED))} plugins started, "
        f"{len(failed)} failed, {len(inState(PluginState.SKIPPED))} skipped"
    )
    if failed:
        line += "; failed: " + "; ".join(f"{s.name} ({s.reason})" for s in failed)
    return line

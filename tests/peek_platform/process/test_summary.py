"""Tests of the plugin summary line logged after start."""

from __future__ import annotations

from peek_platform.plugin.state import PluginState, PluginStatus
from peek_platform.process.summary import pluginSummaryLine


def test_summary_counts_started_failed_and_skipped():
    """The summary counts each outcome and ignores no plugin."""
    statuses = [
        PluginStatus(name="a", state=PluginState.STARTED),
        PluginStatus(name="b", state=PluginState.STARTED),
        PluginStatus(name="c", state=PluginState.SKIPPED, reason="not for this service"),
    ]
    assert pluginSummaryLine("peek-field-service", statuses) == (
        "peek-field-service started: 2 plugins started, 0 failed, 1 skipped"
    )


def test_summary_names_each_failed_plugin_and_reason():
    """Every failed plugin appears with its reason."""
    statuses = [
        PluginStatus(name="x", state=PluginState.FAILED, reason="ImportError: no module y"),
        PluginStatus(name="z", state=PluginState.FAILED, reason="start passed 30 s deadline"),
    ]
    line = pluginSummaryLine("peek-logic-service", statuses)
    assert line.endswith(
        "0 plugins started, 2 failed, 0 skipped; "
        "failed: x (ImportError: no module y); z (start passed 30 s deadline)"
    )

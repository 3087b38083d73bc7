"""Tests for peek_platform/testing/PluginHarness.py: a real plugin through the real loader."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from peek_platform.plugin.state import PluginState
from peek_platform.testing.PluginHarness import PluginHarness, PluginHarnessError


def test_logic_harness_runs_the_lifecycle_in_order(makePlugin, peekPluginHarness):
    """load/start/stop/unload reach the entry hook in order and move the loader's state."""
    harness = peekPluginHarness(makePlugin("hlife"), "logic")
    harness.wait(harness.load())
    hook = harness.entryHook
    assert (hook.events, harness.status.state) == (["load"], PluginState.LOADED)
    harness.wait(harness.start())
    assert harness.status.state is PluginState.STARTED
    harness.wait(harness.stop())
    harness.wait(harness.unload())
    assert (hook.events, harness.status.state) == (
        ["load", "start", "stop", "unload"],
        PluginState.UNLOADED,
    )


def test_logic_harness_migrates_storage_on_sqlite_and_attaches_settings(
    makePlugin, peekPluginHarness
):
    """On logic the plugin's schema is migrated into the home's SQLite file; settings work."""
    harness = peekPluginHarness(makePlugin("hstore"), "logic")
    with harness.running() as hook:
        assert hook.dbEngine.url.database == str(harness.home / "peek.sqlite")
        with hook.dbEngine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM pl_hstore.note")).scalar() == 0
        assert harness.wait(hook.pluginSettings.get("greeting")) == "hello"
    assert hook.events == ["load", "start", "stop", "unload"]


def test_logic_harness_uses_the_configured_database(makePlugin, peekPluginHarness, peekPostgresUrl):
    """``sqlalchemy.connectUrl`` in ``config`` points the storage at that database."""
    harness = peekPluginHarness(
        makePlugin("hpg"), "logic", config={"sqlalchemy.connectUrl": peekPostgresUrl}
    )
    with harness.running() as hook:
        assert hook.dbEngine.dialect.name == "postgresql"
        with hook.dbEngine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM pl_hpg.note")).scalar() == 0


def test_field_harness_gives_the_real_platform_hook_and_site(makePlugin, peekPluginHarness):
    """On field the plugin gets the field platform hook; its resources land on the field site."""
    harness = peekPluginHarness(makePlugin("hfield"), "field")
    harness.wait(harness.load())
    assert harness.platform.pluginName == "peek_plugin_hfield"
    assert harness.sites["field"].pluginRoot("peek_plugin_hfield").children.keys() == {b"hello"}


def test_failed_step_errbacks_with_the_reason_and_traceback(makePlugin, peekPluginHarness):
    """A plugin whose start() raises makes start() fail naming plugin, step and error."""
    harness = peekPluginHarness(makePlugin("hfail", failStart=True), "logic")
    harness.wait(harness.load())
    with pytest.raises(PluginHarnessError) as caught:
        harness.wait(harness.start())
    message = str(caught.value)
    assert "peek_plugin_hfail on the logic service" in message
    assert "expected started, is failed (start failed: ValueError: start refused" in message
    assert "Traceback" in message
    assert harness.entryHook.events == ["load", "start", "stop", "unload"]


def test_plugin_not_for_the_service_fails_load_saying_skipped(makePlugin, peekPluginHarness):
    """A plugin whose requiresServices lacks the service fails load() as skipped."""
    harness = peekPluginHarness(makePlugin("hskip"), "agent")
    with pytest.raises(PluginHarnessError, match=r"expected loaded, is skipped \(requiresServices"):
        harness.wait(harness.load())


def test_entry_hook_before_load_is_an_error(makePlugin, peekPluginHarness):
    """Asking for the entry hook before load() says to call load() first."""
    harness = peekPluginHarness(makePlugin("hearly"), "field")
    with pytest.raises(PluginHarnessError, match="call load\\(\\) first"):
        _ = harness.entryHook


def test_close_stops_and_unloads_a_started_plugin(makePlugin, tmp_path):
    """close() after start() stops and unloads the plugin (what the fixture does at teardown)."""
    harness = PluginHarness("logic", makePlugin("hclose"), tmp_path / "home")
    harness.wait(harness.load())
    harness.wait(harness.start())
    hook = harness.entryHook
    harness.close()
    assert (hook.events, harness.status.state) == (
        ["load", "start", "stop", "unload"],
        PluginState.UNLOADED,
    )


def test_storage_off_logic_is_refused(tmp_path):
    """storage=True on a service other than logic is an error naming the service."""
    with pytest.raises(ValueError, match="storage runs on the logic service only"):
        PluginHarness("field", "peek_plugin_x", tmp_path, storage=True)

"""Tests of the ordered start, graceful stop and forced stop of a service process."""

from __future__ import annotations

import logging
import signal

import pytest
from twisted.internet.defer import Deferred

from peek_platform.exit_codes import EXIT_FAILURE, EXIT_OK
from peek_platform.plugin.state import PluginState, PluginStatus
from peek_platform.process.lifecycle import ServiceLifecycle

DEADLINE = 5.0


def makeLifecycle(ctx, extensions=(), exits=None) -> ServiceLifecycle:
    """A lifecycle over the fake loader whose forced exit records its status."""
    recorded = [] if exits is None else exits
    return ServiceLifecycle(ctx, extensions, deadlineSeconds=DEADLINE, exit=recorded.append)


def test_start_runs_extensions_then_loads_then_starts_plugins(ctx, calls, extension):
    """Extensions start before plugins load, plugins load then start, then extensions finish."""
    extensions = [extension("a"), extension("b")]
    lifecycle = makeLifecycle(ctx, extensions)
    lifecycle.start()
    assert calls == [
        "start a",
        "start b",
        "loadAll",
        "startAll",
        "started-after a",
        "started-after b",
    ]


def test_start_waits_for_an_extension_deferred(ctx, calls, extension):
    """Plugins do not load until an extension's startBeforePlugins Deferred fires."""
    pending = Deferred()
    lifecycle = makeLifecycle(ctx, [extension("db", startResult=pending)])
    lifecycle.start()
    assert calls == ["start db"]
    pending.callback(None)
    assert calls == ["start db", "loadAll", "startAll", "started-after db"]


def test_start_logs_plugin_summary(ctx, loader, caplog):
    """After start, one line says how many plugins started, failed and were skipped."""
    loader.statusList.append(
        PluginStatus(name="peek_plugin_bad", state=PluginState.FAILED, reason="boom")
    )
    with caplog.at_level(logging.INFO):
        makeLifecycle(ctx).start()
    assert (
        "peek-logic-service started: 1 plugins started, 1 failed, 0 skipped; "
        "failed: peek_plugin_bad (boom)"
    ) in caplog.messages


def test_failed_extension_start_stops_service_without_loading(
    ctx, calls, reactor, caplog, extension
):
    """An extension that fails to start prevents plugin loading, sets status 1, stops."""
    extensions = [
        extension("ok"),
        extension("bad", startResult=RuntimeError("no database")),
        extension("never"),
    ]
    lifecycle = makeLifecycle(ctx, extensions)
    lifecycle.start()
    assert calls == ["start ok", "start bad"]
    assert lifecycle.exitStatus == EXIT_FAILURE
    assert reactor.hasStopped
    assert "RecordingExtension failed to start" in caplog.text


def test_failed_extension_start_stops_only_started_extensions(ctx, calls, extension):
    """After a failed start, the graceful stop stops only the extensions that started."""
    extensions = [
        extension("ok"),
        extension("bad", startResult=RuntimeError("no database")),
    ]
    lifecycle = makeLifecycle(ctx, extensions)
    lifecycle.start()
    del calls[:]
    lifecycle.stop()
    assert calls == ["stopAll", "unloadAll", "stop ok"]


def test_stop_order_is_plugins_then_unload_then_extensions_reversed(ctx, calls, extension):
    """Graceful stop: stop plugins, unload them, then stop extensions in reverse order."""
    extensions = [extension("a"), extension("b")]
    lifecycle = makeLifecycle(ctx, extensions)
    lifecycle.start()
    del calls[:]
    done = lifecycle.stop()
    assert calls == ["stopAll", "unloadAll", "stop b", "stop a"]
    assert done.called
    assert lifecycle.exitStatus == EXIT_OK


def test_stop_step_over_deadline_fails_exit_status_and_continues(
    ctx, loader, calls, reactor, extension
):
    """A stop step that overruns its deadline sets exit status 1; later steps still run."""
    loader.pending["stopAll"] = Deferred()
    lifecycle = makeLifecycle(ctx, [extension("a")])
    lifecycle.start()
    del calls[:]
    done = lifecycle.stop()
    assert calls == ["stopAll"]
    reactor.advance(DEADLINE)
    assert calls == ["stopAll", "unloadAll", "stop a"]
    assert done.called
    assert lifecycle.exitStatus == EXIT_FAILURE


def test_failing_extension_stop_does_not_skip_earlier_extensions(ctx, calls, extension):
    """An extension whose stop raises is logged; the extensions started before it still stop."""
    first, second = extension("a"), extension("b")
    second.stopAfterPlugins = lambda ctx: 1 / 0
    lifecycle = makeLifecycle(ctx, [first, second])
    lifecycle.start()
    del calls[:]
    lifecycle.stop()
    assert calls == ["stopAll", "unloadAll", "stop a"]
    assert lifecycle.exitStatus == EXIT_FAILURE


def test_stop_during_load_waits_for_load_and_skips_start(ctx, loader, calls):
    """A stop requested while plugins load waits for loading, then never starts them."""
    loading = Deferred()
    loader.pending["loadAll"] = loading
    lifecycle = makeLifecycle(ctx)
    lifecycle.start()
    done = lifecycle.stop()
    assert calls == ["loadAll"]
    loading.callback(None)
    assert calls == ["loadAll", "stopAll", "unloadAll"]
    assert done.called


def test_request_stop_stops_reactor_once(ctx, reactor):
    """A stop request stops the reactor; a second request does not call stop again."""
    stops = []
    reactor.stop = lambda: stops.append(True)
    lifecycle = makeLifecycle(ctx)
    lifecycle.requestStop(signal.SIGTERM)
    lifecycle.requestStop(signal.SIGTERM)
    assert stops == [True]


def test_kill_exits_with_signal_status_without_touching_plugins(ctx, calls, caplog, extension):
    """The forced path exits with 128+signum and calls no plugin or extension code."""
    exits: list[int] = []
    lifecycle = makeLifecycle(ctx, [extension("a")], exits=exits)
    lifecycle.kill(signal.SIGINT)
    assert exits == [128 + signal.SIGINT]
    assert calls == []
    assert "received SIGINT again" in caplog.text


def test_lifecycle_requires_a_loader(ctx):
    """Building a lifecycle before the loader exists is refused with a clear error."""
    ctx.loader = None
    with pytest.raises(ValueError, match=r"ctx\.loader"):
        makeLifecycle(ctx)


def test_failing_start_after_plugins_stops_the_service(ctx, calls, extension):
    """An extension failing to finish starting after the plugins makes the service stop (1)."""

    def portInUse(ctx):
        raise OSError("port in use")

    failing = extension("vortex")
    failing.startAfterPlugins = portInUse
    lifecycle = makeLifecycle(ctx, [failing])
    lifecycle.start()
    assert calls[:3] == ["start vortex", "loadAll", "startAll"]
    assert lifecycle.exitStatus == 1

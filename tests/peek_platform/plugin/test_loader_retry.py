"""PluginLoader retries of plugins raising PluginNotReadyError, on a twisted Clock."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from peek_platform.cli.status_command import formatStatus
from peek_platform.plugin.state import PluginState
from peek_platform.process.summary import pluginSummaryLine
from peek_platform.services import LOGIC
from peek_platform.vortex.status_report import pluginStatusTuples
from peek_platform.web.health import pluginsStartedCheck

LOADER_LOG = "peek_platform.plugin.loader"
UNREACHABLE = "the external system is unreachable"


def notReady(times: int | None, key: str) -> str:
    """A method body raising PluginNotReadyError on its first ``times`` calls (None: always)."""
    limit = "True" if times is None else f"J.__dict__[{key!r}] <= {times}"
    return f"""\
from peek_plugin_base.PluginNotReadyError import PluginNotReadyError
J.__dict__[{key!r}] = J.__dict__.get({key!r}, 0) + 1
if {limit}:
    raise PluginNotReadyError({UNREACHABLE!r})
"""


def stateOf(loader, name):
    return loader.plugin(name).status.state


API_BODY = """\
@property
def publishedLogicApi(self):
    return {"from": self.name}
"""


def test_not_ready_load_retried_with_backoff_then_started(
    writer, makeLoader, clock, resultOf, caplog
):
    """load() not ready twice: retried after 1 s then 2 s, then loaded and started."""
    name = writer.write("ext", methods={"load": notReady(2, "ext")})
    loader = makeLoader(LOGIC, [name])
    caplog.set_level(logging.WARNING, logger=LOADER_LOG)
    resultOf(loader.loadAll())
    resultOf(loader.startAll())
    status = loader.plugin(name).status
    assert status.state is PluginState.RETRYING
    assert (status.attempt, status.nextRetryAt) == (1, 1.0)
    assert status.reason == f"retrying in 1 s (attempt 1): {UNREACHABLE}"
    assert status.traceback is None
    assert f"load not ready, retrying in 1 s (attempt 1): {UNREACHABLE}" in caplog.text
    assert all(r.levelno == logging.WARNING for r in caplog.records)

    clock.advance(0.999)
    assert writer.events() == [("ext", "load"), ("ext", "unload")]
    clock.advance(0.001)
    status = loader.plugin(name).status
    assert (status.state, status.attempt, status.nextRetryAt) == (PluginState.RETRYING, 2, 3.0)
    assert status.reason == f"retrying in 2 s (attempt 2): {UNREACHABLE}"

    clock.advance(1.999)
    assert stateOf(loader, name) is PluginState.RETRYING
    clock.advance(0.001)
    status = loader.plugin(name).status
    assert status.state is PluginState.STARTED
    assert (status.reason, status.attempt, status.nextRetryAt) == (None, None, None)
    assert writer.events() == [("ext", "load"), ("ext", "unload")] * 2 + [
        ("ext", "load"),
        ("ext", "start"),
    ]
    assert clock.getDelayedCalls() == []


def test_not_ready_start_is_stopped_and_only_start_retried(writer, makeLoader, clock, resultOf):
    """start() not ready: stop() undoes it, the plugin stays loaded, start() runs again."""
    name = writer.write("st", methods={"start": notReady(1, "st")}, classBody=API_BODY)
    loader = makeLoader(LOGIC, [name])
    resultOf(loader.loadAll())
    resultOf(loader.startAll())
    assert stateOf(loader, name) is PluginState.RETRYING
    assert writer.events() == [("st", "load"), ("st", "start"), ("st", "stop")]
    assert loader.getPluginApi(name) == {"from": name}
    clock.advance(1)
    assert stateOf(loader, name) is PluginState.STARTED
    assert writer.events() == [("st", "load"), ("st", "start"), ("st", "stop"), ("st", "start")]


def test_plugin_retrying_its_load_offers_no_api(writer, makeLoader, clock, resultOf):
    """While its load() is retried a plugin is unloaded: no entry hook and no API."""
    name = writer.write("ld", methods={"load": notReady(1, "ld")}, classBody=API_BODY)
    loader = makeLoader(LOGIC, [name])
    resultOf(loader.loadAll())
    assert stateOf(loader, name) is PluginState.RETRYING
    assert loader.plugin(name).entryHook is None
    assert loader.getPluginApi(name) is None
    clock.advance(1)
    assert stateOf(loader, name) is PluginState.LOADED
    assert loader.getPluginApi(name) == {"from": name}


def test_retry_delays_double_up_to_the_default_60_s_cap(writer, makeLoader, clock, resultOf):
    """With the defaults, delays are 1, 2, 4 ... 32, then 60 s for every further attempt."""
    name = writer.write("never", methods={"load": notReady(None, "never")})
    loader = makeLoader(LOGIC, [name])
    resultOf(loader.loadAll())
    delays = []
    for attempt in range(1, 10):
        status = loader.plugin(name).status
        assert status.attempt == attempt
        delay = status.nextRetryAt - clock.seconds()
        assert status.reason == f"retrying in {delay:g} s (attempt {attempt}): {UNREACHABLE}"
        assert [c.getTime() for c in clock.getDelayedCalls()] == [status.nextRetryAt]
        delays.append(delay)
        clock.advance(delay)
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_retry_parameters_and_attempt_cap(writer, makeLoader, clock, resultOf):
    """retryMaxSeconds caps the delay; after retryMaxAttempts retries the plugin fails."""
    name = writer.write("cap", methods={"load": notReady(None, "cap")})
    loader = makeLoader(
        LOGIC, [name], retryInitialSeconds=0.5, retryMaxSeconds=1.5, retryMaxAttempts=3
    )
    resultOf(loader.loadAll())
    delays = []
    while stateOf(loader, name) is PluginState.RETRYING:
        delay = loader.plugin(name).status.nextRetryAt - clock.seconds()
        delays.append(delay)
        clock.advance(delay)
    assert delays == [0.5, 1.0, 1.5]
    status = loader.plugin(name).status
    assert status.state is PluginState.FAILED
    assert status.reason == f"load still not ready after 3 retries, giving up: {UNREACHABLE}"
    assert status.attempt is None and status.nextRetryAt is None
    assert writer.journal.__dict__["cap"] == 4
    assert clock.getDelayedCalls() == []


def test_plain_exception_fails_at_once_even_on_a_retry(writer, makeLoader, clock, resultOf):
    """A non-not-ready exception fails at once, first time or in a retry; nothing is scheduled."""
    plain = writer.write("plain", methods={"load": "raise RuntimeError('broken')"})
    later = writer.write(
        "later",
        methods={"load": notReady(1, "later") + "raise RuntimeError('broken on retry')"},
    )
    loader = makeLoader(LOGIC, [plain, later])
    resultOf(loader.loadAll())
    assert loader.plugin(plain).status.reason == "load failed: RuntimeError: broken"
    assert stateOf(loader, plain) is PluginState.FAILED
    assert [c.getTime() for c in clock.getDelayedCalls()] == [1.0]
    clock.advance(1)
    status = loader.plugin(later).status
    assert status.state is PluginState.FAILED
    assert status.reason == "load failed: RuntimeError: broken on retry"
    assert (status.attempt, status.nextRetryAt) == (None, None)
    assert clock.getDelayedCalls() == []


def test_stop_during_pending_retry_cancels_it(writer, makeLoader, clock, resultOf):
    """stopAll cancels pending retries: nothing runs later, and unloadAll still finishes."""
    name = writer.write("wait", methods={"load": notReady(None, "wait")})
    loaded = writer.write("st", methods={"start": notReady(None, "st")})
    loader = makeLoader(LOGIC, [name, loaded])
    resultOf(loader.loadAll())
    resultOf(loader.startAll())
    assert len(clock.getDelayedCalls()) == 2
    resultOf(loader.stopAll())
    assert clock.getDelayedCalls() == []
    for plugin in (name, loaded):
        status = loader.plugin(plugin).status
        assert status.state is PluginState.STOPPED
        assert status.reason.endswith(UNREACHABLE)
        assert status.nextRetryAt is None
    resultOf(loader.unloadAll())
    clock.advance(3600)
    assert writer.events() == [
        ("wait", "load"),
        ("wait", "unload"),
        ("st", "load"),
        ("st", "start"),
        ("st", "stop"),
        ("st", "unload"),
    ]
    assert stateOf(loader, name) is PluginState.STOPPED
    assert stateOf(loader, loaded) is PluginState.UNLOADED


def test_dependant_starts_only_after_its_retried_dependency(writer, makeLoader, clock, resultOf):
    """b requires a; a's load is not ready twice: b waits, then loads and starts after a."""
    a = writer.write("a", methods={"load": notReady(2, "a")})
    b = writer.write("b", requires=["a"])
    loader = makeLoader(LOGIC, [b, a])
    resultOf(loader.loadAll())
    resultOf(loader.startAll())
    assert stateOf(loader, b) is PluginState.PENDING
    assert loader.plugin(b).status.reason == f"waiting for {a}, which is retrying"
    clock.advance(1)
    assert all(who == "a" for who, _ in writer.events())
    clock.advance(2)
    assert (stateOf(loader, a), stateOf(loader, b)) == (PluginState.STARTED, PluginState.STARTED)
    assert loader.plugin(b).status.reason is None
    assert writer.events()[-4:] == [("a", "load"), ("a", "start"), ("b", "load"), ("b", "start")]


def test_dependant_waits_for_dependency_retrying_start(writer, makeLoader, clock, resultOf):
    """b requires a; a's start is not ready once: b stays loaded, starts after a started."""
    a = writer.write("a", methods={"start": notReady(1, "a")})
    b = writer.write("b", requires=["a"])
    loader = makeLoader(LOGIC, [a, b])
    resultOf(loader.loadAll())
    resultOf(loader.startAll())
    assert (stateOf(loader, a), stateOf(loader, b)) == (PluginState.RETRYING, PluginState.LOADED)
    assert ("b", "start") not in writer.events()
    clock.advance(1)
    assert (stateOf(loader, a), stateOf(loader, b)) == (PluginState.STARTED, PluginState.STARTED)
    assert writer.events()[-2:] == [("a", "start"), ("b", "start")]


def test_dependant_fails_when_dependency_gives_up(writer, makeLoader, clock, resultOf):
    """When the retried dependency finally fails, its waiting dependant fails and says why."""
    a = writer.write("a", methods={"load": notReady(None, "a")})
    b = writer.write("b", requires=["a"])
    loader = makeLoader(LOGIC, [a, b], retryMaxAttempts=1)
    resultOf(loader.loadAll())
    resultOf(loader.startAll())
    clock.advance(1)
    assert stateOf(loader, a) is PluginState.FAILED
    assert stateOf(loader, b) is PluginState.FAILED
    assert loader.plugin(b).status.reason == f"requires {a}, which failed"
    assert ("b", "load") not in writer.events()


def test_retrying_state_is_reported_with_its_reason(writer, makeLoader, clock, resultOf):
    """Status tuples, `peek status`, the summary line and /health all show retrying."""
    name = writer.write("ext", methods={"load": notReady(None, "ext")})
    loader = makeLoader(LOGIC, [name])
    resultOf(loader.loadAll())
    resultOf(loader.startAll())
    reason = f"retrying in 1 s (attempt 1): {UNREACHABLE}"
    (pluginTuple,) = pluginStatusTuples(loader.statuses())
    assert (pluginTuple.state, pluginTuple.reason) == ("retrying", reason)
    now = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    service = {
        "serviceKey": "logic",
        "reported": True,
        "connected": True,
        "connectedSince": now,
        "host": "h",
        "pid": 1,
        "version": "1",
        "startedAt": now,
        "plugins": [{"name": name, "version": "1.0.0", "state": "retrying", "reason": reason}],
    }
    text = formatStatus([service], "ws://x", datetime(2026, 1, 1, tzinfo=UTC))
    assert f"    {name} 1.0.0  retrying  -- {reason}" in text.splitlines()
    line = pluginSummaryLine("peek-logic-service", loader.statuses())
    assert line.endswith(f"0 skipped, 1 retrying; retrying: {name} ({reason})")
    _, check = pluginsStartedCheck(loader.statuses)
    assert check() == f"plugins are still starting: {name}"

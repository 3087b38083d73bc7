"""PluginLoader: order, lifecycle, failures, deadlines, dependencies and extensions."""

from __future__ import annotations

import logging
import sys

import pytest
from twisted.internet import task

from peek_platform.plugin.errors import PluginValidationError
from peek_platform.plugin.state import PluginState
from peek_platform.services import FIELD, LOGIC, OFFICE

LOADER_LOG = "peek_platform.plugin.loader"


def runAll(loader, resultOf):
    """Drive a loader through load, start, stop and unload (all synchronous plugins)."""
    for step in (loader.loadAll, loader.startAll, loader.stopAll, loader.unloadAll):
        resultOf(step())


def stateOf(loader, name):
    return loader.plugin(name).status.state


def test_lifecycle_order_is_forward_then_reversed(writer, makeLoader, resultOf):
    """load all, start all in order; stop all reversed, then unload all reversed."""
    names = [writer.write(short) for short in ("a", "b", "c")]
    loader = makeLoader(LOGIC, names)
    runAll(loader, resultOf)
    assert writer.events() == [
        ("a", "load"),
        ("b", "load"),
        ("c", "load"),
        ("a", "start"),
        ("b", "start"),
        ("c", "start"),
        ("c", "stop"),
        ("b", "stop"),
        ("a", "stop"),
        ("c", "unload"),
        ("b", "unload"),
        ("a", "unload"),
    ]
    assert {s.state for s in loader.statuses()} == {PluginState.UNLOADED}


def test_required_plugin_loads_first(writer, makeLoader, resultOf):
    """A plugin listed before its requiresPlugins dependency is loaded after it."""
    b = writer.write("b", requires=["a"])
    a = writer.write("a")
    c = writer.write("c")
    loader = makeLoader(LOGIC, [b, c, a])
    resultOf(loader.loadAll())
    assert [e for e in writer.events() if e[1] == "load"] == [
        ("a", "load"),
        ("b", "load"),
        ("c", "load"),
    ]


def test_deferred_lifecycle_waits_for_the_reactor(writer, makeLoader, clock, resultOf):
    """A load() returning a Deferred keeps the next plugin waiting until it fires."""
    slow = writer.write(
        "slow", methods={"load": "return task.deferLater(J.CLOCK, 5, lambda: None)"}
    )
    fast = writer.write("fast")
    loader = makeLoader(LOGIC, [slow, fast])
    d = loader.loadAll()
    assert not d.called
    assert writer.events() == [("slow", "load")]
    clock.advance(5)
    assert resultOf(d) is None
    assert writer.events() == [("slow", "load"), ("fast", "load")]
    assert loader.plugin(slow).status.loadSeconds == 5


def test_coroutine_lifecycle_is_awaited(writer, makeLoader, clock, resultOf):
    """An ``async def start`` is run as a coroutine and awaited before STARTED."""
    name = writer.write(
        "coro",
        asyncMethods=["start"],
        methods={"start": "await task.deferLater(J.CLOCK, 2, lambda: None)"},
    )
    loader = makeLoader(LOGIC, [name])
    resultOf(loader.loadAll())
    d = loader.startAll()
    assert stateOf(loader, name) is PluginState.LOADED
    clock.advance(2)
    resultOf(d)
    assert stateOf(loader, name) is PluginState.STARTED
    assert loader.plugin(name).status.startSeconds == 2


def test_plugin_raising_in_load_fails_alone(writer, makeLoader, resultOf):
    """An exception in load() marks that plugin FAILED, unloads it, and others still run."""
    bad = writer.write("bad", methods={"load": "raise RuntimeError('boom in load')"})
    good = writer.write("good")
    loader = makeLoader(LOGIC, [bad, good])
    resultOf(loader.loadAll())
    resultOf(loader.startAll())
    status = loader.plugin(bad).status
    assert status.state is PluginState.FAILED
    assert status.reason == "load failed: RuntimeError: boom in load"
    assert "boom in load" in status.traceback
    assert stateOf(loader, good) is PluginState.STARTED
    assert ("bad", "unload") in writer.events()
    assert ("bad", "stop") not in writer.events()


def test_plugin_raising_in_start_is_stopped_and_unloaded(writer, makeLoader, resultOf):
    """An exception in start() fails the plugin; its stop() and unload() still run."""
    bad = writer.write("bad", methods={"start": "raise ValueError('no start')"})
    good = writer.write("good")
    loader = makeLoader(LOGIC, [bad, good])
    resultOf(loader.loadAll())
    resultOf(loader.startAll())
    assert loader.plugin(bad).status.reason == "start failed: ValueError: no start"
    assert writer.events()[-3:] == [("bad", "stop"), ("bad", "unload"), ("good", "start")]
    assert stateOf(loader, good) is PluginState.STARTED
    resultOf(loader.stopAll())
    resultOf(loader.unloadAll())
    assert writer.events().count(("bad", "unload")) == 1


def test_plugin_past_its_deadline_fails(writer, makeLoader, clock, resultOf):
    """A load() whose Deferred outlives deadlineSeconds is cancelled and FAILED."""
    hung = writer.write("hung", methods={"load": "return defer.Deferred()"})
    good = writer.write("good")
    loader = makeLoader(LOGIC, [hung, good], deadlineSeconds=3.0)
    d = loader.loadAll()
    clock.advance(2.9)
    assert not d.called
    clock.advance(0.1)
    resultOf(d)
    status = loader.plugin(hung).status
    assert status.state is PluginState.FAILED
    assert status.reason == "load did not finish within the 3 s deadline and was cancelled"
    assert stateOf(loader, good) is PluginState.LOADED


def test_dependent_of_plugin_failing_load_is_not_loaded(writer, makeLoader, resultOf):
    """A plugin requiring one that failed to load is FAILED with the reason, never loaded."""
    a = writer.write("a", methods={"load": "raise RuntimeError('a broke')"})
    b = writer.write("b", requires=["a"])
    loader = makeLoader(LOGIC, [a, b])
    resultOf(loader.loadAll())
    assert loader.plugin(b).status.state is PluginState.FAILED
    assert loader.plugin(b).status.reason == f"requires {a}, which failed"
    assert ("b", "load") not in writer.events()


def test_dependent_of_plugin_failing_start_is_not_started(writer, makeLoader, resultOf):
    """A plugin requiring one that failed to start is not started, and is unloaded."""
    a = writer.write("a", methods={"start": "raise RuntimeError('a broke')"})
    b = writer.write("b", requires=["a"])
    loader = makeLoader(LOGIC, [a, b])
    resultOf(loader.loadAll())
    resultOf(loader.startAll())
    assert loader.plugin(b).status.reason == f"requires {a}, which failed"
    assert ("b", "start") not in writer.events()
    assert ("b", "unload") in writer.events()


def test_missing_dependency_fails_only_the_dependent(writer, makeLoader, resultOf):
    """A requiresPlugins name that is not enabled fails that plugin with a clear reason."""
    b = writer.write("b", requires=["a"])
    c = writer.write("c")
    loader = makeLoader(LOGIC, [b, c])
    resultOf(loader.loadAll())
    assert loader.plugin(b).status.reason == (
        f"plugin {b} requires {writer.name('a')}, which is not enabled"
    )
    assert stateOf(loader, c) is PluginState.LOADED


def test_dependency_cycle_fails_its_members(writer, makeLoader, resultOf):
    """Plugins requiring each other fail with the cycle spelled out; others load."""
    a = writer.write("a", requires=["b"])
    b = writer.write("b", requires=["a"])
    c = writer.write("c")
    loader = makeLoader(LOGIC, [a, b, c])
    resultOf(loader.loadAll())
    reason = f"dependency cycle: {a} -> {b} -> {a}"
    assert [loader.plugin(n).status.reason for n in (a, b)] == [reason, reason]
    assert stateOf(loader, c) is PluginState.LOADED


def test_dependency_skipped_on_this_service_fails_dependent(writer, makeLoader, resultOf):
    """Requiring a plugin that does not run on this service is an error saying so."""
    a = writer.write("a", services=["agent"])
    b = writer.write("b", requires=["a"])
    loader = makeLoader(LOGIC, [a, b])
    resultOf(loader.loadAll())
    assert (
        loader.plugin(b).status.reason == f"requires {a}, which does not run on the logic service"
    )


def test_platform_version_out_of_range_is_refused(writer, makeLoader, resultOf):
    """A peekPlatformVersion range excluding the contract version refuses the plugin."""
    name = writer.write("future", packageJson=lambda doc: doc.update(peekPlatformVersion=">=4"))
    loader = makeLoader(LOGIC, [name])
    resultOf(loader.loadAll())
    status = loader.plugin(name).status
    assert status.state is PluginState.FAILED
    assert "'>=4'" in status.reason and "contract version 3.0.0" in status.reason
    assert writer.events() == []


def test_plugin_for_another_service_is_skipped_with_info(writer, makeLoader, resultOf, caplog):
    """A plugin whose requiresServices misses this service is SKIPPED with an INFO line."""
    name = writer.write("agentonly", services=["agent"])
    loader = makeLoader(LOGIC, [name])
    with caplog.at_level(logging.INFO, logger=LOADER_LOG):
        resultOf(loader.loadAll())
    assert stateOf(loader, name) is PluginState.SKIPPED
    assert (
        f"{name}: skipped, requiresServices ['agent'] does not include this service "
        "(logic; accepts logic, admin, server, storage)"
    ) in caplog.messages
    assert name not in sys.modules


def test_load_and_start_durations_are_logged(writer, makeLoader, resultOf, caplog):
    """Each plugin gets an INFO line for its load time and one for its start time."""
    name = writer.write("timed")
    loader = makeLoader(LOGIC, [name])
    with caplog.at_level(logging.INFO, logger=LOADER_LOG):
        runAll(loader, resultOf)
    assert [m for m in caplog.messages if m.startswith(name)] == [
        f"{name}: loaded in 0.0 ms",
        f"{name}: started in 0.0 ms",
        f"{name}: stopped in 0.0 ms",
        f"{name}: unloaded in 0.0 ms",
    ]


TUTORIAL_INIT = """\
from typing import Type

from peek_plugin_base.server.PluginServerEntryHookABC import PluginServerEntryHookABC


def peekServerEntryHook() -> Type[PluginServerEntryHookABC]:
    from ._private.server.ServerEntryHook import ServerEntryHook
    return ServerEntryHook
"""

TUTORIAL_SERVER_HOOK = """\
import JOURNAL as J
from peek_plugin_base.server.PluginServerEntryHookABC import PluginServerEntryHookABC


class ServerEntryHook(PluginServerEntryHookABC):
    def __init__(self, *args, **kwargs):
        PluginServerEntryHookABC.__init__(self, *args, **kwargs)

    def load(self):
        J.EVENTS.append((self.name, "load"))

    def start(self):
        J.EVENTS.append((self.name, "start"))

    def stop(self):
        J.EVENTS.append((self.name, "stop"))

    def unload(self):
        J.EVENTS.append((self.name, "unload"))

    @property
    def publishedServerApi(self):
        return "tutorial-api"
"""


def test_tutorial_legacy_server_plugin_runs_on_logic(writer, makeLoader, resultOf):
    """A plugin written with the tutorial's server names loads and runs on logic."""
    name = writer.write(
        "tutorial",
        services=["server"],
        initSource=TUTORIAL_INIT,
        files={
            "_private/__init__.py": "",
            "_private/server/__init__.py": "",
            "_private/server/ServerEntryHook.py": TUTORIAL_SERVER_HOOK,
        },
    )
    loader = makeLoader(LOGIC, [name])
    resultOf(loader.loadAll())
    resultOf(loader.startAll())
    assert stateOf(loader, name) is PluginState.STARTED
    assert loader.getPluginApi(name) == "tutorial-api"
    assert loader.plugin(name).entryHook.title == "Test tutorial"


CLIENT_BASE = "peek_plugin_base.client.PluginClientEntryHookABC:PluginClientEntryHookABC"


@pytest.mark.parametrize(
    ("spec", "servedOn"), [(FIELD, "field"), (OFFICE, None)], ids=["field", "office"]
)
def test_legacy_client_plugin_runs_on_field_and_office(
    writer, makeLoader, resultOf, sites, spec, servedOn
):
    """A peekClientEntryHook plugin requiring "client" runs on field and on office."""
    name = writer.write(
        "client",
        services=["client"],
        hook="peekClientEntryHook",
        base=CLIENT_BASE,
        methods={
            "start": "from twisted.web.resource import Resource\n"
            "self.platform.addMobileResource(b'm', Resource())"
        },
    )
    loader = makeLoader(spec, [name])
    resultOf(loader.loadAll())
    resultOf(loader.startAll())
    assert stateOf(loader, name) is PluginState.STARTED
    served = [site for site in ("field", "office") if sites[site].resourceFor(name)]
    assert served == ([servedOn] if servedOn else [])


PUBLISHER_BODY = """\
@property
def {attribute}(self):
    return {{"from": self.name}}
"""


def test_get_other_plugin_api_with_modern_and_legacy_names(writer, makeLoader, resultOf):
    """getOtherPluginApi returns publishedLogicApi, or a legacy publishedServerApi."""
    modern = writer.write("modern", classBody=PUBLISHER_BODY.format(attribute="publishedLogicApi"))
    legacy = writer.write("legacy", classBody=PUBLISHER_BODY.format(attribute="publishedServerApi"))
    user = writer.write(
        "user",
        methods={
            "start": f"""\
                for other in ({modern!r}, {legacy!r}, "peek_plugin_absent"):
                    J.EVENTS.append(("api", self.platform.getOtherPluginApi(other)))
                """
        },
    )
    loader = makeLoader(LOGIC, [modern, legacy, user])
    resultOf(loader.loadAll())
    resultOf(loader.startAll())
    apis = [what for who, what in writer.events() if who == "api"]
    assert apis == [{"from": modern}, {"from": legacy}, None]


def test_failed_plugin_publishes_no_api(writer, makeLoader, resultOf):
    """The API of a plugin that failed is not offered to others."""
    name = writer.write(
        "broken",
        classBody=PUBLISHER_BODY.format(attribute="publishedLogicApi"),
        methods={"start": "raise RuntimeError('x')"},
    )
    loader = makeLoader(LOGIC, [name])
    resultOf(loader.loadAll())
    assert loader.getPluginApi(name) == {"from": name}
    resultOf(loader.startAll())
    assert loader.getPluginApi(name) is None


def test_import_error_is_failed_with_traceback(writer, makeLoader, resultOf):
    """A package that raises on import is FAILED with the error and its traceback."""
    name = writer.write("importbad", initSource="import peek_no_such_module_anywhere\n")
    loader = makeLoader(LOGIC, [name])
    resultOf(loader.loadAll())
    status = loader.plugin(name).status
    assert status.reason == (
        "import failed: ModuleNotFoundError: No module named 'peek_no_such_module_anywhere'"
    )
    assert "Traceback" in status.traceback and "import peek_no_such" in status.traceback


def test_plugin_raising_any_exception_on_import_fails_alone(writer, makeLoader, resultOf):
    """A package raising a non-ImportError at import is FAILED; the other plugins run."""
    bad = writer.write("importboom", initSource="raise RuntimeError('no config at import')\n")
    good = writer.write("good")
    loader = makeLoader(LOGIC, [bad, good])
    resultOf(loader.loadAll())
    resultOf(loader.startAll())
    status = loader.plugin(bad).status
    assert status.state is PluginState.FAILED
    assert status.reason == "import failed: RuntimeError: no config at import"
    assert "no config at import" in status.traceback
    assert stateOf(loader, good) is PluginState.STARTED


def test_entry_hook_raising_in_its_constructor_fails_alone(writer, makeLoader, resultOf, sites):
    """An entry hook whose constructor raises is FAILED as "construct failed", what the
    platform registered for it is released, and the other plugins run."""
    construct = """\
def __init__(self, *args):
    super().__init__(*args)
    from twisted.web.resource import Resource
    self.platform.addAdminResource(b"api", Resource())
    raise RuntimeError("no constructing")
"""
    bad = writer.write("ctorboom", classBody=construct)
    good = writer.write("good")
    loader = makeLoader(LOGIC, [bad, good])
    resultOf(loader.loadAll())
    resultOf(loader.startAll())
    status = loader.plugin(bad).status
    assert status.state is PluginState.FAILED
    assert status.reason == "construct failed: RuntimeError: no constructing"
    assert "no constructing" in status.traceback
    assert ("ctorboom", "load") not in writer.events()
    assert sites["admin"].pluginNames() == []
    assert stateOf(loader, good) is PluginState.STARTED


@pytest.mark.parametrize(
    ("initSource", "methods", "reason", "line"),
    [
        (
            "raise RuntimeError('at import')\n",
            None,
            "import failed: RuntimeError: at import",
            "raise RuntimeError('at import')",
        ),
        (
            None,
            {"load": "raise RuntimeError('in load')"},
            "load failed: RuntimeError: in load",
            "raise RuntimeError('in load')",
        ),
        (
            None,
            {"stop": "raise RuntimeError('in stop')"},
            "stop failed: RuntimeError: in stop",
            "raise RuntimeError('in stop')",
        ),
    ],
    ids=["import", "load", "stop"],
)
def test_plugin_failure_is_logged_at_error_with_its_traceback(
    writer, makeLoader, resultOf, caplog, initSource, methods, reason, line
):
    """A failing plugin logs one ERROR record naming the plugin and the reason, followed by
    the traceback down to the raising line."""
    name = writer.write("logged", initSource=initSource, methods=methods)
    loader = makeLoader(LOGIC, [name])
    with caplog.at_level(logging.INFO, logger=LOADER_LOG):
        runAll(loader, resultOf)
    failures = [r for r in caplog.records if reason in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].levelno == logging.ERROR
    message = failures[0].getMessage()
    assert message.startswith(f"{name}: {reason}\nTraceback")
    assert line in message


def test_uninstalled_plugin_is_failed_with_advice(writer, makeLoader, resultOf):
    """An enabled name with no installed package says to install or disable it."""
    name = writer.name("ghost")
    loader = makeLoader(LOGIC, [name])
    resultOf(loader.loadAll())
    assert loader.plugin(name).status.reason == (
        "package not found on sys.path; install it in this service's environment or "
        'remove it from "plugin.enabled"'
    )


def test_bad_plugin_package_json_is_failed(writer, makeLoader, resultOf):
    """Invalid plugin_package.json fails the plugin with the file and position."""
    name = writer.write("badjson", packageJsonText='{"plugin": }')
    loader = makeLoader(LOGIC, [name])
    resultOf(loader.loadAll())
    reason = loader.plugin(name).status.reason
    assert reason.startswith(str(writer.root / name / "plugin_package.json") + ":1:12: invalid")


def test_entry_hook_class_with_abstract_methods_is_refused(writer, makeLoader, resultOf):
    """An entry hook class missing lifecycle methods is refused naming them."""
    source = (
        "from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC\n"
        "class Half(PluginLogicEntryHookABC):\n"
        "    def load(self): pass\n"
        "def peekLogicEntryHook():\n"
        "    return Half\n"
    )
    name = writer.write("half", initSource=source)
    loader = makeLoader(LOGIC, [name])
    resultOf(loader.loadAll())
    assert loader.plugin(name).status.reason.endswith(
        "Half (from peekLogicEntryHook()) leaves abstract methods unimplemented: "
        "start, stop, unload; implement them"
    )


def test_failed_load_releases_http_registrations(writer, makeLoader, resultOf, sites):
    """Resources a plugin added before its load() failed are removed from the site."""
    register = "self.platform.addAdminResource(b'api', Resource())"
    imports = "from twisted.web.resource import Resource\n"
    bad = writer.write("bad", methods={"load": f"{imports}{register}\nraise RuntimeError('x')"})
    good = writer.write("good", methods={"load": f"{imports}{register}"})
    loader = makeLoader(LOGIC, [bad, good])
    resultOf(loader.loadAll())
    assert sites["admin"].pluginNames() == [good]
    resultOf(loader.unloadAll())
    assert sites["admin"].pluginNames() == []


def test_stop_error_is_recorded_and_sequence_continues(writer, makeLoader, resultOf):
    """A stop() that raises is recorded as FAILED; every other stop and unload still runs."""
    a = writer.write("a")
    b = writer.write("b", methods={"stop": "raise RuntimeError('stop broke')"})
    loader = makeLoader(LOGIC, [a, b])
    runAll(loader, resultOf)
    assert writer.events()[-4:] == [("b", "stop"), ("a", "stop"), ("b", "unload"), ("a", "unload")]
    assert loader.plugin(b).status.state is PluginState.FAILED
    assert loader.plugin(b).status.reason == "stop failed: RuntimeError: stop broke"
    assert stateOf(loader, a) is PluginState.UNLOADED


def test_statuses_are_copies_in_enabled_order(writer, makeLoader, resultOf):
    """statuses() lists every enabled plugin in enabled order; editing a copy changes nothing."""
    b = writer.write("b", requires=["a"])
    a = writer.write("a")
    loader = makeLoader(LOGIC, [b, a])
    resultOf(loader.loadAll())
    statuses = loader.statuses()
    assert [(s.name, s.version, s.state) for s in statuses] == [
        (b, "1.0.0", PluginState.LOADED),
        (a, "1.0.0", PluginState.LOADED),
    ]
    statuses[0].state = PluginState.FAILED
    assert stateOf(loader, b) is PluginState.LOADED


class RequireSectionExtension:
    """A real loader extension: refuses plugins lacking a plugin_package.json section.

    It mirrors what the storage capability does (prepare before load, release after
    unload) and takes one reactor tick of 1 s to prepare, to prove it is awaited.
    """

    def __init__(self, section: str, clock: task.Clock, journal: list) -> None:
        self.section = section
        self.clock = clock
        self.journal = journal

    async def beforeLoad(self, plugin):
        await task.deferLater(self.clock, 1, lambda: None)
        if self.section not in plugin.metadata.raw:
            raise PluginValidationError(
                plugin.name, f'{plugin.metadata.path}: add a "{self.section}" section'
            )
        self.journal.append((plugin.name, "prepared"))

    def afterUnload(self, plugin):
        self.journal.append((plugin.name, "released"))


def test_extension_prepares_before_load_and_fails_only_its_plugin(
    writer, makeLoader, clock, resultOf
):
    """A failing beforeLoad fails that plugin only; afterUnload follows a successful one."""
    withSection = writer.write("with", packageJson=lambda doc: doc.update(extra={}))
    without = writer.write("without")
    extension = RequireSectionExtension("extra", clock, writer.journal.EVENTS)
    loader = makeLoader(LOGIC, [withSection, without], extensions=[extension])
    d = loader.loadAll()
    clock.advance(1)
    clock.advance(1)
    resultOf(d)
    assert loader.plugin(without).status.reason == (
        "RequireSectionExtension.beforeLoad failed: PluginValidationError: "
        f'{without}: {writer.root / without / "plugin_package.json"}: add a "extra" section'
    )
    resultOf(loader.unloadAll())
    assert writer.events() == [
        ("with", "prepared"),
        ("with", "load"),
        ("with", "unload"),
        ("with", "released"),
    ]


class BatchExtension:
    """A loader extension with ``beforeLoadAll``: records what it is given and when."""

    def __init__(self, journal: list, fail: bool = False) -> None:
        self.journal = journal
        self.fail = fail

    def beforeLoadAll(self, plugins):
        self.journal.append(("all", tuple(p.name for p in plugins), plugins[0].entryHook))
        if self.fail:
            raise RuntimeError("batch read failed")

    def beforeLoad(self, plugin):
        self.journal.append(("one", plugin.name))

    def afterUnload(self, plugin):
        pass


def test_before_load_all_runs_once_before_the_first_plugin_loads(writer, makeLoader, resultOf):
    """beforeLoadAll gets every plugin about to load, in load order and before any entry
    hook is built, once; a plugin skipped on this service is not among them."""
    b = writer.write("b", requires=["a"])
    a = writer.write("a")
    skipped = writer.write("skipped", services=["field"])
    journal: list = []
    loader = makeLoader(LOGIC, [b, a, skipped], extensions=[BatchExtension(journal)])
    resultOf(loader.loadAll())
    assert journal == [("all", (a, b), None), ("one", a), ("one", b)]


def test_failing_before_load_all_is_only_logged(writer, makeLoader, resultOf, caplog):
    """A failing beforeLoadAll is a lost shortcut: every plugin is still prepared and loads."""
    a = writer.write("a")
    journal: list = []
    loader = makeLoader(LOGIC, [a], extensions=[BatchExtension(journal, fail=True)])
    resultOf(loader.loadAll())
    assert stateOf(loader, a) is PluginState.LOADED
    assert journal[1:] == [("one", a)]
    assert "BatchExtension.beforeLoadAll failed" in caplog.text


def test_status_listeners_hear_every_state_change(writer, makeLoader, resultOf):
    """Each state change (a failure with its reason too) calls listeners until unsubscribed."""
    good = writer.write("good")
    bad = writer.write("bad", methods={"start": "raise RuntimeError('boom in start')"})
    loader = makeLoader(LOGIC, [good, bad])
    seen: list[dict] = []
    early: list[dict] = []

    def snapshot() -> dict:
        return {s.name: (s.state, s.reason) for s in loader.statuses()}

    loader.addStatusListener(lambda: seen.append(snapshot()))
    unsubscribeEarly = loader.addStatusListener(lambda: early.append(snapshot()))
    resultOf(loader.loadAll())
    unsubscribeEarly()
    resultOf(loader.startAll())
    resultOf(loader.stopAll())
    resultOf(loader.unloadAll())
    goodStates = [shot[good][0] for shot in seen]
    assert [s for i, s in enumerate(goodStates) if i == 0 or s is not goodStates[i - 1]] == [
        PluginState.LOADED,
        PluginState.STARTED,
        PluginState.STOPPED,
        PluginState.UNLOADED,
    ]
    assert (PluginState.FAILED, "start failed: RuntimeError: boom in start") in [
        shot[bad] for shot in seen
    ]
    assert early and all(shot[good][0] is PluginState.LOADED for shot in early)

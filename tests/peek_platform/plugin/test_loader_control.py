"""Runtime enable, disable and restart of one plugin (PluginLoader), on a twisted Clock."""

from __future__ import annotations

import importlib
import sys

import pytest

from peek_platform.plugin.errors import PluginControlError
from peek_platform.plugin.state import PluginState
from peek_platform.services import LOGIC
from vortex.Tuple import tupleForTupleName

#: Entry-hook class body: the plugin publishes an API and serves one admin resource.
SERVES = """\
@property
def publishedLogicApi(self):
    return {"from": self.name}
"""
LOAD_SERVES = """\
from twisted.web.resource import Resource
self.platform.addAdminResource(b"page", Resource())
"""
#: An ``__init__.py`` that journals each import and registers a tuple type.
TUPLE_INIT = """\
import JOURNAL as J
from vortex.Tuple import Tuple, addTupleType
from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC

J.EVENTS.append((__name__, "import"))


@addTupleType
class ThingTuple(Tuple):
    __tupleType__ = __name__ + ".ThingTuple"


class EntryHook(PluginLogicEntryHookABC):
    def load(self):
        J.EVENTS.append((self.name, "load"))

    def start(self):
        J.EVENTS.append((self.name, "start"))

    def stop(self):
        J.EVENTS.append((self.name, "stop"))

    def unload(self):
        J.EVENTS.append((self.name, "unload"))


def peekLogicEntryHook():
    return EntryHook
"""


@pytest.fixture
def started(writer, makeLoader, resultOf):
    """Build and start a logic loader over the given plugins; returns it."""

    def start(names):
        loader = makeLoader(LOGIC, names)
        resultOf(loader.loadAll())
        resultOf(loader.startAll())
        return loader

    return start


def test_disable_stops_unloads_releases_and_forgets_the_code(writer, started, sites, resultOf):
    """Disable: stop and unload run, the API and admin resources go, the modules leave
    sys.modules, and the state is DISABLED with the reason given."""
    name = writer.write("off", methods={"load": LOAD_SERVES}, classBody=SERVES)
    loader = started([name])
    assert sites["admin"].resourceFor(name) is not None
    assert name in sys.modules

    outcome = resultOf(loader.disablePlugin(name, "disabled by admin 'alice'"))

    assert writer.events()[-2:] == [("off", "stop"), ("off", "unload")]
    assert (outcome.action, outcome.changed, outcome.state) == (
        "disable",
        True,
        PluginState.DISABLED,
    )
    status = loader.plugin(name).status
    assert (status.state, status.reason) == (PluginState.DISABLED, "disabled by admin 'alice'")
    assert loader.getPluginApi(name) is None
    assert sites["admin"].resourceFor(name) is None
    assert name not in sys.modules


def test_enable_imports_the_code_again_and_starts(writer, started, resultOf):
    """Enable after disable: the package is imported afresh (its module code runs again),
    loaded and started; its tuple type is registered again, as the new class."""
    name = writer.write("again", initSource=TUPLE_INIT)
    loader = started([name])
    firstClass = tupleForTupleName(f"{name}.ThingTuple")
    resultOf(loader.disablePlugin(name))
    assert tupleForTupleName(f"{name}.ThingTuple") is None

    outcome = resultOf(loader.enablePlugin(name))

    assert (outcome.action, outcome.state) == ("enable", PluginState.STARTED)
    imports = [e for e in writer.journal.EVENTS if e == (name, "import")]
    assert len(imports) == 2
    assert writer.events()[-2:] == [("again", "load"), ("again", "start")]
    newClass = tupleForTupleName(f"{name}.ThingTuple")
    assert newClass is not None and newClass is not firstClass
    assert newClass is importlib.import_module(name).ThingTuple


def test_dependants_stop_first_and_come_back_with_it(writer, started, resultOf):
    """Disabling A stops B (which requires A) first and says so; enabling A brings B back,
    A before B."""
    a = writer.write("a")
    b = writer.write("b", requires=["a"])
    loader = started([a, b])
    before = len(writer.events())

    outcome = resultOf(loader.disablePlugin(a))

    assert outcome.dependants == (b,)
    assert writer.events()[before:] == [
        ("b", "stop"),
        ("b", "unload"),
        ("a", "stop"),
        ("a", "unload"),
    ]
    bStatus = loader.plugin(b).status
    assert bStatus.state is PluginState.DISABLED
    assert bStatus.reason == f"stopped because it requires {a} (disabled)"

    before = len(writer.events())
    outcome = resultOf(loader.enablePlugin(a))

    assert outcome.dependants == (b,)
    assert writer.events()[before:] == [
        ("a", "load"),
        ("a", "start"),
        ("b", "load"),
        ("b", "start"),
    ]
    assert loader.plugin(b).status.state is PluginState.STARTED


def test_enabling_a_dependant_alone_fails_naming_the_disabled_requirement(
    writer, started, resultOf
):
    """B enabled while A (which it requires) stays disabled fails, saying A is disabled."""
    a = writer.write("a")
    b = writer.write("b", requires=["a"])
    loader = started([a, b])
    resultOf(loader.disablePlugin(a))

    outcome = resultOf(loader.enablePlugin(b))

    assert outcome.state is PluginState.FAILED
    assert outcome.reason == f"requires {a}, which is disabled"


def test_code_held_elsewhere_refuses_and_changes_nothing(writer, started, resultOf, tmp_path):
    """A module outside the plugin holding its class: disable is refused with the holder
    named and a service restart advised; the plugin keeps running."""
    name = writer.write("held")
    loader = started([name])
    holder = f"holder_{writer.uid}"
    (writer.root / f"{holder}.py").write_text(f"from {name} import EntryHook\n")
    importlib.invalidate_caches()
    importlib.import_module(holder)
    before = writer.events()

    with pytest.raises(PluginControlError) as caught:
        resultOf(loader.disablePlugin(name))

    assert f"module {holder} holds 'EntryHook' from {name}" in str(caught.value)
    assert "restart the logic service instead" in str(caught.value)
    assert writer.events() == before
    assert loader.plugin(name).status.state is PluginState.STARTED
    assert name in sys.modules


def test_failing_stop_leaves_it_failed_until_a_service_restart(writer, started, resultOf):
    """stop() raising during a disable: FAILED, the reason says to restart, and a later
    enable is refused rather than importing over the half-stopped plugin."""
    name = writer.write("stuck", methods={"stop": "raise RuntimeError('jammed')"})
    loader = started([name])

    outcome = resultOf(loader.disablePlugin(name))

    assert outcome.state is PluginState.FAILED
    assert "stop failed: RuntimeError: jammed" in outcome.reason
    assert outcome.reason.endswith("restart the service to recover")
    with pytest.raises(PluginControlError, match="restart the logic service first"):
        resultOf(loader.enablePlugin(name))


def test_restart_runs_the_whole_lifecycle_once(writer, started, resultOf):
    """Restart: stop, unload, a fresh import, load, start, in that order; action restart."""
    name = writer.write("re", initSource=TUPLE_INIT)
    loader = started([name])
    before = len(writer.journal.EVENTS)

    outcome = resultOf(loader.restartPlugin(name))

    assert (outcome.action, outcome.changed, outcome.state) == (
        "restart",
        True,
        PluginState.STARTED,
    )
    assert writer.journal.EVENTS[before:] == [
        (name, "stop"),
        (name, "unload"),
        (name, "import"),
        (name, "load"),
        (name, "start"),
    ]


def test_enable_of_a_plugin_not_in_the_config_adds_it(writer, started, resultOf):
    """An installed plugin that was not enabled is enabled at runtime and started."""
    first = writer.write("first")
    later = writer.write("later")
    loader = started([first])
    assert loader.plugin(later) is None

    outcome = resultOf(loader.enablePlugin(later))

    assert outcome.state is PluginState.STARTED
    assert [s.name for s in loader.statuses()] == [first, later]


def test_enable_of_an_uninstalled_name_is_refused(writer, started, resultOf):
    """A name with no installed package is refused, and not added to the plugins."""
    loader = started([writer.write("only")])
    with pytest.raises(PluginControlError, match=r"package not found on sys\.path"):
        resultOf(loader.enablePlugin("peek_plugin_nowhere_to_be_found"))
    assert loader.plugin("peek_plugin_nowhere_to_be_found") is None


def test_asking_for_the_current_state_changes_nothing(writer, started, resultOf):
    """Enable of a started plugin and a second disable do nothing and say so."""
    name = writer.write("same")
    loader = started([name])
    before = len(writer.events())
    assert resultOf(loader.enablePlugin(name)).changed is False
    assert len(writer.events()) == before
    resultOf(loader.disablePlugin(name))
    assert resultOf(loader.disablePlugin(name)).changed is False


def test_skipped_and_unknown_plugins_are_refused(writer, started, resultOf):
    """A plugin that does not run here, or is not enabled, cannot be disabled."""
    skipped = writer.write("elsewhere", services=["field"])
    loader = started([skipped])
    with pytest.raises(PluginControlError, match="does not run on the logic service"):
        resultOf(loader.disablePlugin(skipped))
    with pytest.raises(PluginControlError, match="is not enabled on the logic service"):
        resultOf(loader.disablePlugin("peek_plugin_never"))

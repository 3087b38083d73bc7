"""Tests of the admin pages' vortex data: saving plugin settings with type checks."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import defer, reactor
from twisted.internet.testing import MemoryReactorClock

from peek_logic_service.admin.live_data import AdminLiveData
from peek_logic_service.admin.tuples import (
    ADMIN_FILT,
    ADMIN_OBSERVABLE_NAME,
    SET_PLUGIN_SETTING_ACTION,
    AdminPluginSettingTuple,
)
from peek_platform.config import loadServiceConfig
from peek_platform.services import LOGIC
from peek_platform.storage.plugin_settings import PluginSettingValue
from peek_plugin_base.settings.PluginSetting import PluginSetting, PluginSettingError
from vortex.handler.MessageUtil import ERROR_REFUSED, TupleActionError
from vortex.handler.TupleActionPushClient import TupleActionPushClient
from vortex.PayloadIO import PayloadIO
from vortex.TupleAction import TupleGenericAction
from vortex.VortexFactory import VortexFactory

SETTING = PluginSetting("peek_plugin_x", "limit", "int", 3, "How many.")


class FakeStore:
    """Records written values and serves them back."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def write(self, setting: PluginSetting, value: object) -> None:
        self.values[setting.name] = value


class FakeStorage:
    """The storage extension's settings API, synchronous."""

    def __init__(self) -> None:
        self.settingsStore = FakeStore()

    def listPluginSettings(self):
        value = self.settingsStore.values.get(SETTING.name, SETTING.default)
        return defer.succeed(
            [PluginSettingValue(SETTING, value, SETTING.name not in self.settingsStore.values)]
        )

    def inThread(self, fn, *args):
        return defer.maybeDeferred(fn, *args)


@pytest.fixture
def live(tmp_path):
    """AdminLiveData on a private vortex factory with the fake storage."""
    reactor = MemoryReactorClock()
    factory = VortexFactory("peek-logic-service", payloadIO=PayloadIO(), reactor=reactor)
    data = AdminLiveData(
        factory,
        statusView=None,
        storage=FakeStorage(),
        config=loadServiceConfig(LOGIC, tmp_path),
        logPath=tmp_path / "peek-logic.log",
        pluginTitle=lambda name: name.upper(),
        clock=reactor,
    )
    yield data
    data.shutdown()


def _outcome(d: defer.Deferred):
    """What a fired Deferred produced (a value or a Failure)."""
    outcome: list = []
    d.addBoth(outcome.append)
    assert outcome, "the Deferred has not fired"
    return outcome[0]


def _save(live, value):
    return _outcome(
        defer.Deferred.fromCoroutine(live.setPluginSetting("peek_plugin_x", "limit", value))
    )


def test_saving_a_value_of_the_declared_type_stores_it(live):
    """A well-typed value is written and answered as the setting's new tuple."""
    result = _save(live, 7)
    assert isinstance(result, AdminPluginSettingTuple)
    assert (result.value, result.isDefault, result.pluginTitle) == (7, False, "PEEK_PLUGIN_X")
    assert live._storage.settingsStore.values == {"limit": 7}


def test_value_of_the_wrong_type_is_refused_and_not_stored(live):
    """The server checks the type again: a string for an int setting is an error naming it."""
    failure = _save(live, "seven")
    assert failure.check(PluginSettingError)
    assert "'limit' is a int" in str(failure.value)
    assert live._storage.settingsStore.values == {}


def test_unknown_setting_is_refused(live):
    """A setting no loaded plugin declares is an error naming plugin and setting."""
    d = defer.Deferred.fromCoroutine(live.setPluginSetting("peek_plugin_x", "nope", 1))
    failure = _outcome(d)
    assert failure.check(PluginSettingError)
    assert "no setting 'nope'" in str(failure.value)


def test_unknown_action_key_is_refused(live):
    """An action other than setPluginSetting is answered with an error, never ignored."""
    delegate, _ = live.processor._delegates[TupleGenericAction.tupleName()]
    with pytest.raises(ValueError, match="unknown action 'drop'"):
        delegate.processTupleAction(TupleGenericAction(key="drop", data={}))


def _loadLinkedVortexes() -> Any:
    """Import tests/vortex/rpc/linkedvortexes.py once, under its own module name."""
    module = sys.modules.get("linkedvortexes")
    if module is None:
        path = Path(__file__).parents[2] / "vortex" / "rpc" / "linkedvortexes.py"
        spec = importlib.util.spec_from_file_location("linkedvortexes", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["linkedvortexes"] = module
        spec.loader.exec_module(module)
    return module


links = _loadLinkedVortexes()


@pytest.fixture
def linkedLive(tmp_path):
    """AdminLiveData on logic's vortex listening on loopback, and the link builder."""
    vortexes = links.Vortexes()
    logic = vortexes.server(links.LOGIC)
    data = AdminLiveData(
        logic,
        statusView=None,
        storage=FakeStorage(),
        config=loadServiceConfig(LOGIC, tmp_path),
        logPath=tmp_path / "peek-logic.log",
        pluginTitle=lambda name: name.upper(),
        clock=reactor,
    )
    yield data, vortexes
    data.shutdown()
    vortexes.shutdown()


def _pushSetting(factory, value):
    """Push setPluginSetting(limit=value) to logic's admin processor from factory."""
    client = TupleActionPushClient(
        links.LOGIC, ADMIN_OBSERVABLE_NAME, ADMIN_FILT, vortexFactory=factory
    )
    action = TupleGenericAction(
        key=SET_PLUGIN_SETTING_ACTION,
        data={"pluginName": "peek_plugin_x", "name": "limit", "value": value},
    )
    return client.pushAction(action)


def test_settings_action_from_an_admin_browser_is_saved(linkedLive):
    """A setPluginSetting action over an admin browser's link is stored and answered."""
    live, vortexes = linkedLive
    browser = vortexes.client("peek-admin-app", links.LOGIC, device=True)
    result = links.settle(_pushSetting(browser, 9))
    assert [(t.name, t.value) for t in result] == [("limit", 9)]
    assert live._storage.settingsStore.values == {"limit": 9}


@pytest.mark.parametrize(
    ("name", "device"),
    [(links.AGENT, False), ("peek-field-app", True)],
    ids=["service", "other-device"],
)
def test_settings_action_from_anyone_but_an_admin_browser_is_refused(linkedLive, name, device):
    """The admin processor refuses a setPluginSetting action from a service or from another
    app's device link, naming the sender, and stores nothing."""
    live, vortexes = linkedLive
    sender = vortexes.client(name, links.LOGIC, device=device)
    with pytest.raises(TupleActionError) as refused:
        links.settle(_pushSetting(sender, 9))
    assert refused.value.code == ERROR_REFUSED
    assert name in refused.value.remoteMessage
    assert live._storage.settingsStore.values == {}

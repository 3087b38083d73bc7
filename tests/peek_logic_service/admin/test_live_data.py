"""Tests of the admin pages' vortex data: saving plugin settings with type checks."""

from __future__ import annotations

import pytest
from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock

from peek_logic_service.admin.live_data import AdminLiveData
from peek_logic_service.admin.tuples import AdminPluginSettingTuple
from peek_platform.config import loadServiceConfig
from peek_platform.services import LOGIC
from peek_platform.storage.plugin_settings import PluginSettingValue
from peek_plugin_base.settings.PluginSetting import PluginSetting, PluginSettingError
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

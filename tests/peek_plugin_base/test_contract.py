"""The plugin contract: modern and legacy import paths, defaults, and abstract members."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import peek_plugin_base
from peek_platform.services import ALL_SERVICES
from peek_plugin_base import PeekVortexUtil
from peek_plugin_base.agent.PluginAgentEntryHookABC import PluginAgentEntryHookABC
from peek_plugin_base.client.PluginClientEntryHookABC import PluginClientEntryHookABC
from peek_plugin_base.field.PluginFieldEntryHookABC import PluginFieldEntryHookABC
from peek_plugin_base.logic.PeekLogicPlatformHookABC import PeekLogicPlatformHookABC
from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC
from peek_plugin_base.logic.PluginLogicStorageEntryHookABC import (
    PluginLogicStorageEntryHookABC,
)
from peek_plugin_base.office.PluginOfficeEntryHookABC import PluginOfficeEntryHookABC
from peek_plugin_base.server.PeekServerPlatformHookABC import PeekServerPlatformHookABC
from peek_plugin_base.server.PluginServerEntryHookABC import PluginServerEntryHookABC
from peek_plugin_base.server.PluginServerStorageEntryHookABC import (
    PluginServerStorageEntryHookABC,
)
from peek_plugin_base.worker.PluginWorkerEntryHookABC import PluginWorkerEntryHookABC


def _lifecycle(base: type) -> type:
    """A minimal concrete entry hook deriving from ``base``."""
    return type(
        f"Concrete{base.__name__}",
        (base,),
        {name: (lambda self: None) for name in ("load", "start", "stop", "unload")},
    )


def test_every_module_imports():
    """Every module of peek_plugin_base imports without error."""
    names = [m.name for m in pkgutil.walk_packages(peek_plugin_base.__path__, "peek_plugin_base.")]
    assert len(names) > 30
    for name in names:
        importlib.import_module(name)


def test_legacy_server_names_are_the_logic_classes():
    """The tutorial's server import paths name the very same classes as the logic ones."""
    assert PluginServerEntryHookABC is PluginLogicEntryHookABC
    assert PluginServerStorageEntryHookABC is PluginLogicStorageEntryHookABC
    assert PeekServerPlatformHookABC is PeekLogicPlatformHookABC


def test_field_and_office_hooks_are_client_hooks():
    """Field and office entry hooks derive from the legacy client ABC."""
    assert issubclass(PluginFieldEntryHookABC, PluginClientEntryHookABC)
    assert issubclass(PluginOfficeEntryHookABC, PluginClientEntryHookABC)


def test_lifecycle_methods_are_abstract():
    """An entry hook that leaves out a lifecycle method cannot be constructed."""

    class NoUnload(PluginLogicEntryHookABC):
        def load(self):
            return None

        def start(self):
            return None

        def stop(self):
            return None

    with pytest.raises(TypeError, match="unload"):
        NoUnload("peek_plugin_x", "/tmp")


@pytest.mark.parametrize(
    ("base", "apiNames"),
    [
        (PluginLogicEntryHookABC, ("publishedLogicApi", "publishedServerApi")),
        (PluginFieldEntryHookABC, ("publishedFieldApi", "publishedClientApi")),
        (PluginOfficeEntryHookABC, ("publishedOfficeApi", "publishedClientApi")),
        (PluginAgentEntryHookABC, ("publishedAgentApi",)),
        (PluginWorkerEntryHookABC, ("publishedWorkerApi",)),
    ],
)
def test_published_api_defaults_to_none(base, apiNames):
    """A plugin that publishes no API reports None under modern and legacy names."""
    hook = _lifecycle(base)("peek_plugin_x", "/tmp/x", platform=object())
    for apiName in apiNames:
        assert getattr(hook, apiName) is None


def test_legacy_published_server_api_follows_modern():
    """``publishedServerApi`` returns what the plugin publishes as ``publishedLogicApi``."""
    api = object()
    cls = _lifecycle(PluginLogicEntryHookABC)
    cls.publishedLogicApi = property(lambda self: api)
    assert cls("peek_plugin_x", "/tmp").publishedServerApi is api


def test_worker_defaults():
    """A worker plugin without tasks has no Celery includes."""
    hook = _lifecycle(PluginWorkerEntryHookABC)("peek_plugin_x", "/tmp")
    assert hook.celeryAppIncludes == []


def test_identity_properties(tmp_path):
    """Name, root dir, platform and title come from the constructor and plugin_package.json."""
    (tmp_path / "plugin_package.json").write_text(
        '{"plugin": {"title": "X Plugin", "packageName": "peek_plugin_x"}}'
    )
    platform = object()
    hook = _lifecycle(PluginAgentEntryHookABC)("peek_plugin_x", str(tmp_path), platform)
    assert (hook.name, hook.rootDir, hook.platform) == ("peek_plugin_x", str(tmp_path), platform)
    assert hook.title == "X Plugin"
    assert hook.packageCfg.plugin.packageName() == "peek_plugin_x"


def test_storage_without_connection_says_why():
    """Using storage before the platform connected it raises an error naming the plugin."""

    class Storage(PluginLogicStorageEntryHookABC):
        name = "peek_plugin_x"

        @property
        def dbMetadata(self):
            return None

    with pytest.raises(RuntimeError, match="peek_plugin_x: storage is not connected"):
        _ = Storage().dbEngine


def test_vortex_names_match_service_table():
    """PeekVortexUtil's names equal the service table, and legacy names alias them."""
    byKey = {spec.key: spec.vortexName for spec in ALL_SERVICES}
    assert PeekVortexUtil.peekLogicName == byKey["logic"]
    assert PeekVortexUtil.peekFieldName == byKey["field"]
    assert PeekVortexUtil.peekOfficeName == byKey["office"]
    assert PeekVortexUtil.peekAgentName == byKey["agent"]
    assert PeekVortexUtil.peekWorkerName == byKey["worker"]
    assert PeekVortexUtil.peekServerName == "peek-logic-service"
    assert PeekVortexUtil.peekAdminName == "peek-admin-app"

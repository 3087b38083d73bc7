"""LogicPlatformHook: admin and dataExchange site resources, database URL, device status."""

from __future__ import annotations

import re

import pytest
from twisted.internet import task
from twisted.web.resource import Resource

from peek_logic_service.platform_hook import LogicPlatformHook
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.identity.live_sessions import LiveSession, LiveSessionRegistry
from peek_platform.plugin.loader import PluginLoader
from peek_platform.services import LOGIC
from peek_plugin_base.logic.PeekLogicPlatformHookABC import PeekLogicPlatformHookABC
from peek_plugin_base.server.PeekServerPlatformHookABC import PeekServerPlatformHookABC


@pytest.fixture
def sites():
    return {"admin": SiteResources("admin"), "logic": SiteResources("logic")}


def makeHook(tmp_path, sites, config=None):
    loader = PluginLoader(LOGIC, [], lambda *args: None, reactor=task.Clock())
    return LogicPlatformHook(
        tmp_path,
        config if config is not None else {},
        "peek_plugin_a",
        loader,
        adminSite=sites["admin"],
        logicSite=sites["logic"],
    )


def test_implements_modern_and_legacy_logic_hooks(tmp_path, sites):
    """The hook is a complete logic platform hook under its modern and legacy names."""
    hook = makeHook(tmp_path, sites)
    assert isinstance(hook, PeekLogicPlatformHookABC)
    assert isinstance(hook, PeekServerPlatformHookABC)


def test_db_connect_string_comes_from_config(tmp_path, sites):
    """dbConnectString is sqlalchemy.connectUrl from the logic config."""
    hook = makeHook(tmp_path, sites, {"sqlalchemy.connectUrl": "sqlite:///x.db"})
    assert hook.dbConnectString == "sqlite:///x.db"


def test_db_connect_string_missing_names_the_key(tmp_path, sites):
    """Without sqlalchemy.connectUrl, dbConnectString fails naming the key."""
    message = "the logic service config has no 'sqlalchemy.connectUrl'"
    with pytest.raises(LookupError, match=re.escape(message)):
        makeHook(tmp_path, sites).dbConnectString  # noqa: B018


def test_admin_and_logic_resources_land_on_their_sites(tmp_path, sites):
    """addAdminResource goes to the admin site; addLogicResource and addServerResource to logic."""
    hook = makeHook(tmp_path, sites)
    admin, logic, server = Resource(), Resource(), Resource()
    hook.addAdminResource(b"admin", admin)
    hook.addLogicResource(b"logic", logic)
    hook.addServerResource(b"server", server)
    assert sites["admin"].resourceFor("peek_plugin_a").children == {b"admin": admin}
    assert sites["logic"].resourceFor("peek_plugin_a").children == {
        b"logic": logic,
        b"server": server,
    }
    assert hook.rootAdminResource is sites["admin"].resourceFor("peek_plugin_a")
    assert hook.rootServerResource is sites["logic"].resourceFor("peek_plugin_a")


def test_static_dirs_land_on_their_sites(tmp_path, sites):
    """addAdminStaticResourceDir and addServerStaticResourceDir serve on their own sites."""
    hook = makeHook(tmp_path, sites)
    hook.addAdminStaticResourceDir(str(tmp_path))
    hook.addServerStaticResourceDir(str(tmp_path))
    assert sites["admin"].resourceFor("peek_plugin_a").staticDir == tmp_path
    assert sites["logic"].resourceFor("peek_plugin_a").staticDir == tmp_path


def test_release_registrations_clears_both_sites(tmp_path, sites):
    """releaseRegistrations removes the plugin from the admin and the logic site."""
    hook = makeHook(tmp_path, sites)
    hook.addAdminResource(b"x", Resource())
    hook.addLogicResource(b"y", Resource())
    sites["admin"].pluginRoot("peek_plugin_other")
    hook.releaseRegistrations()
    assert sites["admin"].pluginNames() == ["peek_plugin_other"]
    assert sites["logic"].pluginNames() == []


def test_submit_celery_task_without_celery_fails_clearly(tmp_path):
    """Submitting a task when Celery is not running fails the Deferred, naming the plugin."""
    from twisted.trial.unittest import SynchronousTestCase

    from peek_logic_service.celery.errors import CeleryUnavailable

    hook = LogicPlatformHook(
        tmp_path,
        {},
        "peek_plugin_x",
        None,
        adminSite=SiteResources("admin"),
        logicSite=SiteResources("logic"),
    )
    failure = SynchronousTestCase().failureResultOf(hook.submitCeleryTask("some.task"))
    assert failure.check(CeleryUnavailable)
    assert "peek_plugin_x" in str(failure.value)


def test_device_status_api_reaches_plugins_and_their_listeners_go_on_unload(tmp_path, sites):
    """deviceStatusApi answers from logic's live sessions registry; the plugin's listeners
    are removed with its other registrations; without a registry it says so."""
    registry = LiveSessionRegistry()
    loader = PluginLoader(LOGIC, [], lambda *args: None, reactor=task.Clock())
    hook = LogicPlatformHook(
        tmp_path,
        {},
        "peek_plugin_a",
        loader,
        adminSite=sites["admin"],
        logicSite=sites["logic"],
        deviceStatus=registry,
    )
    heard = []
    hook.deviceStatusApi.addDeviceStatusListener(lambda *event: heard.append(event))
    online = LiveSession("ann", "local:ann", "field", "d1", 1.0, 2.0, 1)
    registry.replace("field-uuid", "field", [online])
    assert hook.deviceStatusApi.isDeviceOnline("d1")
    assert hook.deviceStatusApi.onlineDeviceIds() == {"d1"}
    hook.releaseRegistrations()
    registry.forget("field-uuid")
    assert heard == [("d1", True)]
    with pytest.raises(LookupError, match="tracks no device status"):
        makeHook(tmp_path, sites).deviceStatusApi.onlineDeviceIds()

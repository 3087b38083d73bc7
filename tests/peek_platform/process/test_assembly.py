"""Tests for peek_platform/process/assembly.py: services built from their descriptions."""

from __future__ import annotations

import dataclasses
import json
import sys
import uuid

import pytest
from twisted.internet.testing import MemoryReactorClock

from peek_platform.config import loadServiceConfig
from peek_platform.launcher import firstRunConfig
from peek_platform.process import assemble, serviceComposer, siteTrees
from peek_platform.services import AGENT, ALL_SERVICES, FIELD, LOGIC, SiteSpec
from peek_platform.web.app_shell import SITE_TITLES
from peek_platform.web.app_site import AppSiteExtension

SECRET = "a-test-secret-of-more-than-16-chars"


def test_every_service_has_an_installed_composition():
    """Each description's key names a ``peek.services`` entry point composing that service."""
    for spec in ALL_SERVICES:
        composition = serviceComposer(spec)(spec, siteTrees(spec))
        assert composition.extensions, spec.key
        assert callable(composition.platformHook)


def test_resource_trees_follow_the_sites():
    """A service's plugin resource trees are its sites, plus logic's non-site ``logic`` tree."""
    assert set(siteTrees(LOGIC)) == {"admin", "logic"}
    assert set(siteTrees(FIELD)) == {"field"}
    assert SITE_TITLES == {"admin": "Peek Admin", "field": "Peek Field", "office": "Peek Office"}


def test_first_run_config_gives_every_site_its_port_and_bind_address():
    """The launcher's first-run config sets each site's keys, moved by the base port."""
    for spec in ALL_SERVICES:
        document = firstRunConfig(spec, SECRET, basePort=9000, bindAddress="127.0.0.1")
        for site in spec.sites:
            section = document["httpServer"][site.name]
            assert section == {
                "sitePort": 9000 + site.defaultPort - 8000,
                "bindAddress": "127.0.0.1",
            }


def test_a_site_added_to_a_description_is_served_without_other_edits(tmp_path):
    """A new site in the field description gets config keys, a tree and a listening port."""
    kiosk = SiteSpec(
        name="kiosk", title="Kiosk", defaultPort=8004, description="the kiosk", appSite=True
    )
    spec = dataclasses.replace(FIELD, sites=(*FIELD.sites, kiosk))
    home = tmp_path / "home"
    home.mkdir()
    settings = {
        "dataExchange": {"secret": SECRET},
        "httpServer": {"field": {"sitePort": 18000}, "kiosk": {"sitePort": 18004}},
    }
    (home / "config.json").write_text(json.dumps(settings))
    config = loadServiceConfig(spec, home)
    reactor = MemoryReactorClock()
    sites = siteTrees(spec)
    composition = serviceComposer(FIELD)(spec, sites)
    ctx = assemble(spec, home, config, composition, reactor=reactor)

    appSites = [ext for ext in composition.extensions if isinstance(ext, AppSiteExtension)]
    assert [ext.site.name for ext in appSites] == ["field", "kiosk"]
    for extension in appSites:
        extension.startBeforePlugins(ctx)
    assert sorted(port for port, *_ in reactor.tcpServers) == [18000, 18004]
    assert json.loads((home / "config.json").read_text())["httpServer"]["kiosk"] == {
        "sitePort": 18004,
        "bindAddress": "0.0.0.0",
        "compressDeviceLinks": True,
        "requireLogin": True,
        "anonymousPermissions": [],
        "deviceEnrolment": "auto",
        "sessionIdleMinutes": 480,
        "sessionMaxHours": 24,
        "offlineApp": True,
        "offlineStoragePerPluginMB": 20,
        "deviceLinksPerAddress": 100,
        "newDeviceLinksPerAddressPerMinute": 300,
        "subscriptionsPerDeviceLink": 1000,
        "actionsPerDeviceLinkPerSecond": 200,
        "bytesPerDeviceLinkPerSecond": 4 * 1024 * 1024,
    }
    assert sites["kiosk"].siteName == "kiosk"
    assert [ext.auth.siteName for ext in appSites if ext.auth] == ["field", "kiosk"]


@pytest.mark.parametrize("spec", ALL_SERVICES, ids=lambda spec: spec.key)
def test_platform_hooks_come_from_the_composition(spec, tmp_path):
    """The loader a service is assembled with builds that service's own platform hook."""
    from peek_platform.testing.ServiceBuilder import makeServiceContext

    ctx = makeServiceContext(spec, tmp_path / spec.key)
    composition = serviceComposer(spec)(spec, siteTrees(spec))
    hook = composition.platformHook(ctx, "peek_plugin_x")
    assert type(hook).__module__ == f"peek_{spec.key}_service.platform_hook"


HUNG_PLUGIN = """\
from twisted.internet import defer

from peek_plugin_base.agent.PluginAgentEntryHookABC import PluginAgentEntryHookABC


class EntryHook(PluginAgentEntryHookABC):
    def load(self):
        return defer.Deferred()

    def start(self):
        pass

    def stop(self):
        pass

    def unload(self):
        pass


def peekAgentEntryHook():
    return EntryHook
"""


def test_configured_lifecycle_deadline_reaches_the_plugin_loader(tmp_path, monkeypatch):
    """plugin.lifecycleDeadlineSeconds from config.json is the deadline the assembled
    service's loader gives a plugin's load(), on the service's reactor clock."""
    name = f"peek_plugin_hung_{uuid.uuid4().hex[:10]}"
    site = tmp_path / "site-packages"
    (site / name).mkdir(parents=True)
    (site / name / "__init__.py").write_text(HUNG_PLUGIN)
    packageJson = {
        "plugin": {"title": "Hung", "packageName": name, "version": "1.0.0"},
        "requiresServices": ["agent"],
    }
    (site / name / "plugin_package.json").write_text(json.dumps(packageJson))
    monkeypatch.syspath_prepend(str(site))
    home = tmp_path / "home"
    home.mkdir()
    settings = {
        "dataExchange": {"secret": SECRET},
        "plugin": {"enabled": [name], "lifecycleDeadlineSeconds": 7},
    }
    (home / "config.json").write_text(json.dumps(settings))
    config = loadServiceConfig(AGENT, home)
    reactor = MemoryReactorClock()
    composition = serviceComposer(AGENT)(AGENT, siteTrees(AGENT))
    ctx = assemble(AGENT, home, config, composition, reactor=reactor)
    try:
        loading = ctx.loader.loadAll()
        reactor.advance(6.9)
        assert not loading.called
        reactor.advance(0.1)
        assert loading.called
        status = ctx.loader.plugin(name).status
        assert status.reason == "load did not finish within the 7 s deadline and was cancelled"
    finally:
        sys.modules.pop(name, None)

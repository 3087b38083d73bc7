"""Field and office hooks (peek_platform/app_site_hook.py): sites, legacy names, logic location."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import pytest
from twisted.internet import task
from twisted.web.resource import Resource

from peek_field_service.platform_hook import FieldPlatformHook
from peek_office_service.platform_hook import OfficePlatformHook
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.plugin.loader import PluginLoader
from peek_platform.services import FIELD, OFFICE, ServiceSpec
from peek_plugin_base.client.PeekClientPlatformHookABC import PeekClientPlatformHookABC

CONFIG = {"dataExchange.host": "logic.example", "dataExchange.port": 8011}


@dataclass(frozen=True)
class AppSite:
    """One app-site service: its hook, site and the legacy names it serves and ignores."""

    spec: ServiceSpec
    hookClass: type
    siteKeyword: str
    site: str
    legacy: str
    ignored: str
    ignoredBy: str

    def makeHook(self, tmp_path, site, config=CONFIG):
        loader = PluginLoader(self.spec, [], lambda *args: None, reactor=task.Clock())
        return self.hookClass(tmp_path, config, "peek_plugin_a", loader, **{self.siteKeyword: site})


APP_SITES = [
    AppSite(FIELD, FieldPlatformHook, "fieldSite", "Field", "Mobile", "Desktop", "office"),
    AppSite(OFFICE, OfficePlatformHook, "officeSite", "Office", "Desktop", "Mobile", "field"),
]


@pytest.fixture(params=APP_SITES, ids=lambda s: s.spec.key)
def app(request) -> AppSite:
    """Each app-site service in turn."""
    return request.param


def test_implements_the_legacy_client_hook(tmp_path, app):
    """The hook also serves legacy client plugins."""
    assert isinstance(
        app.makeHook(tmp_path, SiteResources(app.spec.key)), PeekClientPlatformHookABC
    )


def test_logic_location_comes_from_config(tmp_path, app):
    """peekLogicHost/Port (and legacy peekServerHost/Port) read dataExchange.*."""
    hook = app.makeHook(tmp_path, SiteResources(app.spec.key))
    assert (hook.peekLogicHost, hook.peekLogicHttpPort) == ("logic.example", 8011)
    assert (hook.peekServerHost, hook.peekServerHttpPort) == ("logic.example", 8011)


def test_missing_logic_port_names_the_key(tmp_path, app):
    """A config without dataExchange.port fails naming the key."""
    hook = app.makeHook(tmp_path, SiteResources(app.spec.key), {"dataExchange.host": "h"})
    with pytest.raises(LookupError, match=re.escape("has no 'dataExchange.port'")):
        hook.peekLogicHttpPort  # noqa: B018


def test_modern_and_legacy_resources_share_the_site(tmp_path, app):
    """add<Site>Resource and its legacy name both serve on the service's site."""
    site = SiteResources(app.spec.key)
    hook = app.makeHook(tmp_path, site)
    modern, legacy = Resource(), Resource()
    getattr(hook, f"add{app.site}Resource")(b"n", modern)
    getattr(hook, f"add{app.legacy}Resource")(b"l", legacy)
    getattr(hook, f"add{app.legacy}StaticResourceDir")(str(tmp_path))
    root = site.resourceFor("peek_plugin_a")
    assert root.children == {b"n": modern, b"l": legacy}
    assert root.staticDir == tmp_path
    assert getattr(hook, f"root{app.legacy}Resource") is root
    assert getattr(hook, f"root{app.site}Resource") is root


def test_other_apps_resources_are_ignored_with_one_info_line(tmp_path, caplog, app):
    """The other app's legacy calls are accepted, not served, and logged once as INFO."""
    site = SiteResources(app.spec.key)
    hook = app.makeHook(tmp_path, site)
    with caplog.at_level(logging.INFO, logger="peek_platform.platform_hook"):
        getattr(hook, f"add{app.ignored}Resource")(b"x", Resource())
        getattr(hook, f"add{app.ignored}StaticResourceDir")(str(tmp_path))
        getattr(hook, f"root{app.ignored}Resource").putChild(b"e", Resource())
    assert caplog.messages == [
        f"peek_plugin_a: {app.ignored.lower()} resources are served by the {app.ignoredBy} "
        f"service, not by {app.spec.key}; ignored here"
    ]
    assert site.pluginNames() == []

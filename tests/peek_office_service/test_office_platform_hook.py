"""OfficePlatformHook: office (and legacy desktop) resources, logic location."""

from __future__ import annotations

import logging
import re

import pytest
from twisted.internet import task
from twisted.web.resource import Resource

from peek_office_service.platform_hook import OfficePlatformHook
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.plugin.loader import PluginLoader
from peek_platform.services import OFFICE
from peek_plugin_base.client.PeekClientPlatformHookABC import PeekClientPlatformHookABC
from peek_plugin_base.office.PeekOfficePlatformHookABC import PeekOfficePlatformHookABC

CONFIG = {"dataExchange.host": "logic.example", "dataExchange.port": 8011}


def makeHook(tmp_path, site, config=CONFIG):
    loader = PluginLoader(OFFICE, [], lambda *args: None, reactor=task.Clock())
    return OfficePlatformHook(tmp_path, config, "peek_plugin_a", loader, officeSite=site)


def test_implements_office_and_legacy_client_hooks(tmp_path):
    """The hook serves both modern office plugins and legacy client plugins."""
    hook = makeHook(tmp_path, SiteResources("office"))
    assert isinstance(hook, PeekOfficePlatformHookABC)
    assert isinstance(hook, PeekClientPlatformHookABC)


def test_logic_location_comes_from_config(tmp_path):
    """peekLogicHost/Port (and legacy peekServerHost/Port) read dataExchange.*."""
    hook = makeHook(tmp_path, SiteResources("office"))
    assert (hook.peekLogicHost, hook.peekLogicHttpPort) == ("logic.example", 8011)
    assert (hook.peekServerHost, hook.peekServerHttpPort) == ("logic.example", 8011)


def test_missing_logic_port_names_the_key(tmp_path):
    """A config without dataExchange.port fails naming the key."""
    hook = makeHook(tmp_path, SiteResources("office"), {"dataExchange.host": "h"})
    with pytest.raises(LookupError, match=re.escape("has no 'dataExchange.port'")):
        hook.peekLogicHttpPort  # noqa: B018


def test_office_and_desktop_resources_share_the_office_site(tmp_path):
    """addOfficeResource and the legacy addDesktopResource both serve on the office site."""
    site = SiteResources("office")
    hook = makeHook(tmp_path, site)
    office, desktop = Resource(), Resource()
    hook.addOfficeResource(b"o", office)
    hook.addDesktopResource(b"d", desktop)
    hook.addDesktopStaticResourceDir(str(tmp_path))
    root = site.resourceFor("peek_plugin_a")
    assert root.children == {b"o": office, b"d": desktop}
    assert root.staticDir == tmp_path
    assert hook.rootDesktopResource is hook.rootOfficeResource is root


def test_mobile_resources_are_ignored_with_one_info_line(tmp_path, caplog):
    """Legacy mobile calls are accepted, not served, and logged once as INFO."""
    site = SiteResources("office")
    hook = makeHook(tmp_path, site)
    with caplog.at_level(logging.INFO, logger="peek_platform.platform_hook"):
        hook.addMobileResource(b"m", Resource())
        hook.addMobileStaticResourceDir(str(tmp_path))
        hook.rootMobileResource.putChild(b"e", Resource())
    assert caplog.messages == [
        "peek_plugin_a: mobile resources are served by the field service, not by office; "
        "ignored here"
    ]
    assert site.pluginNames() == []

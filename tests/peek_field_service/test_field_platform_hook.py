"""FieldPlatformHook: field (and legacy mobile) resources, logic location."""

from __future__ import annotations

import logging
import re

import pytest
from twisted.internet import task
from twisted.web.resource import Resource

from peek_field_service.platform_hook import FieldPlatformHook
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.plugin.loader import PluginLoader
from peek_platform.services import FIELD
from peek_plugin_base.client.PeekClientPlatformHookABC import PeekClientPlatformHookABC
from peek_plugin_base.field.PeekFieldPlatformHookABC import PeekFieldPlatformHookABC

CONFIG = {"dataExchange.host": "logic.example", "dataExchange.port": 8011}


def makeHook(tmp_path, site, config=CONFIG):
    loader = PluginLoader(FIELD, [], lambda *args: None, reactor=task.Clock())
    return FieldPlatformHook(tmp_path, config, "peek_plugin_a", loader, fieldSite=site)


def test_implements_field_and_legacy_client_hooks(tmp_path):
    """The hook serves both modern field plugins and legacy client plugins."""
    hook = makeHook(tmp_path, SiteResources("field"))
    assert isinstance(hook, PeekFieldPlatformHookABC)
    assert isinstance(hook, PeekClientPlatformHookABC)


def test_logic_location_comes_from_config(tmp_path):
    """peekLogicHost/Port (and legacy peekServerHost/Port) read dataExchange.*."""
    hook = makeHook(tmp_path, SiteResources("field"))
    assert (hook.peekLogicHost, hook.peekLogicHttpPort) == ("logic.example", 8011)
    assert (hook.peekServerHost, hook.peekServerHttpPort) == ("logic.example", 8011)


def test_missing_logic_port_names_the_key(tmp_path):
    """A config without dataExchange.port fails naming the key."""
    hook = makeHook(tmp_path, SiteResources("field"), {"dataExchange.host": "h"})
    with pytest.raises(LookupError, match=re.escape("has no 'dataExchange.port'")):
        hook.peekLogicHttpPort  # noqa: B018


def test_field_and_mobile_resources_share_the_field_site(tmp_path):
    """addFieldResource and the legacy addMobileResource both serve on the field site."""
    site = SiteResources("field")
    hook = makeHook(tmp_path, site)
    field, mobile = Resource(), Resource()
    hook.addFieldResource(b"f", field)
    hook.addMobileResource(b"m", mobile)
    hook.addMobileStaticResourceDir(str(tmp_path))
    root = site.resourceFor("peek_plugin_a")
    assert root.children == {b"f": field, b"m": mobile}
    assert root.staticDir == tmp_path
    assert hook.rootMobileResource is hook.rootFieldResource is root


def test_desktop_resources_are_ignored_with_one_info_line(tmp_path, caplog):
    """Legacy desktop calls are accepted, not served, and logged once as INFO."""
    site = SiteResources("field")
    hook = makeHook(tmp_path, site)
    with caplog.at_level(logging.INFO, logger="peek_platform.platform_hook"):
        hook.addDesktopResource(b"d", Resource())
        hook.addDesktopStaticResourceDir(str(tmp_path))
        hook.rootDesktopResource.putChild(b"e", Resource())
    assert caplog.messages == [
        "peek_plugin_a: desktop resources are served by the office service, not by field; "
        "ignored here"
    ]
    assert site.pluginNames() == []

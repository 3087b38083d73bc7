"""FieldPlatformHook is a field hook; shared app-site tests: test_app_site_hook.py."""

from __future__ import annotations

from twisted.internet import task

from peek_field_service.platform_hook import FieldPlatformHook
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.plugin.loader import PluginLoader
from peek_platform.services import FIELD
from peek_plugin_base.field.PeekFieldPlatformHookABC import PeekFieldPlatformHookABC


def test_implements_the_field_hook(tmp_path):
    """The hook is a complete modern field platform hook."""
    loader = PluginLoader(FIELD, [], lambda *args: None, reactor=task.Clock())
    hook = FieldPlatformHook(tmp_path, {}, "peek_plugin_a", loader, fieldSite=SiteResources("f"))
    assert isinstance(hook, PeekFieldPlatformHookABC)

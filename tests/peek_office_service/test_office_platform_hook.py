"""OfficePlatformHook is an office hook; shared app-site tests: test_app_site_hook.py."""

from __future__ import annotations

from twisted.internet import task

from peek_office_service.platform_hook import OfficePlatformHook
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.plugin.loader import PluginLoader
from peek_platform.services import OFFICE
from peek_plugin_base.office.PeekOfficePlatformHookABC import PeekOfficePlatformHookABC


def test_implements_the_office_hook(tmp_path):
    """The hook is a complete modern office platform hook."""
    loader = PluginLoader(OFFICE, [], lambda *args: None, reactor=task.Clock())
    hook = OfficePlatformHook(tmp_path, {}, "peek_plugin_a", loader, officeSite=SiteResources("o"))
    assert isinstance(hook, PeekOfficePlatformHookABC)

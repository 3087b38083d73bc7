"""The app manifest and service worker of the field and office sites (offline use)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from twisted.internet.defer import fail

from peek_platform import __version__ as PLATFORM_VERSION
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.identity.principal import LoginRefused
from peek_platform.testing.InMemoryBrowser import InMemoryBrowser
from peek_platform.web.app_site import buildAppSiteRoot
from peek_platform.web.listening import newSite
from peek_platform.web.offline_app import OfflineSettings
from peek_platform.web.site_auth import SiteAuth


def _browser(site, fakeVortex, clock, *, versions=None, offline=None, vortexJsDir=None):
    versions = versions if versions is not None else {}
    extra = {"vortexJsDir": vortexJsDir} if vortexJsDir is not None else {}
    root = buildAppSiteRoot(
        site,
        f"peek-{site.siteName}-service",
        statuses=list,
        pluginTitle=lambda name: name,
        vortexFactory=lambda: fakeVortex,
        pluginVersion=lambda name: versions.get(name, "0"),
        offline=offline,
        **extra,
    )
    return InMemoryBrowser(newSite(root, clock), host="localhost:8000")


def _caches(browser) -> dict[str, dict]:
    info = json.loads(browser.get("/app-info.json").text)
    return {cache.get("plugin", "shell"): cache for cache in info["offline"]["caches"]}


def test_manifest_lists_shell_client_and_plugin_files_under_versioned_cache_names(
    fakeVortex, clock, appDir
):
    """/app-info.json names the site's vortex name, versions and budget, and lists the shell,
    the vortex client and each plugin's files in caches named with their versions."""
    site = SiteResources("office")
    site.pluginRoot("peek_plugin_a").addStaticResourceDir(appDir)
    browser = _browser(
        site,
        fakeVortex,
        clock,
        versions={"peek_plugin_a": "1.2.3"},
        offline=OfflineSettings(storageBudgetBytes=12345),
    )
    response = browser.get("/app-info.json")
    assert (response.code, response.header("Content-Type")) == (200, "application/json")
    info = json.loads(response.text)
    assert info["vortexName"] == "peek-office-app"
    assert info["plugins"] == {"peek_plugin_a": "1.2.3"}
    assert info["offline"]["storageBudgetBytes"] == 12345
    caches = _caches(browser)
    assert caches["shell"]["name"].startswith(f"peek-office-shell-{PLATFORM_VERSION}-")
    assert {"/static/shell.mjs", "/vortex/js/index.js", "/vortex/js/offlineStorage.js"} <= set(
        caches["shell"]["urls"]
    )
    assert "/static/service-worker.js" not in caches["shell"]["urls"]
    plugin = caches["peek_plugin_a"]
    assert plugin["name"].startswith("peek-office-plugin-peek_plugin_a-1.2.3-")
    assert "/peek_plugin_a/" in plugin["urls"]
    assert "/peek_plugin_a/main.mjs" in plugin["urls"]
    assert "/peek_plugin_a/index.html" not in plugin["urls"]


def test_an_upgrade_or_an_edited_file_gives_new_cache_names(fakeVortex, clock, appDir):
    """A new plugin version, or a changed file with the same version, renames its cache, and
    the service worker script changes with it (so browsers install the new one)."""
    site = SiteResources("field")
    site.pluginRoot("peek_plugin_a").addStaticResourceDir(appDir)
    versions = {"peek_plugin_a": "1.0"}
    browser = _browser(site, fakeVortex, clock, versions=versions)
    first = _caches(browser)["peek_plugin_a"]["name"]
    firstScript = browser.get("/service-worker.js").text
    versions["peek_plugin_a"] = "1.1"
    upgraded = _caches(browser)["peek_plugin_a"]["name"]
    assert "-1.1-" in upgraded and upgraded != first
    module = Path(appDir) / "main.mjs"
    module.write_text("export const x = 2; // edited", encoding="utf-8")
    os.utime(module, ns=(1, 1))
    edited = _caches(browser)["peek_plugin_a"]["name"]
    assert edited != upgraded
    assert browser.get("/service-worker.js").text != firstScript


def test_service_worker_is_served_at_the_root_with_its_manifest(fakeVortex, clock):
    """/service-worker.js is JavaScript at the site root (its scope is the whole site), not
    cached by HTTP caches, and starts with the manifest it works from."""
    browser = _browser(SiteResources("field"), fakeVortex, clock)
    response = browser.get("/service-worker.js")
    assert response.code == 200
    assert response.header("Content-Type") == "text/javascript"
    assert response.header("Cache-Control") == "no-cache"
    head, _, body = response.text.partition(";\n")
    assert head.startswith("const PEEK_APP = ")
    assert json.loads(head.removeprefix("const PEEK_APP = "))["site"] == "field"
    assert 'self.addEventListener("fetch"' in body


def test_turning_offline_off_lists_no_caches(fakeVortex, clock, appDir):
    """With offlineApp false the manifest keeps nothing (the worker then removes itself)."""
    site = SiteResources("field")
    site.pluginRoot("peek_plugin_a").addStaticResourceDir(appDir)
    browser = _browser(site, fakeVortex, clock, offline=OfflineSettings(enabled=False))
    info = json.loads(browser.get("/app-info.json").text)
    assert info["offline"]["enabled"] is False
    assert info["offline"]["caches"] == []


def test_manifest_and_worker_are_public_on_a_site_with_logins(fakeVortex, clock):
    """Both answer without a login (they name no user); the shell still needs one."""
    auth = SiteAuth("field", lambda *a: fail(LoginRefused("no")), clock, idleSeconds=60)
    root = buildAppSiteRoot(
        SiteResources("field"),
        "peek-field-service",
        statuses=list,
        pluginTitle=lambda name: name,
        vortexFactory=lambda: fakeVortex,
        auth=auth,
    )
    browser = InMemoryBrowser(newSite(root, clock), host="localhost:8000")
    assert browser.get("/app-info.json").code == 200
    assert browser.get("/service-worker.js").code == 200
    assert browser.get("/", headers={"Accept": "text/html"}).code == 303

"""The field and office sites: app shell, health, static files, plugin apps, extension."""

from __future__ import annotations

import json
import re

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.defer import succeed
from twisted.internet.error import CannotListenError
from twisted.internet.testing import MemoryReactorClock

from peek_field_service.platform_hook import FieldPlatformHook
from peek_office_service.platform_hook import OfficePlatformHook
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.plugin.state import PluginState, PluginStatus
from peek_platform.services import FIELD, OFFICE
from peek_platform.testing.InMemoryBrowser import InMemoryBrowser
from peek_platform.web.app_site import AppSiteExtension, buildAppSiteRoot
from peek_platform.web.listening import WebSiteError, newSite
from vortex.VortexFactory import NoVortexException


def browserFor(siteResources, fakeVortex, clock, *, statuses=list, vortexJsDir=None, **kw):
    """An in-memory browser on a field/office site root built from ``siteResources``."""
    extra = {"vortexJsDir": vortexJsDir} if vortexJsDir is not None else {}
    root = buildAppSiteRoot(
        siteResources,
        f"peek-{siteResources.siteName}-service",
        statuses=statuses,
        pluginTitle=kw.get("pluginTitle", lambda name: name),
        vortexFactory=lambda: fakeVortex,
        **extra,
    )
    return InMemoryBrowser(newSite(root, clock), host="localhost:8000")


def test_shell_lists_plugins_that_registered_on_the_site(fakeVortex, clock, appDir):
    """``/`` links each plugin with a resource on this site to ``/<name>/``, and no others."""
    site = SiteResources("field")
    site.pluginRoot("peek_plugin_b").addStaticResourceDir(appDir)
    site.pluginRoot("peek_plugin_a").addResource(b"api", SiteResources("x").pluginRoot("y"))
    response = browserFor(site, fakeVortex, clock).get("/")
    assert response.code == 200
    assert re.findall(r'href="(/peek_plugin_[^"]+)"', response.text) == [
        "/peek_plugin_a/",
        "/peek_plugin_b/",
    ]


def test_shell_uses_plugin_titles_escaped(fakeVortex, clock, appDir):
    """The link text is the plugin's title, HTML-escaped."""
    site = SiteResources("field")
    site.pluginRoot("peek_plugin_a").addStaticResourceDir(appDir)
    browser = browserFor(site, fakeVortex, clock, pluginTitle=lambda name: "Jobs <&> Crews")
    assert "Jobs &lt;&amp;&gt; Crews" in browser.get("/").text


def test_shell_without_apps_says_so(fakeVortex, clock):
    """With no plugin app the shell says none is installed and has no app list."""
    text = browserFor(SiteResources("office"), fakeVortex, clock).get("/").text
    assert "No plugin ships a office app" in text
    assert 'class="apps"' not in text


def test_shell_is_accessible_html_with_module_and_no_cache(fakeVortex, clock):
    """The shell has a lang, a main landmark, a viewport, an ES module, and no-cache."""
    response = browserFor(SiteResources("field"), fakeVortex, clock).get("/")
    assert response.header("Content-Type") == "text/html; charset=utf-8"
    assert response.header("Cache-Control") == "no-cache"
    text = response.text
    assert '<html lang="en">' in text
    assert '<main id="main"' in text
    assert 'name="viewport"' in text
    assert '<script type="module" src="/static/shell.mjs"></script>' in text
    assert 'role="status"' in text


def test_shell_assets_are_served_with_web_content_types(fakeVortex, clock):
    """The shell's module and stylesheet come from /static/ with JavaScript and CSS types."""
    browser = browserFor(SiteResources("field"), fakeVortex, clock)
    script = browser.get("/static/shell.mjs")
    style = browser.get("/static/shell.css")
    assert (script.code, script.header("Content-Type")) == (200, "text/javascript")
    assert (style.code, style.header("Content-Type")) == (200, "text/css")


def test_every_response_has_security_headers(fakeVortex, clock):
    """Pages, health and not-found answers all carry nosniff, CSP, referrer and frame rules."""
    browser = browserFor(SiteResources("field"), fakeVortex, clock)
    for path in ("/", "/health", "/static/shell.css", "/peek_plugin_missing/"):
        response = browser.get(path)
        assert response.header("X-Content-Type-Options") == "nosniff"
        assert response.header("Referrer-Policy") == "same-origin"
        csp = response.header("Content-Security-Policy")
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp
        assert "connect-src 'self' ws://localhost:8000 wss://localhost:8000" in csp


def test_health_is_200_when_linked_to_logic(fakeVortex, clock):
    """Health answers 200 ok with linkedToLogic true once the logic link is up."""
    fakeVortex.linked.add("peek-logic-service")
    response = browserFor(SiteResources("field"), fakeVortex, clock).get("/health")
    assert response.code == 200
    assert response.header("Content-Type") == "application/json"
    body = json.loads(response.body)
    assert body["service"] == "peek-field-service"
    assert body["status"] == "ok"
    assert body["linkedToLogic"] is True


def test_health_is_503_with_reason_when_not_linked(fakeVortex, clock):
    """Without a logic link health answers 503 and says it is not linked."""
    response = browserFor(SiteResources("office"), fakeVortex, clock).get("/health")
    body = json.loads(response.body)
    assert response.code == 503
    assert body["status"] == "unavailable"
    assert body["linkedToLogic"] is False
    assert body["reasons"] == ["not linked to peek-logic-service"]


def test_health_is_503_while_plugins_start(fakeVortex, clock):
    """A plugin still loading makes health 503 and names the plugin."""
    fakeVortex.linked.add("peek-logic-service")
    statuses = lambda: [PluginStatus("peek_plugin_a", state=PluginState.LOADED)]  # noqa: E731
    browser = browserFor(SiteResources("field"), fakeVortex, clock, statuses=statuses)
    response = browser.get("/health")
    assert response.code == 503
    assert json.loads(response.body)["reasons"] == ["plugins are still starting: peek_plugin_a"]


def test_plugin_static_dir_is_served_under_its_path(fakeVortex, clock, appDir):
    """A plugin's static app is served at /<pluginName>/ with the right content types."""
    site = SiteResources("field")
    site.pluginRoot("peek_plugin_a").addStaticResourceDir(appDir)
    browser = browserFor(site, fakeVortex, clock)
    index = browser.get("/peek_plugin_a/")
    assert (index.code, index.body) == (200, b"<p>plugin app</p>")
    expected = {
        "main.mjs": "text/javascript",
        "old.js": "text/javascript",
        "style.css": "text/css",
        "data.json": "application/json",
    }
    for name, contentType in expected.items():
        response = browser.get(f"/peek_plugin_a/{name}")
        assert (response.code, response.header("Content-Type")) == (200, contentType), name


@pytest.mark.parametrize(
    "path",
    [
        "/peek_plugin_a/../secret.txt",
        "/peek_plugin_a/%2e%2e/secret.txt",
        "/peek_plugin_a/..%2fsecret.txt",
        "/peek_plugin_a/sub/..%2f..%2fsecret.txt",
        "/peek_plugin_a/%2fetc%2fpasswd",
    ],
)
def test_static_dir_cannot_be_escaped(fakeVortex, clock, appDir, path):
    """Paths climbing out of the plugin's static dir are not found, never the file."""
    site = SiteResources("field")
    site.pluginRoot("peek_plugin_a").addStaticResourceDir(appDir)
    response = browserFor(site, fakeVortex, clock).get(path)
    assert response.code == 404
    assert b"outside the app dir" not in response.body


def test_directory_without_index_is_not_listed(fakeVortex, clock, appDir):
    """A sub directory without index.html is not found instead of listed."""
    site = SiteResources("field")
    site.pluginRoot("peek_plugin_a").addStaticResourceDir(appDir)
    response = browserFor(site, fakeVortex, clock).get("/peek_plugin_a/sub/")
    assert response.code == 404
    assert b"note.txt" not in response.body


def test_unknown_and_released_plugins_are_not_found(fakeVortex, clock, appDir):
    """An unknown plugin name is 404, and so is a plugin after its tree is released."""
    site = SiteResources("field")
    site.pluginRoot("peek_plugin_a").addStaticResourceDir(appDir)
    browser = browserFor(site, fakeVortex, clock)
    assert browser.get("/peek_plugin_other/").code == 404
    assert browser.get("/peek_plugin_a/").code == 200
    site.release("peek_plugin_a")
    assert browser.get("/peek_plugin_a/").code == 404


def test_vortex_js_is_served_only_when_present(fakeVortex, clock, tmp_path):
    """/vortex/js/ serves the client's files once its directory exists, 404 before."""
    jsDir = tmp_path / "vortex" / "js"
    browser = browserFor(SiteResources("field"), fakeVortex, clock, vortexJsDir=jsDir)
    assert browser.get("/vortex/js/index.mjs").code == 404
    jsDir.mkdir(parents=True)
    (jsDir / "index.mjs").write_text("export {};", encoding="utf-8")
    response = browser.get("/vortex/js/index.mjs")
    assert (response.code, response.header("Content-Type")) == (200, "text/javascript")
    assert browser.get("/vortex/").code == 404


@pytest.mark.parametrize(
    ("spec", "hookClass", "siteKwarg", "method"),
    [
        (FIELD, FieldPlatformHook, "fieldSite", "addFieldStaticResourceDir"),
        (FIELD, FieldPlatformHook, "fieldSite", "addMobileStaticResourceDir"),
        (OFFICE, OfficePlatformHook, "officeSite", "addOfficeStaticResourceDir"),
        (OFFICE, OfficePlatformHook, "officeSite", "addDesktopStaticResourceDir"),
    ],
)
def test_platform_hook_static_dirs_are_served_by_the_site(
    fakeVortex, clock, appDir, tmp_path, spec, hookClass, siteKwarg, method
):
    """Modern and manual hook names put the plugin's app on its own service's site."""
    site = SiteResources(spec.key)
    hook = hookClass(tmp_path, {}, "peek_plugin_a", None, **{siteKwarg: site})
    getattr(hook, method)(str(appDir))
    browser = browserFor(site, fakeVortex, clock)
    assert browser.get("/peek_plugin_a/main.mjs").body == b"export const x = 1;"
    assert 'href="/peek_plugin_a/"' in browser.get("/").text


def test_platform_hook_resources_are_served_under_the_plugin(fakeVortex, clock, tmp_path):
    """addFieldResource and addMobileResource serve under /<pluginName>/<subPath> only."""
    from twisted.web.static import Data

    site = SiteResources("field")
    hook = FieldPlatformHook(tmp_path, {}, "peek_plugin_a", None, fieldSite=site)
    hook.addFieldResource(b"api", Data(b"field api", "text/plain"))
    hook.addMobileResource(b"legacy", Data(b"mobile api", "text/plain"))
    browser = browserFor(site, fakeVortex, clock)
    assert browser.get("/peek_plugin_a/api").body == b"field api"
    assert browser.get("/peek_plugin_a/legacy").body == b"mobile api"
    assert browser.get("/api").code == 404


class _Ctx:
    """The parts of ServiceContext the extension reads."""

    def __init__(self, spec, reactor, port=0, compress=True):
        self.spec = spec
        self.reactor = reactor
        self.loader = None
        key = spec.key
        self.config = {
            f"httpServer.{key}.sitePort": port,
            f"httpServer.{key}.bindAddress": "127.0.0.1",
            f"httpServer.{key}.compressDeviceLinks": compress,
            f"httpServer.{key}.requireLogin": False,
            f"httpServer.{key}.anonymousPermissions": ["tests.kiosk"],
            f"httpServer.{key}.deviceLinksPerAddress": 100,
            f"httpServer.{key}.newDeviceLinksPerAddressPerMinute": 300,
            f"httpServer.{key}.subscriptionsPerDeviceLink": 1000,
            f"httpServer.{key}.actionsPerDeviceLinkPerSecond": 200,
            f"httpServer.{key}.bytesPerDeviceLinkPerSecond": 4 * 1024 * 1024,
            f"httpServer.{key}.offlineApp": True,
            f"httpServer.{key}.offlineStoragePerPluginMB": 20,
        }


def test_extension_listens_on_configured_port_and_mounts_device_vortex(fakeVortex):
    """The site listens before plugins load; the device vortex is mounted once they started,
    with the site's per-link quota and, logins off, anonymous devices holding the kiosk's
    configured permissions."""
    reactor = MemoryReactorClock()
    extension = AppSiteExtension(
        FIELD.site("field"), SiteResources("field"), vortexFactory=lambda: fakeVortex
    )
    ctx = _Ctx(FIELD, reactor, port=18000)
    extension.startBeforePlugins(ctx)
    port, _site, _backlog, interface = reactor.tcpServers[0]
    assert (port, interface) == (18000, "127.0.0.1")
    browser = InMemoryBrowser(reactor.tcpServers[0][1])
    assert fakeVortex.listens == []
    assert browser.get("/vortexws").body != b"vortex endpoint"
    extension.startAfterPlugins(ctx)
    [listen] = fakeVortex.listens
    assert {key: listen[key] for key in ("secret", "allowDevices")} == {
        "secret": None,
        "allowDevices": True,
    }
    assert listen["deviceQuota"].actionsPerSecond == 200
    kiosk = listen["deviceIdentity"]("127.0.0.1:5000")
    assert kiosk.isAnonymous and kiosk.permissions == {"tests.kiosk"} and kiosk.site == "field"
    assert browser.get("/vortexws").body == b"vortex endpoint"
    assert listen["permessageDeflate"] is True


@pytest.mark.parametrize("compress", [True, False])
def test_compress_device_links_setting_reaches_the_device_vortex(fakeVortex, compress):
    """``httpServer.<site>.compressDeviceLinks`` decides whether the device endpoint accepts
    the browsers' offer of permessage-deflate."""
    extension = AppSiteExtension(
        OFFICE.site("office"), SiteResources("office"), vortexFactory=lambda: fakeVortex
    )
    ctx = _Ctx(OFFICE, MemoryReactorClock(), compress=compress)
    extension.startBeforePlugins(ctx)
    extension.startAfterPlugins(ctx)
    [listen] = fakeVortex.listens
    assert listen["permessageDeflate"] is compress


class _RecordingPort:
    """A listening port that records being stopped."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.stopped = False

    def getHost(self):
        return IPv4Address("TCP", "127.0.0.1", self.port)

    def stopListening(self):
        self.stopped = True
        return succeed(None)


class _RecordingReactor(MemoryReactorClock):
    """Hands out recording ports."""

    def listenTCP(self, port, factory, backlog=50, interface=""):
        self.tcpServers.append((port, factory, backlog, interface))
        self.port = _RecordingPort(port)
        return self.port


def test_extension_stop_closes_the_port(fakeVortex):
    """stopAfterPlugins stops listening once; a second call has nothing to stop."""
    reactor = _RecordingReactor()
    extension = AppSiteExtension(
        OFFICE.site("office"), SiteResources("office"), vortexFactory=lambda: fakeVortex
    )
    ctx = _Ctx(OFFICE, reactor)
    extension.startBeforePlugins(ctx)
    assert not reactor.port.stopped
    stopping = extension.stopAfterPlugins(ctx)
    assert reactor.port.stopped
    assert stopping.called
    assert extension.stopAfterPlugins(ctx) is None


def test_extension_without_vortex_serves_no_vortexws(tmp_path):
    """With no vortex in the process the site still starts, and /vortexws is not found."""

    def noVortex():
        raise NoVortexException("no vortex in this process")

    reactor = MemoryReactorClock()
    extension = AppSiteExtension(
        FIELD.site("field"), SiteResources("field"), vortexFactory=noVortex
    )
    extension.startBeforePlugins(_Ctx(FIELD, reactor))
    assert InMemoryBrowser(reactor.tcpServers[0][1]).get("/vortexws").code == 404


def test_extension_port_in_use_names_key_and_port(fakeVortex):
    """A port that cannot be bound fails start with the key, address and port named."""

    class BusyReactor(MemoryReactorClock):
        def listenTCP(self, port, factory, backlog=50, interface=""):
            raise CannotListenError(interface, port, OSError(98, "Address already in use"))

    extension = AppSiteExtension(
        FIELD.site("field"), SiteResources("field"), vortexFactory=lambda: fakeVortex
    )
    with pytest.raises(WebSiteError) as info:
        extension.startBeforePlugins(_Ctx(FIELD, BusyReactor(), port=8000))
    message = str(info.value)
    assert "httpServer.field.sitePort" in message
    assert "127.0.0.1:8000" in message
    assert "Address already in use" in message

"""Fixtures for the browser tests: all five services on free ports, and headless Chromium.

The services run as real processes under a temp ``$PEEK_HOME_ROOT``, with the noop plugin
on every service and the browser-test plugin (``btest_plugin/``, settings only) on logic.
Chromium is Debian's ``/usr/bin/chromium`` driven by Playwright; without it the tests fail.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from peek_platform.config import keysForService, setDotted
from peek_platform.services import ALL_SERVICES, serviceByKey
from peek_platform.testing.ServiceProcess import ServiceProcess
from peek_plugin_base.testing.FreePort import freeTcpPort

#: Seconds any single wait may take.
WAIT_SECONDS = 30.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_PASSWORD = "browser-test-password-42"
SECRET = "browser-test-data-exchange-secret"
PLUGIN_DIR = Path(__file__).resolve().parent / "btest_plugin"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
#: Plugins enabled per service key.
ENABLED = {"logic": ["peek_plugin_noop", "peek_plugin_btest"]}


class Platform:
    """The five services of one temp home root; services can be stopped and started again."""

    #: The recovery admin's password on this platform (every site accepts it).
    adminPassword = ADMIN_PASSWORD

    def __init__(self, homeRoot: Path) -> None:
        self.homeRoot = homeRoot
        self.env = dict(os.environ)
        self.env["PEEK_HOME_ROOT"] = str(homeRoot)
        self.env["PYTHONUNBUFFERED"] = "1"
        self.env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PLUGIN_DIR), self.env.get("PYTHONPATH", "")) if p
        )
        self.homes: dict[str, Path] = {}
        self.running: dict[str, ServiceProcess] = {}
        self._writeConfigs()

    def _writeConfigs(self) -> None:
        ports: dict[str, int] = {}
        for spec in ALL_SERVICES:
            document: dict = {"plugin": {"enabled": ENABLED.get(spec.key, ["peek_plugin_noop"])}}
            for key in keysForService(spec):
                # The shared data exchange port and each site's own port; other listeners
                # (metrics) keep their defaults, as a port shared by key would clash.
                if key.path == "dataExchange.port" or (
                    key.path.startswith("httpServer.") and key.path.endswith(".sitePort")
                ):
                    ports.setdefault(key.path, freeTcpPort())
                    setDotted(document, key.path, ports[key.path])
                if key.path.endswith(".bindAddress") and key.path.startswith("httpServer."):
                    setDotted(document, key.path, "127.0.0.1")
            setDotted(document, "dataExchange.secret", SECRET)
            setDotted(document, "dataExchange.heartbeatSeconds", 1)
            setDotted(document, "dataExchange.reconnectMaxSeconds", 0.5)
            if spec.key == "logic":
                setDotted(document, "admin.recoveryPassword", ADMIN_PASSWORD)
            home = self.homeRoot / spec.homeDirName
            home.mkdir(parents=True, exist_ok=True)
            (home / "config.json").write_text(json.dumps(document), encoding="utf-8")
            self.homes[spec.key] = home
        self.ports = ports

    def siteUrl(self, siteName: str) -> str:
        """``http://127.0.0.1:<port>`` of the admin, field or office site."""
        return f"http://127.0.0.1:{self.ports[f'httpServer.{siteName}.sitePort']}"

    def start(self, key: str) -> ServiceProcess:
        """Start the service ``key`` (it must not be running)."""
        spec = serviceByKey(key)
        self.running[key] = ServiceProcess.forService(
            spec, self.env, home=self.homes[key], timeout=WAIT_SECONDS
        )
        return self.running[key]

    def stop(self, key: str) -> None:
        """Stop the service ``key`` and wait for it to exit."""
        self.running.pop(key).stop()

    def waitHealthy(self, siteName: str, timeout: float = WAIT_SECONDS) -> None:
        """Wait until the site's ``/health`` answers 200."""
        deadline = time.monotonic() + timeout
        url = self.siteUrl(siteName) + "/health"
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError as e:
                last = str(e)
            time.sleep(0.2)
        pytest.fail(f"{url} not healthy within {timeout} s ({last})")

    def ensureRunning(self) -> None:
        """Start every service that is not running (logic first), then wait until each one
        started has started its plugins and the admin and field sites are healthy."""
        started = [spec for spec in ALL_SERVICES if spec.key not in self.running]
        for spec in started:
            self.start(spec.key)
        for spec in started:
            self.running[spec.key].waitForLine(rf"{spec.vortexName} started: ")
        self.waitHealthy("admin")
        self.waitHealthy("field")

    def stopAll(self) -> None:
        """Stop every running service."""
        for key in list(self.running):
            self.stop(key)


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """All five services running, the sites healthy (field linked to logic)."""
    running = Platform(tmp_path_factory.mktemp("peek-browser-home"))
    try:
        running.ensureRunning()
        yield running
    finally:
        running.stopAll()


@pytest.fixture(autouse=True)
def allServicesRunning(platform: Platform) -> Iterator[None]:
    """Every test starts with all five services running and leaves them so: a service a
    test stopped and did not start again (it failed half-way) is started after it. Tests
    therefore run alone and in any order."""
    platform.ensureRunning()
    yield
    platform.ensureRunning()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Chromium (``/usr/bin/chromium``) under Playwright."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_SECONDS * 1000)

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def context(browser) -> Iterator[object]:
    """A fresh browser context (own cookies and storage) for one test."""
    ctx = browser.new_context()
    ctx.set_default_timeout(WAIT_SECONDS * 1000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture(name="login")
def loginFixture(platform):
    """``login(page, password=ADMIN_PASSWORD, path="/", site="admin")``: log in as the
    recovery admin through the site's login form, then open ``path``."""

    def login(page, password: str = ADMIN_PASSWORD, path: str = "/", site: str = "admin"):
        base = platform.siteUrl(site)
        page.goto(base + "/login")
        page.get_by_label("User name").fill("admin")
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        if path != "/" and password == ADMIN_PASSWORD:
            page.goto(base + path)  # the hash of a section never reaches the server
        return page

    return login


@pytest.fixture(name="screenshot")
def screenshotFixture():
    """``screenshot(page, name)``: save a PNG to ``tests/browser/screenshots/``."""

    def save(page, name: str) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save

"""Fixtures for the admin site tests: a built admin site, a logged-in browser and a migrated
platform database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from twisted.internet.defer import fail, succeed
from twisted.internet.task import Clock
from twisted.web.static import Data

from peek_logic_service.admin.site import buildAdminSiteRoot
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.identity.principal import LoginRefused, Principal
from peek_platform.identity.recovery import RecoveryCredentials
from peek_platform.testing.InMemoryBrowser import InMemoryBrowser
from peek_platform.web.listening import newSite
from peek_platform.web.login_throttle import LoginThrottle
from peek_platform.web.site_auth import SiteAuth

#: The recovery login the test site accepts.
USER, PASSWORD = "admin", "correct horse battery"
#: Seconds of idle time before a test session ends.
IDLE_SECONDS = 600.0
#: Host:port the test browser addresses, and the matching Origin.
HOST = "peek.test:8010"
ORIGIN = f"http://{HOST}"


def recoveryCheck(credentials: RecoveryCredentials):
    """A login check that knows only the recovery admin (logic's identity stands in)."""

    def check(user: str, password: str, site: str):
        if credentials.matches(user, password):
            principal = Principal(
                f"recovery:{user}", user, frozenset({"recovery"}), frozenset({"admin"})
            )
            return succeed(principal)
        return fail(LoginRefused("wrong user name or password"))

    return check


class AdminSite:
    """A built admin site with its clock, auth state and plugin registry."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.plugins = SiteResources("admin")
        self.auth = SiteAuth(
            "admin",
            recoveryCheck(RecoveryCredentials(USER, PASSWORD)),
            self.clock,
            idleSeconds=IDLE_SECONDS,
            requiredPermission="admin",
            throttle=LoginThrottle(self.clock, freeFailures=2, baseDelaySeconds=10),
        )
        self.vortex = Data(b"admin vortex endpoint", "text/plain")
        root = buildAdminSiteRoot(
            self.plugins,
            self.auth,
            "peek-logic-service",
            statuses=list,
            pluginTitle=lambda name: name.replace("peek_plugin_", "").title(),
            deviceVortex=self.vortex,
        )
        self.site = newSite(root, self.clock)

    user, password, origin, idleSeconds = USER, PASSWORD, ORIGIN, IDLE_SECONDS

    def browser(self, **kwargs) -> InMemoryBrowser:
        """A fresh browser (no cookies) on this site."""
        kwargs.setdefault("host", HOST)
        return InMemoryBrowser(self.site, **kwargs)

    def serveApi(self, moreApi) -> AdminSite:
        """Rebuild the site (plain plugin titles, no device vortex) with ``moreApi`` beside the
        admin API, on the current ``auth``; this site."""
        root = buildAdminSiteRoot(
            self.plugins,
            self.auth,
            "peek-logic-service",
            statuses=list,
            pluginTitle=str,
            moreApi=moreApi,
        )
        self.site = newSite(root, self.clock)
        return self

    @staticmethod
    def loginFormToken(browser: InMemoryBrowser) -> str:
        """Open the login page and return its CSRF token."""
        page = browser.get("/login")
        match = re.search(r'name="csrfToken" value="([^"]+)"', page.text)
        assert match, page.text
        return match.group(1)

    def logIn(self, browser: InMemoryBrowser, password: str = PASSWORD, **extra: str):
        """Submit the login form (same origin, with the form's token); return the response."""
        form = {"username": USER, "password": password, "csrfToken": self.loginFormToken(browser)}
        form.update(extra)
        return browser.post("/login", form=form, headers={"Origin": ORIGIN})

    @staticmethod
    def shellToken(browser: InMemoryBrowser) -> str:
        """The session's CSRF token as the shell page carries it."""
        match = re.search(r'<meta name="csrf-token" content="([^"]+)">', browser.get("/").text)
        assert match
        return match.group(1)


@pytest.fixture
def admin() -> AdminSite:
    """A fresh admin site."""
    return AdminSite()


@pytest.fixture
def loggedIn(admin: AdminSite) -> InMemoryBrowser:
    """A browser logged in to ``admin``."""
    browser = admin.browser()
    assert admin.logIn(browser).code == 303
    return browser


@pytest.fixture
def browser(site: AdminSite) -> InMemoryBrowser:
    """A browser logged in as the recovery admin to ``site``, the test module's own fixture
    (the admin site with the module's API, see ``AdminSite.serveApi``)."""
    browser = site.browser()
    assert site.logIn(browser).code == 303
    return browser


@pytest.fixture
def adminApp(tmp_path: Path) -> Path:
    """A plugin's admin static dir, with a file beside it that must stay unreachable."""
    directory = tmp_path / "admin_app"
    directory.mkdir()
    (directory / "index.html").write_text("<p>plugin admin</p>", encoding="utf-8")
    (directory / "page.mjs").write_text("export {};", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("not for browsers", encoding="utf-8")
    return directory

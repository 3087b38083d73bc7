"""Logins on the field and office sites: the guard, login and logout pages, sessions."""

from __future__ import annotations

import json
import re

import pytest
from twisted.internet.defer import fail, succeed

from peek_platform.http.plugin_resources import SiteResources
from peek_platform.identity.principal import DirectoryUnavailable, LoginRefused, Principal
from peek_platform.testing.InMemoryBrowser import InMemoryBrowser
from peek_platform.web.app_site import buildAppSiteRoot
from peek_platform.web.listening import newSite
from peek_platform.web.login_throttle import LoginThrottle
from peek_platform.web.site_auth import SiteAuth

HOST = "peek.test:8000"
ORIGIN = f"http://{HOST}"
PAGE = {"Accept": "text/html"}
USERS = {"ann": "ann-password-1"}


def check(user: str, password: str, site: str):
    """A login check knowing one user; ``down`` stands for an unreachable directory."""
    if user == "down":
        return fail(DirectoryUnavailable("LDAP directory corp at ldap://dc1 is unreachable"))
    if USERS.get(user) == password:
        return succeed(Principal(f"local:{user}", user, frozenset(), frozenset({"x.edit"})))
    return fail(LoginRefused("wrong user name or password"))


class FieldSite:
    """A field site with logins required, on a fake clock."""

    def __init__(self, clock, fakeVortex, appDir) -> None:
        self.clock = clock
        self.plugins = SiteResources("field")
        self.plugins.pluginRoot("peek_plugin_a").addStaticResourceDir(appDir)
        self.auth = SiteAuth(
            "field",
            check,
            clock,
            idleSeconds=600,
            maxSeconds=3600,
            throttle=LoginThrottle(clock, freeFailures=2, baseDelaySeconds=10),
        )
        root = buildAppSiteRoot(
            self.plugins,
            "peek-field-service",
            statuses=list,
            pluginTitle=lambda name: name,
            vortexFactory=lambda: fakeVortex,
            auth=self.auth,
            title="Peek Field",
        )
        self.site = newSite(root, clock)

    def browser(self) -> InMemoryBrowser:
        """A browser without cookies."""
        return InMemoryBrowser(self.site, host=HOST)

    def logIn(self, browser: InMemoryBrowser, user: str = "ann", password: str = USERS["ann"]):
        """Fill in and submit the login form like a browser on this site."""
        page = browser.get("/login")
        token = re.search(r'name="csrfToken" value="([^"]+)"', page.text)
        assert token, page.text
        form = {"username": user, "password": password, "csrfToken": token.group(1)}
        return browser.post("/login", form=form, headers={"Origin": ORIGIN})


@pytest.fixture
def field(clock, fakeVortex, appDir) -> FieldSite:
    """A fresh field site that requires logins."""
    return FieldSite(clock, fakeVortex, appDir)


def test_without_a_session_pages_go_to_login_and_the_rest_is_refused(field):
    """The shell and plugin apps redirect to /login; /vortexws and /api answer 401."""
    browser = field.browser()
    shell = browser.get("/", headers=PAGE)
    assert (shell.code, shell.header("location")) == (303, "/login")
    app = browser.get("/peek_plugin_a/", headers=PAGE)
    assert (app.code, app.header("location")) == (303, "/login?next=/peek_plugin_a/")
    assert browser.get("/vortexws").code == 401
    assert browser.get("/api/session").code == 401
    assert browser.get("/health").code in (200, 503)
    assert browser.get("/login").code == 200


def test_wrong_password_is_refused_with_a_message_and_no_session(field):
    """A wrong password answers 401 with the reason, sets no session cookie."""
    browser = field.browser()
    response = field.logIn(browser, password="not-the-password")
    assert response.code == 401
    assert "Wrong user name or password." in response.text
    assert field.auth.sessionCookie.decode() not in browser.cookies
    assert "not-the-password" not in response.text


def test_right_password_opens_the_shell_with_the_users_name_and_session_info(field):
    """After login the shell shows the user and a logout button; /api/session says who."""
    browser = field.browser()
    response = field.logIn(browser)
    assert (response.code, response.header("location")) == (303, "/")
    shell = browser.get("/", headers=PAGE)
    assert shell.code == 200
    assert '<span id="account-user">ann</span>' in shell.text
    info = json.loads(browser.get("/api/session").text)
    assert (info["user"], info["userId"], info["permissions"]) == ("ann", "local:ann", ["x.edit"])
    assert browser.get("/peek_plugin_a/").code == 200


def test_logout_ends_the_session_and_tells_listeners(field):
    """POST /logout with the session's token ends it; the shell redirects to login again."""
    ended = []
    field.auth.addSessionEndListener(lambda session: ended.append(session.user))
    browser = field.browser()
    field.logIn(browser)
    token = json.loads(browser.get("/api/session").text)["csrfToken"]
    response = browser.post("/logout", form={"csrfToken": token}, headers={"Origin": ORIGIN})
    assert (response.code, response.header("location")) == (303, "/login")
    assert ended == ["ann"]
    assert browser.get("/", headers=PAGE).code == 303


def test_session_ends_after_idle_time_and_after_its_maximum_age(field):
    """An idle session ends after idleSeconds; a busy one after maxSeconds."""
    browser = field.browser()
    field.logIn(browser)
    field.clock.advance(600)
    assert browser.get("/", headers=PAGE).code == 303
    field.logIn(browser)
    for _ in range(6):
        field.clock.advance(590)
        assert browser.get("/", headers=PAGE).code == 200
    field.clock.advance(590)
    assert browser.get("/", headers=PAGE).code == 303


def test_unreachable_directory_is_a_503_naming_it(field):
    """When the login cannot be checked the page says why, with status 503."""
    response = field.logIn(field.browser(), user="down", password="whatever-pw")
    assert response.code == 503
    assert "LDAP directory corp at ldap://dc1 is unreachable" in response.text


def test_repeated_failures_are_throttled_per_address(field):
    """After the free failures, further logins from the address wait (429, Retry-After)."""
    browser = field.browser()
    for _ in range(2):
        assert field.logIn(browser, password="wrong-password").code == 401
    throttled = field.logIn(browser)
    assert throttled.code == 429
    assert int(throttled.header("retry-after")) >= 1


def test_login_from_another_site_is_refused(field):
    """A login form posted from another origin is refused before the password is checked."""
    browser = field.browser()
    page = browser.get("/login")
    token = re.search(r'name="csrfToken" value="([^"]+)"', page.text).group(1)
    form = {"username": "ann", "password": USERS["ann"], "csrfToken": token}
    response = browser.post("/login", form=form, headers={"Origin": "http://evil.test"})
    assert response.code == 403
    assert field.auth.sessions.sessions() == []


def test_admin_permission_is_required_where_the_site_asks_for_it(clock):
    """A site with requiredPermission refuses a good login lacking it, naming it."""
    auth = SiteAuth("admin", check, clock, idleSeconds=60, requiredPermission="admin")
    outcome = []
    auth.login("ann", USERS["ann"]).addErrback(lambda f: outcome.append(f.value))
    assert isinstance(outcome[0], LoginRefused)
    assert "does not have the 'admin' permission" in str(outcome[0])


def test_revalidation_ends_refused_users_and_updates_the_others(clock):
    """Every revalidation interval the site asks which users may keep their sessions: those
    left out lose them, the others get their current permissions; a site that needs a
    permission ends the sessions of users who lost it; no answer keeps every session."""
    now = {
        "local:bob": Principal("local:bob", "bob", frozenset({"crew"}), frozenset({"x.edit"})),
        "local:cy": Principal("local:cy", "cy", frozenset(), frozenset()),
    }
    answers: list = [succeed(now)]
    asked: list[list[str]] = []

    def revalidate(userIds):
        asked.append(userIds)
        return answers.pop(0)

    auth = SiteAuth(
        "admin", check, clock, idleSeconds=3600, revalidate=revalidate, requiredPermission="x.edit"
    )
    sessions = {
        name: auth.sessions.create(
            Principal(f"local:{name}", name, frozenset(), frozenset({"x.edit"}))
        )
        for name in ("ann", "bob", "cy")
    }
    auth.startExpiryChecks(intervalSeconds=2, revalidateSeconds=30)
    clock.advance(30)
    assert asked == [["local:ann", "local:bob", "local:cy"]]
    assert auth.sessions.get(sessions["ann"].sessionId) is None
    assert auth.sessions.get(sessions["cy"].sessionId) is None
    bob = auth.sessions.get(sessions["bob"].sessionId)
    assert bob is not None and bob.principal.roles == frozenset({"crew"})
    answers.append(fail(DirectoryUnavailable("the logic service cannot be reached")))
    clock.advance(30)
    assert auth.sessions.get(sessions["bob"].sessionId) is bob
    auth.stopExpiryChecks()

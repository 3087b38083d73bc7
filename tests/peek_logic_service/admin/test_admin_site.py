"""The admin site: login, sessions, CSRF, rate limiting, and everything behind login."""

from __future__ import annotations

import json

import pytest

from peek_logic_service.platform_hook import LogicPlatformHook

HTML = {"Accept": "text/html,application/xhtml+xml"}


# ---- unauthenticated ------------------------------------------------------------------


def test_pages_redirect_to_login(admin):
    """Without a session a page request is sent to /login, remembering where it was going."""
    browser = admin.browser()
    root = browser.get("/", headers=HTML)
    plugin = browser.get("/peek_plugin_a/page?x=1", headers=HTML)
    assert (root.code, root.header("Location")) == (303, "/login")
    assert (plugin.code, plugin.header("Location")) == (
        303,
        "/login?next=/peek_plugin_a/page%3Fx%3D1",
    )


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/api/session", HTML),
        ("GET", "/api/plugin-pages", {}),
        ("GET", "/vortexws", HTML),
        ("GET", "/peek_plugin_a/api", {"Accept": "application/json"}),
        ("POST", "/peek_plugin_a/api", HTML),
        ("POST", "/logout", HTML),
    ],
)
def test_apis_and_vortex_answer_401(admin, method, path, headers):
    """Without a session APIs, /vortexws, scripts and posts get 401, not a redirect."""
    response = admin.browser().request(method, path, headers=headers)
    assert response.code == 401
    assert json.loads(response.body) == {"error": "log in at /login first"}


def test_public_paths_need_no_login(admin):
    """Health, the login page and the shell's static files are reachable without login."""
    browser = admin.browser()
    assert browser.get("/health").code == 200
    assert browser.get("/login").code == 200
    script = browser.get("/static/admin.mjs")
    assert (script.code, script.header("Content-Type")) == (200, "text/javascript")


def test_login_page_is_an_accessible_form(admin):
    """The login form has labelled fields with autocomplete hints and a token."""
    text = admin.browser().get("/login").text
    assert '<label for="username">' in text
    assert '<label for="password">' in text
    assert 'autocomplete="current-password"' in text
    assert 'name="csrfToken"' in text
    assert '<main id="main"' in text


# ---- logging in -----------------------------------------------------------------------


def test_wrong_password_is_refused(admin):
    """A wrong password answers 401 with an error and starts no session."""
    browser = admin.browser()
    response = admin.logIn(browser, password="wrong")
    assert response.code == 401
    assert "Wrong user name or password." in response.text
    assert "peekAdminSession" not in browser.cookies
    assert browser.get("/api/session").code == 401


def test_wrong_user_is_refused(admin):
    """The right password with another user name is refused."""
    browser = admin.browser()
    form = {"username": "root", "password": admin.password}
    form["csrfToken"] = admin.loginFormToken(browser)
    assert browser.post("/login", form=form, headers={"Origin": admin.origin}).code == 401


def test_right_password_sets_a_strict_httponly_session_cookie(admin):
    """Logging in redirects to / and sets an HttpOnly, SameSite=Strict, non-Secure cookie."""
    browser = admin.browser()
    response = admin.logIn(browser)
    assert (response.code, response.header("Location")) == (303, "/")
    cookie = response.cookie("peekAdminSession")["peekAdminSession"]
    assert len(cookie.value) >= 40
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "strict"
    assert cookie["path"] == "/"
    assert not cookie["secure"]
    assert "peekAdminLogin" not in browser.cookies


def test_session_cookie_is_secure_over_tls(admin):
    """Over TLS the session cookie is marked Secure."""
    browser = admin.browser(secure=True)
    response = browser.post(
        "/login",
        form={
            "username": admin.user,
            "password": admin.password,
            "csrfToken": admin.loginFormToken(browser),
        },
        headers={"Origin": "https://peek.test:8010"},
    )
    assert response.cookie("peekAdminSession")["peekAdminSession"]["secure"] is True


def test_login_returns_to_the_page_asked_for(admin):
    """A local next path is followed after login."""
    response = admin.logIn(admin.browser(), next="/peek_plugin_a/")
    assert response.header("Location") == "/peek_plugin_a/"


@pytest.mark.parametrize("target", ["//evil.test/", "http://evil.test/", "/\\evil.test", "/logout"])
def test_login_never_redirects_off_site(admin, target):
    """Next paths to other sites (or to logout) are replaced by /."""
    assert admin.logIn(admin.browser(), next=target).header("Location") == "/"


def test_login_page_when_logged_in_goes_on(admin, loggedIn):
    """Opening /login with a live session goes straight to the site."""
    response = loggedIn.get("/login")
    assert (response.code, response.header("Location")) == (303, "/")


# ---- login CSRF -----------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_login_without_the_form_token_is_refused(admin, token):
    """A login post with a missing or wrong form token is refused even with the password."""
    browser = admin.browser()
    admin.loginFormToken(browser)
    form = {"username": admin.user, "password": admin.password}
    if token is not None:
        form["csrfToken"] = token
    response = browser.post("/login", form=form, headers={"Origin": admin.origin})
    assert response.code == 403
    assert "peekAdminSession" not in browser.cookies


def test_login_token_of_another_browser_is_refused(admin):
    """A token only works with the pre-session cookie it was issued with."""
    attacker, victim = admin.browser(), admin.browser()
    token = admin.loginFormToken(attacker)
    admin.loginFormToken(victim)
    form = {"username": admin.user, "password": admin.password, "csrfToken": token}
    assert victim.post("/login", form=form, headers={"Origin": admin.origin}).code == 403


def test_cross_origin_login_is_refused(admin):
    """A login posted from another origin is refused."""
    browser = admin.browser()
    form = {
        "username": admin.user,
        "password": admin.password,
        "csrfToken": admin.loginFormToken(browser),
    }
    response = browser.post("/login", form=form, headers={"Origin": "http://evil.test"})
    assert response.code == 403
    assert "peekAdminSession" not in browser.cookies


# ---- rate limiting --------------------------------------------------------------------


def test_repeated_failures_are_throttled_per_address(admin):
    """After the free failures further attempts wait, even with the right password."""
    browser = admin.browser(clientHost="127.0.0.9")
    for _ in range(2):
        assert admin.logIn(browser, password="wrong").code == 401
    throttled = admin.logIn(browser)
    assert throttled.code == 429
    assert throttled.header("Retry-After") == "10"
    assert admin.logIn(admin.browser(clientHost="127.0.0.10")).code == 303
    admin.clock.advance(10)
    assert admin.logIn(browser).code == 303


# ---- logged in ------------------------------------------------------------------------


def test_shell_carries_token_user_and_navigation(admin, loggedIn):
    """The shell has the session's CSRF token, the user, the nav sections and a main."""
    response = loggedIn.get("/")
    text = response.text
    session = json.loads(loggedIn.get("/api/session").body)
    assert response.code == 200
    assert f'<meta name="csrf-token" content="{session["csrfToken"]}">' in text
    assert f'<meta name="peek-user" content="{admin.user}">' in text
    for section in ("Overview", "Plugins", "Settings", "Config", "Logs"):
        assert f">{section}</a>" in text
    assert '<main id="main"' in text
    assert '<script type="module" src="/static/admin.mjs"></script>' in text


def test_session_api_reports_user_and_token(admin, loggedIn):
    """/api/session gives the user, the token and the idle timeout, never cached."""
    response = loggedIn.get("/api/session")
    body = json.loads(response.body)
    assert response.header("Cache-Control") == "no-store"
    assert body["user"] == admin.user
    assert body["csrfToken"] == admin.shellToken(loggedIn)
    assert body["idleTimeoutSeconds"] == admin.idleSeconds


def test_session_expires_when_idle(admin, loggedIn):
    """After the idle time without requests the session is gone."""
    admin.clock.advance(admin.idleSeconds - 1)
    assert loggedIn.get("/api/session").code == 200
    admin.clock.advance(admin.idleSeconds)
    assert loggedIn.get("/api/session").code == 401
    assert loggedIn.get("/", headers=HTML).header("Location") == "/login"


def test_vortex_needs_login_and_same_origin(admin, loggedIn):
    """/vortexws reaches the vortex only with a session and a same-origin upgrade."""
    assert loggedIn.get("/vortexws", headers={"Origin": admin.origin}).body == (
        b"admin vortex endpoint"
    )
    crossSite = loggedIn.get("/vortexws", headers={"Origin": "http://evil.test"})
    assert crossSite.code == 403


# ---- CSRF on state-changing requests --------------------------------------------------


@pytest.fixture
def pluginApi(admin):
    """A plugin admin API at /peek_plugin_a/api that answers posts."""
    from twisted.web.resource import Resource

    class Api(Resource):
        isLeaf = True

        def render_POST(self, request):
            return b"changed"

    admin.plugins.pluginRoot("peek_plugin_a").addResource(b"api", Api())


@pytest.mark.parametrize("token", [None, "wrong"])
def test_post_without_the_session_token_is_refused(admin, loggedIn, pluginApi, token):
    """A state-changing request without the session's token is 403 and changes nothing."""
    headers = {"Origin": admin.origin}
    if token is not None:
        headers["X-CSRF-Token"] = token
    response = loggedIn.post("/peek_plugin_a/api", headers=headers)
    assert response.code == 403
    assert b"changed" not in response.body


def test_post_with_the_session_token_is_served(admin, loggedIn, pluginApi):
    """With the session's token in X-CSRF-Token the post reaches the plugin."""
    headers = {"Origin": admin.origin, "X-CSRF-Token": admin.shellToken(loggedIn)}
    assert loggedIn.post("/peek_plugin_a/api", headers=headers).body == b"changed"


def test_cross_origin_post_is_refused_even_with_token(admin, loggedIn, pluginApi):
    """A post from another origin is refused although it carries the token."""
    headers = {"Origin": "http://evil.test", "X-CSRF-Token": admin.shellToken(loggedIn)}
    assert loggedIn.post("/peek_plugin_a/api", headers=headers).code == 403


def test_token_of_another_session_is_refused(admin, loggedIn, pluginApi):
    """One session's token does not work for another session."""
    other = admin.browser()
    admin.logIn(other)
    headers = {"Origin": admin.origin, "X-CSRF-Token": admin.shellToken(other)}
    assert loggedIn.post("/peek_plugin_a/api", headers=headers).code == 403


# ---- logout ---------------------------------------------------------------------------


def test_logout_without_token_is_refused(admin, loggedIn):
    """Logout without the CSRF token is refused and the session stays."""
    assert loggedIn.post("/logout", headers={"Origin": admin.origin}).code == 403
    assert loggedIn.get("/api/session").code == 200


def test_logout_ends_the_session(admin, loggedIn):
    """Logout with the token ends the session, expires the cookie, and goes to /login."""
    sessionId = loggedIn.cookies["peekAdminSession"]
    form = {"csrfToken": admin.shellToken(loggedIn)}
    response = loggedIn.post("/logout", form=form, headers={"Origin": admin.origin})
    assert (response.code, response.header("Location")) == (303, "/login")
    assert response.cookie("peekAdminSession")["peekAdminSession"]["max-age"] == "0"
    assert admin.auth.sessions.get(sessionId) is None
    assert loggedIn.get("/api/session").code == 401


def test_logout_by_get_is_not_allowed(admin, loggedIn):
    """GET /logout changes nothing (405) and the session stays."""
    assert loggedIn.get("/logout").code == 405
    assert loggedIn.get("/api/session").code == 200


# ---- plugin admin pages ---------------------------------------------------------------


def test_plugin_admin_pages_are_served_behind_login_and_listed(admin, loggedIn, adminApp, tmp_path):
    """addAdminStaticResourceDir serves under /<pluginName>/ after login and is listed."""
    hook = LogicPlatformHook(
        tmp_path, {}, "peek_plugin_jobs", None, adminSite=admin.plugins, logicSite=None
    )
    hook.addAdminStaticResourceDir(str(adminApp))
    assert loggedIn.get("/peek_plugin_jobs/").body == b"<p>plugin admin</p>"
    assert admin.browser().get("/peek_plugin_jobs/page.mjs").code == 401
    pages = json.loads(loggedIn.get("/api/plugin-pages").body)
    assert pages == [{"name": "peek_plugin_jobs", "title": "Jobs", "url": "/peek_plugin_jobs/"}]
    assert '<a href="/peek_plugin_jobs/">Jobs</a>' in loggedIn.get("/").text


@pytest.mark.parametrize(
    "path", ["/peek_plugin_jobs/../secret.txt", "/peek_plugin_jobs/..%2fsecret.txt"]
)
def test_plugin_admin_dir_cannot_be_escaped(admin, loggedIn, adminApp, path):
    """Climbing out of a plugin's admin dir is not found, even logged in."""
    admin.plugins.pluginRoot("peek_plugin_jobs").addStaticResourceDir(adminApp)
    response = loggedIn.get(path)
    assert response.code == 404
    assert b"not for browsers" not in response.body


def test_unknown_plugin_is_not_found_only_after_login(admin, loggedIn):
    """An unknown path is 404 for a logged-in user; others are sent to log in first."""
    assert loggedIn.get("/peek_plugin_none/").code == 404
    assert admin.browser().get("/peek_plugin_none/", headers=HTML).code == 303

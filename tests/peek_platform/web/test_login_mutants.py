"""The login and logout pages' answers that mutation testing found unasserted
(docs/dev/mutation-testing.rst): each refusal's status, message and refilled form, the
throttle's wait, a login answered late or to a browser that has gone, the page's headers.
"""

from __future__ import annotations

import re

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.web.static import Data

from peek_platform.http.plugin_resources import SiteResources
from peek_platform.identity.principal import DirectoryUnavailable, LoginRefused, Principal
from peek_platform.testing.InMemoryBrowser import InMemoryBrowser, Response, parseResponse
from peek_platform.web.listening import newSite
from peek_platform.web.login_pages import LoginResource, LogoutResource
from peek_platform.web.login_throttle import LoginThrottle
from peek_platform.web.site_auth import SiteAuth
from peek_platform.web.site_root import WebSiteRoot

HOST = "peek.test:8000"
ORIGIN = f"http://{HOST}"
PASSWORD = "ann-password-1"
FORM_TOKEN = re.compile(r'name="csrfToken" value="([^"]+)"')


def found(pattern: str | re.Pattern[str], text: str) -> str:
    """The first group of ``pattern`` in ``text``, which must match."""
    match = re.search(pattern, text)
    assert match is not None, text
    return match.group(1)


class LoginSite:
    """A site with only a shell page, ``/login`` and ``/logout``; its login check records
    each call and answers by user name: ``ann`` with the right password logs in,
    ``blank`` is refused without a reason, ``down`` cannot be checked, ``boom`` fails
    unexpectedly, ``slow`` waits for ``pending``, anyone else is refused."""

    def __init__(self, clock, *, throttle: LoginThrottle | None = None) -> None:
        self.checks: list[tuple[str, str, str]] = []
        self.pending: Deferred[Principal] | None = None
        self.auth = SiteAuth("field", self.check, clock, idleSeconds=600, throttle=throttle)
        root = WebSiteRoot(
            SiteResources("field"),
            Data(b"the shell", "text/plain"),
            publicChildren={
                b"login": LoginResource(self.auth, title="Peek Field"),
                b"signout": LogoutResource(self.auth),
            },
            protectedChildren={b"logout": LogoutResource(self.auth)},
            guard=self.auth.guard,
        )
        self.site = newSite(root, clock)

    def check(self, user: str, password: str, site: str) -> Deferred[Principal]:
        self.checks.append((user, password, site))
        if user == "ann" and password == PASSWORD:
            return succeed(Principal("local:ann", "ann", frozenset(), frozenset()))
        if user == "blank":
            return fail(LoginRefused(""))
        if user == "down":
            return fail(DirectoryUnavailable("LDAP directory corp is unreachable"))
        if user == "boom":
            return fail(RuntimeError("a bug in the login check"))
        if user == "slow":
            self.pending = Deferred()
            return self.pending
        return fail(LoginRefused("wrong user name or password"))

    def browser(self, clientHost: str = "127.0.0.1") -> InMemoryBrowser:
        """A browser without cookies, at ``clientHost``."""
        return InMemoryBrowser(self.site, host=HOST, clientHost=clientHost)

    def logIn(
        self,
        browser: InMemoryBrowser,
        user: str = "ann",
        password: str = PASSWORD,
        *,
        nextPath: str = "/",
        token: str | None = None,
    ) -> Response:
        """Submit the login form of a fresh ``GET /login`` (or with ``token``)."""
        if token is None:
            token = found(FORM_TOKEN, browser.get("/login").text)
        form = {"username": user, "password": password, "csrfToken": token, "next": nextPath}
        return browser.post("/login", form=form, headers={"Origin": ORIGIN})


@pytest.fixture
def loginSite(clock) -> LoginSite:
    """A login site with the default throttle."""
    return LoginSite(clock)


def formError(page: Response) -> str | None:
    """The error paragraph's text, or None when the form shows none."""
    error = re.search(r'<p class="error" id="login-error" role="alert">([^<]*)</p>', page.text)
    return error.group(1) if error else None


def formValue(page: Response, field: str) -> str:
    """The value the form fills in for ``field`` (``username`` or ``next``)."""
    if field == "username":
        return found(r'autofocus value="([^"]*)"', page.text)
    return found(rf'name="{field}" value="([^"]*)"', page.text)


def assertUncachedHtml(page: Response) -> None:
    """An HTML page in UTF-8 no cache may keep."""
    assert page.header("content-type") == "text/html; charset=utf-8"
    assert page.header("cache-control") == "no-store"


def test_the_login_form_has_no_error_and_returns_to_the_next_path(loginSite):
    """``GET /login?next=`` shows an empty form without an error (nothing between the form
    tag and its fields, no ``aria-describedby``), carrying the next path; a logged-in
    browser is sent straight to that path."""
    browser = loginSite.browser()
    page = browser.get("/login?next=/peek_plugin_a/")
    assert page.code == 200
    assertUncachedHtml(page)
    assert formError(page) is None
    assert re.search(r'action="/login">\s*<input type="hidden" name="csrfToken"', page.text)
    assert 'autofocus value="">' in page.text
    assert 'type="password" autocomplete="current-password" required>' in page.text
    assert "aria-describedby" not in page.text
    assert formValue(page, "next") == "/peek_plugin_a/"
    assert formValue(browser.get("/login"), "next") == "/"

    assert loginSite.logIn(browser).code == 303
    again = browser.get("/login?next=/peek_plugin_a/")
    assert (again.code, again.header("location")) == (303, "/peek_plugin_a/")


def test_a_cross_site_login_is_refused_with_a_message_before_any_check(loginSite):
    """A login posted from another origin answers 403 with a message the error paragraph
    announces to the fields, a fresh form returning to ``/``; the password is not
    checked."""
    browser = loginSite.browser()
    token = found(FORM_TOKEN, browser.get("/login").text)
    form = {"username": "ann", "password": PASSWORD, "csrfToken": token, "next": "/x"}
    page = browser.post("/login", form=form, headers={"Origin": "http://evil.test"})
    assert page.code == 403
    assertUncachedHtml(page)
    assert formError(page) == "This login was sent from another site and was refused."
    assert 'autofocus value="" aria-describedby="login-error">' in page.text
    assert 'required aria-describedby="login-error">' in page.text
    assert formValue(page, "next") == "/"
    assert loginSite.checks == []


def test_an_expired_form_is_refused_and_refilled(loginSite):
    """A form whose token does not match the browser's login cookie answers 403, asks to log
    in again, and keeps the user name and next path; the password is not checked."""
    browser = loginSite.browser()
    browser.get("/login")
    page = loginSite.logIn(browser, nextPath="/peek_plugin_a/", token="not-the-token")
    assert page.code == 403
    assertUncachedHtml(page)
    assert formError(page) == "The login form had expired. Please log in again."
    assert (formValue(page, "username"), formValue(page, "next")) == ("ann", "/peek_plugin_a/")
    assert loginSite.checks == []


def test_a_throttled_address_waits_at_least_a_second_and_others_do_not(clock):
    """Within its wait an address gets 429, a ``Retry-After`` of the wait rounded up (at
    least 1 s), the same in the message, and its form refilled; another address is not
    held back."""
    site = LoginSite(clock, throttle=LoginThrottle(clock, freeFailures=1, baseDelaySeconds=4))
    browser = site.browser()
    assert site.logIn(browser, password="wrong-password").code == 401
    clock.advance(1.5)
    page = site.logIn(browser, nextPath="/peek_plugin_a/")
    assert (page.code, page.header("retry-after")) == (429, "3")
    assert formError(page) == "Too many failed logins from your address. Try again in 3 s."
    assert (formValue(page, "username"), formValue(page, "next")) == ("ann", "/peek_plugin_a/")
    clock.advance(2.0)
    page = site.logIn(browser)
    assert (page.code, page.header("retry-after")) == (429, "1")
    assert site.logIn(site.browser("127.0.0.9")).code == 303
    assert len(site.checks) == 2


def test_a_good_login_clears_its_addresss_failures(clock):
    """A success from an address forgets the failures before it: with two free failures,
    fail, succeed, fail leaves the address free to try again."""
    site = LoginSite(clock, throttle=LoginThrottle(clock, freeFailures=2, baseDelaySeconds=60))
    failing, succeeding = site.browser(), site.browser()
    assert site.logIn(failing, password="wrong-password").code == 401
    assert site.logIn(succeeding).code == 303
    assert site.logIn(failing, password="wrong-password").code == 401
    assert site.logIn(failing).code == 303


def test_a_refusal_keeps_the_form_and_says_wrong_password_without_a_reason(loginSite):
    """A refused login answers 401 with the user name and next path refilled; a refusal
    that gives no reason reads "Wrong user name or password."."""
    page = loginSite.logIn(loginSite.browser(), user="blank", nextPath="/peek_plugin_a/")
    assert page.code == 401
    assert formError(page) == "Wrong user name or password."
    assert (formValue(page, "username"), formValue(page, "next")) == (
        "blank",
        "/peek_plugin_a/",
    )


def test_an_unreachable_directory_keeps_the_form(loginSite):
    """A login that cannot be checked answers 503 with the user name and next path
    refilled."""
    page = loginSite.logIn(loginSite.browser(), user="down", nextPath="/peek_plugin_a/")
    assert page.code == 503
    assert formError(page) == "The login could not be checked: LDAP directory corp is unreachable"
    assert (formValue(page, "username"), formValue(page, "next")) == ("down", "/peek_plugin_a/")


def test_an_unexpected_failure_is_a_500_pointing_to_the_log(loginSite):
    """A check failing unexpectedly answers 500, sends the user to the service log and does
    not show the exception; the form keeps the user name and next path."""
    page = loginSite.logIn(loginSite.browser(), user="boom", nextPath="/peek_plugin_a/")
    assert page.code == 500
    assertUncachedHtml(page)
    assert formError(page) == "The login could not be checked; see the service log."
    assert "a bug in the login check" not in page.text
    assert (formValue(page, "username"), formValue(page, "next")) == ("boom", "/peek_plugin_a/")


def test_form_fields_are_read_as_utf8_and_missing_ones_are_empty(loginSite):
    """A user name that is not valid UTF-8 is checked and refilled with replacement
    characters; a form without user name and password is checked with empty ones."""
    browser = loginSite.browser()
    token = found(FORM_TOKEN, browser.get("/login").text)
    headers = {"Origin": ORIGIN, "Content-Type": "application/x-www-form-urlencoded"}
    body = f"username=%C3%A5%FF&password=x&csrfToken={token}".encode()
    page = browser.post("/login", body=body, headers=headers)
    assert page.code == 401
    assert formValue(page, "username") == "\u00e5\ufffd"
    page = browser.post("/login", form={"csrfToken": token}, headers={"Origin": ORIGIN})
    assert (page.code, formValue(page, "username")) == (401, "")
    assert loginSite.checks == [("\u00e5\ufffd", "x", "field"), ("", "", "field")]


def postWithoutAnswer(loginSite: LoginSite, browser: InMemoryBrowser, user: str):
    """Post the login form over a connection kept open; its transport and protocol."""
    token = found(FORM_TOKEN, browser.get("/login").text)
    form = f"username={user}&password=x&csrfToken={token}".encode()
    cookies = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    raw = (
        f"POST /login HTTP/1.1\r\nHost: {HOST}\r\nOrigin: {ORIGIN}\r\nCookie: {cookies}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(form)}\r\n\r\n"
    ).encode() + form
    address = IPv4Address("TCP", "127.0.0.1", 40000)
    transport = StringTransport(peerAddress=address)
    protocol = loginSite.site.buildProtocol(address)
    protocol.makeConnection(transport)
    protocol.dataReceived(raw)
    assert transport.value() == b""
    return transport, protocol


def test_a_login_checked_later_is_answered_then_and_not_to_a_browser_gone_meanwhile(loginSite):
    """The answer waits for the check; when the browser has disconnected by then, nothing
    is written and nothing fails."""
    transport, _ = postWithoutAnswer(loginSite, loginSite.browser(), "slow")
    loginSite.pending.errback(LoginRefused("wrong user name or password"))
    assert parseResponse(transport.value()).code == 401

    transport, protocol = postWithoutAnswer(loginSite, loginSite.browser(), "slow")
    protocol.connectionLost(Failure(ConnectionDone()))
    outcome: list[object] = []
    pending = loginSite.pending
    pending.errback(LoginRefused("wrong user name or password"))
    pending.addBoth(outcome.append)
    assert outcome == [None]
    assert transport.value() == b""


def test_logout_without_a_session_still_goes_to_the_login_page(loginSite):
    """``LogoutResource`` answers a browser whose session is already gone with the same
    redirect to ``/login`` and an expired session cookie."""
    page = loginSite.browser().post("/signout", form={})
    assert (page.code, page.header("location")) == (303, "/login")
    morsel = page.cookie("peekFieldSession")["peekFieldSession"]
    assert (morsel.value, morsel["max-age"]) == ("", "0")


EXPIRED = "Expires=Thu, 01 Jan 1970 00:00:00 GMT"


@pytest.mark.parametrize(("secure", "flag"), [(False, ""), (True, "; Secure")])
def test_login_session_and_logout_cookies_are_httponly_strict_and_expire_at_once(
    clock, secure, flag
):
    """The login form's cookie lives under ``/login``, the session cookie under ``/`` for
    the browser session only; a login expires the form's cookie and a logout the session
    cookie, at once and with an empty value. All are HttpOnly and SameSite=Strict, and
    Secure over TLS."""
    loginSite = LoginSite(clock)
    browser = InMemoryBrowser(loginSite.site, host=HOST, secure=secure)
    form = browser.get("/login")
    formCookie = browser.cookies["peekFieldLogin"]
    assert form.setCookies == [
        f"peekFieldLogin={formCookie}; Path=/login{flag}; HttpOnly; SameSite=strict"
    ]

    login = loginSite.logIn(browser, token=found(FORM_TOKEN, form.text))
    [session] = loginSite.auth.sessions.sessions()
    assert login.setCookies == [
        f"peekFieldSession={session.sessionId}; Path=/{flag}; HttpOnly; SameSite=strict",
        f"peekFieldLogin=; {EXPIRED}; Path=/login; Max-Age=0{flag}; HttpOnly; SameSite=strict",
    ]

    logout = browser.post(
        "/logout", form={"csrfToken": session.csrfToken}, headers={"Origin": ORIGIN}
    )
    assert logout.code == 303
    assert logout.setCookies == [
        f"peekFieldSession=; {EXPIRED}; Path=/; Max-Age=0{flag}; HttpOnly; SameSite=strict"
    ]


def test_the_login_cookie_is_kept_up_to_100_characters(loginSite):
    """The form's token stays the same while the browser keeps its login cookie; a cookie
    of up to 100 characters is kept, a longer one replaced."""
    browser = loginSite.browser()
    first = found(FORM_TOKEN, browser.get("/login").text)
    again = browser.get("/login")
    assert (again.setCookies, found(FORM_TOKEN, again.text)) == ([], first)
    for length, replaced in ((100, False), (101, True)):
        browser.cookies["peekFieldLogin"] = "a" * length
        page = browser.get("/login")
        assert bool(page.setCookies) is replaced, length
        assert (browser.cookies["peekFieldLogin"] == "a" * length) is not replaced


def test_the_login_page_links_the_sites_title_and_default_stylesheet(loginSite):
    """The page is titled with the site's title and uses the shell's stylesheet unless the
    site brings its own."""
    page = loginSite.browser().get("/login")
    assert "<title>Log in \u2013 Peek Field</title>" in page.text
    assert '<link rel="stylesheet" href="/static/shell.css">' in page.text

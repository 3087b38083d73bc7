"""Who may use the admin site: login sessions, the login guard, and forgery checks.

Everything but ``/health``, ``/login`` and the static files passes :meth:`AdminAuth.guard`:
a request without a live session is sent to the login page (pages) or refused with 401
(``/api``, ``/vortexws``, scripts); a state-changing request of a live session must be
same-origin and carry the session's CSRF token.
"""

from __future__ import annotations

import json
import logging
from typing import cast
from urllib.parse import quote

from twisted.internet.interfaces import IReactorTime
from twisted.web import http
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource

from peek_logic_service.admin.recovery import RecoveryCredentials
from peek_platform.web.csrf import (
    SAFE_METHODS,
    PreSessionTokens,
    crossOriginReason,
    requestToken,
    tokensEqual,
)
from peek_platform.web.login_throttle import LoginThrottle
from peek_platform.web.session import Session, SessionStore

logger = logging.getLogger(__name__)

#: Cookie holding the session id once logged in.
SESSION_COOKIE = b"peekAdminSession"
#: Cookie binding the login form's CSRF token to one browser before login.
LOGIN_COOKIE = b"peekAdminLogin"
#: Paths that are never pages: unauthenticated requests get 401, not a redirect.
NON_PAGE_PATHS = frozenset({b"api", b"vortexws"})
#: Paths whose (GET) requests must also be same-origin: the websocket upgrade.
ORIGIN_CHECKED_PATHS = frozenset({b"vortexws"})


class StatusResource(Resource):
    """Answers any method with one status code and a short JSON error body."""

    isLeaf = True

    def __init__(self, code: int, message: str) -> None:
        super().__init__()
        self.code = code
        self.message = message

    def render(self, request: IRequest) -> bytes:
        """The status and ``{"error": message}``."""
        request.setResponseCode(self.code)
        request.setHeader(b"Content-Type", b"application/json")
        request.setHeader(b"Cache-Control", b"no-store")
        return json.dumps({"error": self.message}).encode()


class SeeOther(Resource):
    """Answers any method with ``303 See Other`` to a path on this site."""

    isLeaf = True

    def __init__(self, location: str) -> None:
        super().__init__()
        self.location = location

    def render(self, request: IRequest) -> bytes:
        """The redirect, with a link for clients that do not follow it."""
        request.setResponseCode(303)
        request.setHeader(b"Location", self.location.encode("ascii"))
        request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
        request.setHeader(b"Cache-Control", b"no-store")
        href = self.location.replace("&", "&amp;").replace('"', "&quot;")
        return f'<!doctype html><title>See other</title><a href="{href}">Continue</a>'.encode()


def safeNextPath(value: str | None) -> str:
    """A local path to return to after login; anything else (other sites, login) is ``/``."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return "/"
    if value.split("?", 1)[0] in ("/login", "/logout"):
        return "/"
    return value


def clientAddress(request: IRequest) -> str:
    """The peer address used for login throttling (the socket's, never a header)."""
    address = request.getClientAddress()
    return str(getattr(address, "host", address))


def _cookies(request: IRequest) -> http.Request:
    """``request`` for ``addCookie``: twisted's IRequest leaves out the ``httpOnly`` and
    ``sameSite`` arguments that its implementation, ``twisted.web.http.Request``, takes."""
    return cast(http.Request, request)


def _setCookie(request: IRequest, name: bytes, value: str, *, path: bytes = b"/") -> None:
    _cookies(request).addCookie(
        name,
        value.encode("ascii"),
        path=path,
        httpOnly=True,
        sameSite="strict",
        secure=request.isSecure() or None,
    )


def _expireCookie(request: IRequest, name: bytes, *, path: bytes = b"/") -> None:
    _cookies(request).addCookie(
        name,
        b"",
        path=path,
        max_age=b"0",
        expires=b"Thu, 01 Jan 1970 00:00:00 GMT",
        httpOnly=True,
        sameSite="strict",
        secure=request.isSecure() or None,
    )


def _cookie(request: IRequest, name: bytes) -> str | None:
    raw = request.getCookie(name)
    if not raw:
        return None
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        return None


class AdminAuth:
    """The admin site's credentials, sessions, login throttle and forgery checks."""

    def __init__(
        self,
        credentials: RecoveryCredentials,
        clock: IReactorTime,
        *,
        idleSeconds: float,
        throttle: LoginThrottle | None = None,
        loginTokens: PreSessionTokens | None = None,
    ) -> None:
        self.credentials = credentials
        self.sessions = SessionStore(clock, idleSeconds=idleSeconds)
        self.throttle = throttle if throttle is not None else LoginThrottle(clock)
        self.loginTokens = loginTokens if loginTokens is not None else PreSessionTokens()

    # ---- sessions ---------------------------------------------------------------------

    def sessionFor(self, request: IRequest, *, touch: bool = True) -> Session | None:
        """The live session of the request's cookie (its idle timer restarts), or None."""
        return self.sessions.get(_cookie(request, SESSION_COOKIE), touch=touch)

    def startSession(self, request: IRequest, user: str) -> Session:
        """Log ``user`` in: a fresh session id in the cookie, the login cookie dropped."""
        session = self.sessions.create(user)
        _setCookie(request, SESSION_COOKIE, session.sessionId)
        _expireCookie(request, LOGIN_COOKIE, path=b"/login")
        return session

    def endSession(self, request: IRequest) -> None:
        """Log out: forget the session and expire its cookie."""
        sessionId = _cookie(request, SESSION_COOKIE)
        if sessionId:
            self.sessions.remove(sessionId)
        _expireCookie(request, SESSION_COOKIE)

    # ---- the login form ---------------------------------------------------------------

    def loginFormToken(self, request: IRequest) -> str:
        """The CSRF token for a login form, setting the pre-session cookie if needed."""
        cookieValue = _cookie(request, LOGIN_COOKIE)
        if not cookieValue or len(cookieValue) > 100:
            cookieValue = PreSessionTokens.newCookieValue()
            _setCookie(request, LOGIN_COOKIE, cookieValue, path=b"/login")
        return self.loginTokens.tokenFor(cookieValue)

    def loginFormTokenValid(self, request: IRequest) -> bool:
        """True when a posted login form carries the token of this browser's login cookie."""
        return self.loginTokens.check(_cookie(request, LOGIN_COOKIE), requestToken(request))

    # ---- the guard --------------------------------------------------------------------

    def guard(self, request: IRequest, path: bytes) -> IResource | None:
        """Let a request with a live session through (None), else the answer it gets."""
        session = self.sessionFor(request)
        if session is None:
            return self._unauthenticated(request, path)
        if path in ORIGIN_CHECKED_PATHS or request.method not in SAFE_METHODS:
            reason = crossOriginReason(request)
            if reason is not None:
                logger.warning(
                    "admin site: refused %s %s from %s: %s",
                    request.method.decode("ascii", "replace"),
                    request.path.decode("ascii", "replace"),
                    clientAddress(request),
                    reason,
                )
                return StatusResource(403, f"cross-site request refused: {reason}")
        if request.method not in SAFE_METHODS and not tokensEqual(
            requestToken(request), session.csrfToken
        ):
            return StatusResource(
                403,
                "missing or wrong CSRF token: send the session's token in the X-CSRF-Token "
                "header or the csrfToken form field",
            )
        return None

    def _unauthenticated(self, request: IRequest, path: bytes) -> IResource:
        accept = request.getHeader(b"accept") or b""
        isPage = (
            path not in NON_PAGE_PATHS
            and request.method in (b"GET", b"HEAD")
            and b"text/html" in accept
        )
        if not isPage:
            return StatusResource(401, "log in at /login first")
        nextPath = safeNextPath(request.uri.decode("ascii", "replace"))
        if nextPath == "/":
            return SeeOther("/login")
        return SeeOther("/login?next=" + quote(nextPath, safe="/"))

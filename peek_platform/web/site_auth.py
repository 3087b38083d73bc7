"""Who may use a web site: login sessions, the login guard and forgery checks, per site.

Every site (admin, field, office) has one :class:`SiteAuth`. Everything but the public
paths passes :meth:`SiteAuth.guard`: a request without a live session is sent to the login
page (pages) or refused with 401 (``/api``, ``/vortexws``, scripts); a state-changing
request of a live session must be same-origin and carry the session's CSRF token.
Passwords are checked by ``check``, which on logic asks the identity store and elsewhere
asks logic (``docs/dev/identity.rst``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import cast
from urllib.parse import quote

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.python.failure import Failure
from twisted.web.http import Request
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource

from peek_platform.identity.principal import LoginRefused, Principal
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

#: Seconds between checks that end expired sessions (and close their links).
EXPIRY_CHECK_SECONDS = 2.0
#: Seconds between asking whether the users of live sessions may keep them.
REVALIDATE_SECONDS = 30.0
#: Paths that are never pages: unauthenticated requests get 401, not a redirect.
NON_PAGE_PATHS = frozenset({b"api", b"vortexws"})
#: Paths whose (GET) requests must also be same-origin: the websocket upgrade.
ORIGIN_CHECKED_PATHS = frozenset({b"vortexws"})

#: ``check(userName, password, site)``: the principal, or ``LoginRefused`` /
#: ``DirectoryUnavailable``.
LoginCheck = Callable[[str, str, str], Deferred[Principal]]
#: ``revalidate(userIds)``: the users of live sessions that may keep them, each with what
#: they hold now (``None``: unchanged); users left out may not (disabled, removed).
Revalidate = Callable[[list[str]], Deferred[dict[str, Principal | None]]]
#: Called with each session that ends (logout, expiry, forced), e.g. to close its links.
SessionEndListener = Callable[[Session], None]


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


def _setCookie(request: IRequest, name: bytes, value: str, *, path: bytes = b"/") -> None:
    # twisted.web.http.Request.addCookie takes httpOnly/sameSite; IRequest's signature omits them.
    cast(Request, request).addCookie(
        name,
        value.encode("ascii"),
        path=path,
        httpOnly=True,
        sameSite="strict",
        secure=request.isSecure() or None,
    )


def _expireCookie(request: IRequest, name: bytes, *, path: bytes = b"/") -> None:
    cast(Request, request).addCookie(
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


class SiteAuth:
    """One site's login check, sessions, login throttle and forgery checks.

    ``requiredPermission``, when set, is needed to log in at all (``admin`` on the admin
    site). Sessions end after ``idleSeconds`` without a request or ``maxSeconds`` after
    login, whichever is first.
    """

    def __init__(
        self,
        siteName: str,
        check: LoginCheck,
        clock: IReactorTime,
        *,
        idleSeconds: float,
        maxSeconds: float | None = None,
        requiredPermission: str | None = None,
        revalidate: Revalidate | None = None,
        throttle: LoginThrottle | None = None,
        loginTokens: PreSessionTokens | None = None,
    ) -> None:
        self.siteName = siteName
        self._check = check
        self._clock = clock
        self._expiryChecks: LoopingCall | None = None
        self._revalidate = revalidate
        self._revalidation: LoopingCall | None = None
        self.requiredPermission = requiredPermission
        self.sessions = SessionStore(clock, idleSeconds=idleSeconds, maxSeconds=maxSeconds)
        self.throttle = throttle if throttle is not None else LoginThrottle(clock)
        self.loginTokens = loginTokens if loginTokens is not None else PreSessionTokens()
        title = siteName[:1].upper() + siteName[1:]
        #: Cookie holding the session id once logged in.
        self.sessionCookie = f"peek{title}Session".encode("ascii")
        #: Cookie binding the login form's CSRF token to one browser before login.
        self.loginCookie = f"peek{title}Login".encode("ascii")

    # ---- logging in -------------------------------------------------------------------

    def login(self, userName: str, password: str) -> Deferred[Principal]:
        """Check a login for this site; ``LoginRefused`` also when the permission is missing."""
        d = self._check(userName, password, self.siteName)

        def permitted(principal: Principal) -> Principal:
            needed = self.requiredPermission
            if needed is not None and not principal.has(needed):
                raise LoginRefused(
                    f"user {principal.userName} does not have the {needed!r} permission "
                    f"needed for the {self.siteName} site"
                )
            return principal

        return d.addCallback(permitted)

    # ---- sessions ---------------------------------------------------------------------

    def startExpiryChecks(
        self,
        intervalSeconds: float = EXPIRY_CHECK_SECONDS,
        revalidateSeconds: float = REVALIDATE_SECONDS,
    ) -> None:
        """End expired sessions every ``intervalSeconds``, so their links close promptly,
        and every ``revalidateSeconds`` end those whose user may no longer keep them."""
        if self._expiryChecks is None:
            self._expiryChecks = LoopingCall(self.sessions.purgeExpired)
            self._expiryChecks.clock = self._clock
            self._expiryChecks.start(intervalSeconds, now=False)
        if self._revalidate is not None and self._revalidation is None:
            self._revalidation = LoopingCall(self.revalidateSessions)
            self._revalidation.clock = self._clock
            self._revalidation.start(revalidateSeconds, now=False)

    def stopExpiryChecks(self) -> None:
        """Stop the periodic checks (the service is stopping)."""
        for loop in (self._expiryChecks, self._revalidation):
            if loop is not None and loop.running:
                loop.stop()
        self._expiryChecks = self._revalidation = None

    def revalidateSessions(self) -> Deferred[None] | None:
        """End the sessions of users who may no longer keep them (disabled, removed, or
        without this site's required permission); give the others their current roles."""
        if self._revalidate is None:
            return None
        userIds = sorted({session.principal.userId for session in self.sessions.sessions()})
        if not userIds:
            return None

        def apply(allowed: dict[str, Principal | None]) -> None:
            for session in self.sessions.sessions():
                principal = session.principal
                current = allowed.get(principal.userId)
                if principal.userId not in allowed:
                    self._endUser(principal.userId, "the user may no longer log in")
                elif current is None:
                    continue
                elif self.requiredPermission and not current.has(self.requiredPermission):
                    self._endUser(
                        principal.userId,
                        f"the user lost the {self.requiredPermission!r} permission",
                    )
                else:
                    session.principal = Principal(
                        principal.userId, principal.userName, current.roles, current.permissions
                    )

        def unchecked(failure: Failure) -> None:
            logger.info(
                "%s site: could not re-check the users of live sessions: %s",
                self.siteName,
                failure.getErrorMessage(),
            )

        return self._revalidate(userIds).addCallbacks(apply, unchecked)

    def _endUser(self, userId: str, reason: str) -> None:
        ended = self.sessions.removeUser(userId)
        if ended:
            logger.warning(
                "%s site: ended %d session(s) of %s: %s", self.siteName, len(ended), userId, reason
            )

    def addSessionEndListener(self, listener: SessionEndListener) -> None:
        """Call ``listener(session)`` whenever a session ends, for whatever reason."""
        self.sessions.addEndListener(listener)

    def sessionFor(self, request: IRequest, *, touch: bool = True) -> Session | None:
        """The live session of the request's cookie (its idle timer restarts), or None."""
        return self.sessions.get(_cookie(request, self.sessionCookie), touch=touch)

    def startSession(self, request: IRequest, principal: Principal) -> Session:
        """Log ``principal`` in: a fresh session id in the cookie, the login cookie dropped."""
        session = self.sessions.create(principal)
        _setCookie(request, self.sessionCookie, session.sessionId)
        _expireCookie(request, self.loginCookie, path=b"/login")
        return session

    def endSession(self, request: IRequest) -> Session | None:
        """Log out: forget the session and expire its cookie; the session that ended."""
        sessionId = _cookie(request, self.sessionCookie)
        ended = self.sessions.remove(sessionId) if sessionId else None
        _expireCookie(request, self.sessionCookie)
        return ended

    # ---- the login form ---------------------------------------------------------------

    def loginFormToken(self, request: IRequest) -> str:
        """The CSRF token for a login form, setting the pre-session cookie if needed."""
        cookieValue = _cookie(request, self.loginCookie)
        if not cookieValue or len(cookieValue) > 100:
            cookieValue = PreSessionTokens.newCookieValue()
            _setCookie(request, self.loginCookie, cookieValue, path=b"/login")
        return self.loginTokens.tokenFor(cookieValue)

    def loginFormTokenValid(self, request: IRequest) -> bool:
        """True when a posted login form carries the token of this browser's login cookie."""
        return self.loginTokens.check(_cookie(request, self.loginCookie), requestToken(request))

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
                    "%s site: refused %s %s from %s: %s",
                    self.siteName,
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

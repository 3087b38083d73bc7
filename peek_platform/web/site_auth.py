"""Who may use a web site: login sessions, the login guard and forgery checks, per site.

Every site (admin, field, office) has one :class:`SiteAuth`. Everything but the public
paths passes :meth:`SiteAuth.guard`: a request without a live session is sent to the login
page (pages) or refused with 401 (``/api``, ``/vortexws``, scripts); a state-changing
request of a live session must be same-origin and carry the session's CSRF token.
Passwords are checked by ``check``, which on logic asks the identity store and elsewhere
asks logic (``docs/dev/identity.rst``). On field and office a good login also passes the
site's device gate: the browser's device is enrolled or recognised, and a session whose
device waits for an administrator's approval is served only the waiting page.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import cast
from urllib.parse import quote

from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.python.failure import Failure
from twisted.web.http import Request
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource

from peek_platform.identity.devices import DeviceAdmission, DeviceGate, DeviceState
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
from peek_platform.web.session_file import SessionFile

logger = logging.getLogger(__name__)

#: Seconds between checks that end expired sessions (and close their links).
EXPIRY_CHECK_SECONDS = 2.0
#: Seconds between asking whether the users of live sessions may keep them.
REVALIDATE_SECONDS = 30.0
#: Paths that are never pages: unauthenticated requests get 401, not a redirect.
NON_PAGE_PATHS = frozenset({b"api", b"vortexws"})
#: Paths whose (GET) requests must also be same-origin: the websocket upgrade.
ORIGIN_CHECKED_PATHS = frozenset({b"vortexws"})
#: Paths a session whose device waits for approval may use: the waiting page, its status
#: and logging out.
AWAITING_APPROVAL_PATHS = frozenset({b"device", b"logout"})
#: The page a session whose device waits for approval is sent to.
WAITING_PAGE_PATH = "/device/waiting"
#: Seconds a browser keeps its device cookie (400 days, the most browsers allow); every
#: login renews it.
DEVICE_COOKIE_MAX_AGE_SECONDS = 400 * 24 * 3600

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


def _setCookie(
    request: IRequest,
    name: bytes,
    value: str,
    *,
    path: bytes = b"/",
    maxAgeSeconds: int | None = None,
) -> None:
    # twisted.web.http.Request.addCookie takes httpOnly/sameSite; IRequest's signature omits them.
    cast(Request, request).addCookie(
        name,
        value.encode("ascii"),
        path=path,
        max_age=None if maxAgeSeconds is None else str(maxAgeSeconds).encode("ascii"),
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


def _noLinks(session: Session) -> list[str]:
    return []


class SiteAuth:
    """One site's login check, sessions, login throttle and forgery checks.

    ``requiredPermission``, when set, is needed to log in at all (``admin`` on the admin
    site). Sessions end after ``idleSeconds`` without a request or ``maxSeconds`` after
    login, whichever is first. With ``devices`` (field and office) every login's browser is
    enrolled as a device, kept in a long-lived cookie. With ``sessionFile`` the sessions
    are kept on disk too and outlive a restart of the service.
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
        devices: DeviceGate | None = None,
        sessionFile: SessionFile | None = None,
    ) -> None:
        self.siteName = siteName
        #: Enrols and re-checks the devices of logins (None: the site enrols no devices).
        self.devices = devices
        #: The open device links of a session, by peer address (``SessionLinks`` sets it
        #: once the site serves ``/vortexws``).
        self.linksOf: Callable[[Session], list[str]] = _noLinks
        self._check = check
        self._clock = clock
        self._expiryChecks: LoopingCall | None = None
        self._revalidate = revalidate
        self._revalidation: LoopingCall | None = None
        self.requiredPermission = requiredPermission
        self._unauthenticatedAnswers: dict[bytes, IResource] = {}
        self.sessions = SessionStore(
            clock, idleSeconds=idleSeconds, maxSeconds=maxSeconds, file=sessionFile
        )
        self.throttle = throttle if throttle is not None else LoginThrottle(clock)
        self.loginTokens = loginTokens if loginTokens is not None else PreSessionTokens()
        title = siteName[:1].upper() + siteName[1:]
        #: Cookie holding the session id once logged in.
        self.sessionCookie = f"peek{title}Session".encode("ascii")
        #: Cookie binding the login form's CSRF token to one browser before login.
        self.loginCookie = f"peek{title}Login".encode("ascii")
        #: Cookie holding the browser's device token (sites with ``devices``).
        self.deviceCookie = f"peek{title}Device".encode("ascii")

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

    def admitDevice(
        self, request: IRequest, principal: Principal
    ) -> Deferred[DeviceAdmission | None]:
        """The device a good login comes from (None without ``devices``): recognised by the
        browser's device cookie or newly enrolled, the cookie (re)set for another 400 days.
        Fails with ``DeviceRevoked`` for a revoked device."""
        if self.devices is None:
            return succeed(None)
        token = _cookie(request, self.deviceCookie)
        agent = (request.getHeader(b"user-agent") or b"").decode("utf-8", "replace")

        def keepCookie(admission: DeviceAdmission) -> DeviceAdmission:
            kept = admission.newToken or token
            if kept:
                _setCookie(
                    request,
                    self.deviceCookie,
                    kept,
                    maxAgeSeconds=DEVICE_COOKIE_MAX_AGE_SECONDS,
                )
            return admission

        return self.devices.admit(token, principal, agent).addCallback(keepCookie)

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
        """Stop the periodic checks and write the sessions' last use (the service is
        stopping)."""
        for loop in (self._expiryChecks, self._revalidation):
            if loop is not None and loop.running:
                loop.stop()
        self._expiryChecks = self._revalidation = None
        self.sessions.flush()

    def revalidateSessions(self) -> Deferred[None] | None:
        """Re-check every live session with logic now: users (``_revalidateUsers``) and
        devices (``_revalidateDevices``); None when there is nothing to ask."""
        checks = [d for d in (self._revalidateUsers(), self._revalidateDevices()) if d]
        if not checks:
            return None
        return gatherResults(checks).addCallback(lambda _: None)

    def _revalidateUsers(self) -> Deferred[None] | None:
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
                    self.endSessions(
                        userIds=[principal.userId], reason="the user may no longer log in"
                    )
                elif current is None:
                    continue
                elif self.requiredPermission and not current.has(self.requiredPermission):
                    self.endSessions(
                        userIds=[principal.userId],
                        reason=f"the user lost the {self.requiredPermission!r} permission",
                    )
                else:
                    session.principal = Principal(
                        principal.userId, principal.userName, current.roles, current.permissions
                    )
                    self.sessions.changed(session)

        return self._revalidate(userIds).addCallbacks(apply, self._unchecked("users"))

    def _revalidateDevices(self) -> Deferred[None] | None:
        """End the sessions of devices revoked since (or no longer enrolled); let the
        sessions of newly approved devices past the waiting page."""
        if self.devices is None:
            return None
        deviceIds = sorted({s.deviceId for s in self.sessions.sessions() if s.deviceId})
        if not deviceIds:
            return None
        d = self.devices.states(deviceIds)
        return d.addCallbacks(
            lambda states: self._applyDeviceStates(deviceIds, states), self._unchecked("devices")
        )

    def refreshDevice(self, session: Session) -> Deferred[DeviceState | None]:
        """Ask now what state ``session``'s device is in and apply it to the device's
        sessions; the state (None: no longer enrolled, or the site enrols no devices)."""
        deviceId = session.deviceId
        if self.devices is None or deviceId is None:
            return succeed(None)

        def apply(states: dict[str, DeviceState]) -> DeviceState | None:
            self._applyDeviceStates([deviceId], states)
            return states.get(deviceId)

        return self.devices.states([deviceId]).addCallback(apply)

    def _applyDeviceStates(self, checked: list[str], states: dict[str, DeviceState]) -> None:
        for session in self.sessions.sessions():
            deviceId = session.deviceId
            if deviceId is None or deviceId not in checked:
                continue
            state = states.get(deviceId)
            if state is None:
                self.endSessions(deviceIds=[deviceId], reason="the device is no longer enrolled")
            elif state == DeviceState.REVOKED:
                self.endSessions(deviceIds=[deviceId], reason="the device was revoked")
            elif state == DeviceState.APPROVED and session.awaitingApproval:
                session.awaitingApproval = False
                self.sessions.changed(session)
                logger.info(
                    "%s site: device %s of %r was approved; its session may use the site",
                    self.siteName,
                    deviceId,
                    session.user,
                )

    def _unchecked(self, what: str) -> Callable[[Failure], None]:
        def unchecked(failure: Failure) -> None:
            logger.info(
                "%s site: could not re-check the %s of live sessions: %s",
                self.siteName,
                what,
                failure.getErrorMessage(),
            )

        return unchecked

    def endSessions(
        self, *, userIds: Iterable[str] = (), deviceIds: Iterable[str] = (), reason: str
    ) -> list[Session]:
        """End every session of ``userIds`` and of ``deviceIds`` (their links close); the
        sessions that ended, each logged with ``reason``."""
        ended: list[Session] = []
        for userId in userIds:
            ended += self._ended(self.sessions.removeUser(userId), f"user {userId}", reason)
        for deviceId in deviceIds:
            ended += self._ended(self.sessions.removeDevice(deviceId), f"device {deviceId}", reason)
        return ended

    def _ended(self, sessions: list[Session], whose: str, reason: str) -> list[Session]:
        if sessions:
            logger.warning(
                "%s site: ended %d session(s) of %s: %s",
                self.siteName,
                len(sessions),
                whose,
                reason,
            )
        return sessions

    def addSessionEndListener(self, listener: SessionEndListener) -> None:
        """Call ``listener(session)`` whenever a session ends, for whatever reason."""
        self.sessions.addEndListener(listener)

    def sessionFor(self, request: IRequest, *, touch: bool = True) -> Session | None:
        """The live session of the request's cookie (its idle timer restarts), or None."""
        return self.sessions.get(_cookie(request, self.sessionCookie), touch=touch)

    def startSession(
        self, request: IRequest, principal: Principal, device: DeviceAdmission | None = None
    ) -> Session:
        """Log ``principal`` in from ``device``: a fresh session id in the cookie, the login
        cookie dropped; a pending device's session waits for approval."""
        session = self.sessions.create(
            principal,
            deviceId=device.deviceId if device is not None else None,
            awaitingApproval=device is not None and device.state == DeviceState.PENDING,
        )
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
        if session.awaitingApproval and path not in AWAITING_APPROVAL_PATHS:
            if not _isPage(request, path):
                return StatusResource(403, "this device is waiting for an administrator's approval")
            return SeeOther(_withNext(WAITING_PAGE_PATH, request))
        return None

    def answerUnauthenticated(self, path: bytes, resource: IResource) -> None:
        """Let ``resource`` answer requests for ``path`` that have no session (the device
        vortex refuses those links itself, with a close code a browser can read)."""
        self._unauthenticatedAnswers[path] = resource

    def _unauthenticated(self, request: IRequest, path: bytes) -> IResource:
        answer = self._unauthenticatedAnswers.get(path)
        if answer is not None:
            return answer
        if not _isPage(request, path):
            return StatusResource(401, "log in at /login first")
        return SeeOther(_withNext("/login", request))


def _isPage(request: IRequest, path: bytes) -> bool:
    """True for a browser's page request (it gets a redirect rather than an error)."""
    accept = request.getHeader(b"accept") or b""
    return (
        path not in NON_PAGE_PATHS
        and request.method in (b"GET", b"HEAD")
        and b"text/html" in accept
    )


def _withNext(location: str, request: IRequest) -> str:
    """``location`` with ``?next=`` the requested path, when there is one to return to."""
    nextPath = safeNextPath(request.uri.decode("ascii", "replace"))
    if nextPath == "/":
        return location
    return f"{location}?next={quote(nextPath, safe='/')}"

"""The login and logout pages every site shares; each site brings its own login template.

``POST /login`` checks origin, the per-address throttle and the form token before it asks
:meth:`SiteAuth.login`, which may go to the identity store or to logic, then (field and
office) :meth:`SiteAuth.admitDevice` for the browser's device; the answer is rendered when
those checks fire. The password is never logged or echoed.
"""

from __future__ import annotations

import html
import logging
import math
from typing import cast
from urllib.parse import quote

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.web.http import Request
from twisted.web.iweb import IRequest
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from peek_platform.identity.devices import DeviceAdmission
from peek_platform.identity.principal import DirectoryUnavailable, LoginRefused, Principal
from peek_platform.web.csrf import crossOriginReason
from peek_platform.web.site_auth import (
    WAITING_PAGE_PATH,
    SeeOther,
    SiteAuth,
    clientAddress,
    safeNextPath,
)
from peek_platform.web.templates import TEMPLATES_DIR, Markup, renderTemplate

logger = logging.getLogger(__name__)


def formArgument(request: IRequest, name: bytes) -> str:
    """The first value of form or query argument ``name`` (empty when absent)."""
    values = (request.args or {}).get(name)
    return values[0].decode("utf-8", "replace") if values else ""


def htmlResponse(request: IRequest, code: int, body: bytes) -> bytes:
    """``body`` as an uncached HTML answer with status ``code``."""
    request.setResponseCode(code)
    request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
    request.setHeader(b"Cache-Control", b"no-store")
    return body


#: The login page every site shows, with the site's title, stylesheet and hint.
LOGIN_TEMPLATE = TEMPLATES_DIR / "login.html"
#: What the login page says about accounts unless a site says otherwise.
DEFAULT_LOGIN_HINT = Markup(
    "Ask your Peek administrator for an account. On a new installation the recovery user\n"
    "      <code>admin</code> can log in with the password saved as\n"
    "      <code>admin.recoveryPassword</code> in the logic service's <code>config.json</code>."
)


class LoginResource(Resource):
    """``GET /login`` shows the form; ``POST /login`` checks it and starts a session.

    The page (``LOGIN_TEMPLATE``) carries the site's ``title``, its ``stylesheet`` and a
    ``hint`` about accounts under the form.
    """

    isLeaf = True

    def __init__(
        self,
        auth: SiteAuth,
        *,
        title: str,
        stylesheet: str = "/static/shell.css",
        hint: Markup = DEFAULT_LOGIN_HINT,
    ) -> None:
        super().__init__()
        self.auth = auth
        self.title = title
        self.stylesheet = stylesheet
        self.hint = hint

    def _form(
        self, request: IRequest, code: int, *, error: str = "", user: str = "", nextPath: str = "/"
    ) -> bytes:
        errorHtml = (
            Markup(f'<p class="error" id="login-error" role="alert">{html.escape(error)}</p>')
            if error
            else Markup("")
        )
        body = renderTemplate(
            LOGIN_TEMPLATE,
            csrfToken=self.auth.loginFormToken(request),
            error=errorHtml,
            user=user,
            next=nextPath,
            title=self.title,
            stylesheet=self.stylesheet,
            hint=self.hint,
            describedBy=Markup(' aria-describedby="login-error"' if error else ""),
        )
        return htmlResponse(request, code, body)

    def render_GET(self, request: IRequest) -> bytes:
        """The login form, or straight on when already logged in."""
        nextPath = safeNextPath(formArgument(request, b"next"))
        if self.auth.sessionFor(request) is not None:
            return SeeOther(nextPath).render(request)
        return self._form(request, 200, nextPath=nextPath)

    def render_POST(self, request: IRequest) -> bytes | int:
        """Check origin, throttle and form token, then ask for the login to be checked."""
        site = self.auth.siteName
        client = clientAddress(request)
        user = formArgument(request, b"username")
        nextPath = safeNextPath(formArgument(request, b"next"))
        reason = crossOriginReason(request)
        if reason is not None:
            logger.warning("%s login from %s refused: %s", site, client, reason)
            return self._form(
                request, 403, error="This login was sent from another site and was refused."
            )
        wait = self.auth.throttle.retryAfter(client)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            request.setHeader(b"Retry-After", str(seconds).encode())
            return self._form(
                request,
                429,
                user=user,
                nextPath=nextPath,
                error=f"Too many failed logins from your address. Try again in {seconds} s.",
            )
        if not self.auth.loginFormTokenValid(request):
            return self._form(
                request,
                403,
                user=user,
                nextPath=nextPath,
                error="The login form had expired. Please log in again.",
            )

        gone: list[bool] = []
        cast(Request, request).notifyFinish().addErrback(lambda _: gone.append(True))

        def finish(body: bytes) -> None:
            if not gone:
                request.write(body)
                request.finish()

        def admitted(principal: Principal) -> Deferred[tuple[Principal, DeviceAdmission | None]]:
            d = self.auth.admitDevice(request, principal)
            return d.addCallback(lambda device: (principal, device))

        def accepted(result: tuple[Principal, DeviceAdmission | None]) -> None:
            principal, device = result
            self.auth.throttle.recordSuccess(client)
            session = self.auth.startSession(request, principal, device)
            target = nextPath
            if device is None:
                logger.info("%s user %r logged in from %s", site, principal.userName, client)
            else:
                waits = " (the device waits for approval)" if session.awaitingApproval else ""
                logger.info(
                    "%s user %r logged in from %s on device %s%s",
                    site,
                    principal.userName,
                    client,
                    device.deviceId,
                    waits,
                )
                if session.awaitingApproval:
                    target = f"{WAITING_PAGE_PATH}?next={quote(nextPath, safe='/')}"
            finish(SeeOther(target).render(request))

        def refused(failure: Failure) -> None:
            if failure.check(LoginRefused):
                self.auth.throttle.recordFailure(client)
                logger.warning("%s login failed for user %r from %s", site, user, client)
                message = str(failure.value)
                error = (
                    message[:1].upper() + message[1:] + "."
                    if message
                    else "Wrong user name or password."
                )
                body = self._form(request, 401, user=user, nextPath=nextPath, error=error)
            elif failure.check(DirectoryUnavailable):
                logger.warning("%s login for user %r: %s", site, user, failure.value)
                body = self._form(
                    request,
                    503,
                    user=user,
                    nextPath=nextPath,
                    error=f"The login could not be checked: {failure.value}",
                )
            else:
                logger.error(
                    "%s login for user %r failed unexpectedly",
                    site,
                    user,
                    exc_info=(failure.type, failure.value, failure.getTracebackObject()),
                )
                body = self._form(
                    request,
                    500,
                    user=user,
                    nextPath=nextPath,
                    error="The login could not be checked; see the service log.",
                )
            finish(body)

        d = self.auth.login(user, formArgument(request, b"password"))
        d.addCallback(admitted).addCallbacks(accepted, refused)
        return NOT_DONE_YET


class LogoutResource(Resource):
    """``POST /logout`` (behind the guard, so same-origin with the session's token)."""

    isLeaf = True

    def __init__(self, auth: SiteAuth) -> None:
        super().__init__()
        self.auth = auth

    def render_POST(self, request: IRequest) -> bytes:
        """End the session and go to the login page."""
        ended = self.auth.endSession(request)
        if ended is not None:
            logger.info("%s user %r logged out", self.auth.siteName, ended.user)
        return SeeOther("/login").render(request)

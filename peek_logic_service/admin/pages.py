"""The admin site's own pages and small JSON APIs: login, logout, page shell, session info."""

from __future__ import annotations

import html
import json
import logging
import math
from collections.abc import Callable
from pathlib import Path

from twisted.web.iweb import IRequest
from twisted.web.resource import Resource

from peek_logic_service.admin.auth import AdminAuth, SeeOther, clientAddress, safeNextPath
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.web.csrf import crossOriginReason
from peek_platform.web.templates import Markup, renderTemplate

logger = logging.getLogger(__name__)

#: The admin site's assets: page templates and the static files served at ``/static/``.
ADMIN_ASSETS_DIR = Path(__file__).resolve().parent / "assets"
ADMIN_TEMPLATES_DIR = ADMIN_ASSETS_DIR / "templates"
#: Served at ``/static/``: the shell's script and styles, and the page scripts of phase 2.
ADMIN_STATIC_DIR = ADMIN_ASSETS_DIR / "static"


def _arg(request: IRequest, name: bytes) -> str:
    values = (request.args or {}).get(name)
    return values[0].decode("utf-8", "replace") if values else ""


def _html(request: IRequest, code: int, body: bytes) -> bytes:
    request.setResponseCode(code)
    request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
    request.setHeader(b"Cache-Control", b"no-store")
    return body


class LoginResource(Resource):
    """``GET /login`` shows the form; ``POST /login`` checks it and starts a session."""

    isLeaf = True

    def __init__(self, auth: AdminAuth) -> None:
        super().__init__()
        self.auth = auth

    def _form(
        self, request: IRequest, code: int, *, error: str = "", user: str = "", nextPath: str = "/"
    ) -> bytes:
        errorHtml = (
            Markup(f'<p class="error" id="login-error" role="alert">{html.escape(error)}</p>')
            if error
            else Markup("")
        )
        body = renderTemplate(
            ADMIN_TEMPLATES_DIR / "login.html",
            csrfToken=self.auth.loginFormToken(request),
            error=errorHtml,
            user=user,
            next=nextPath,
            describedBy=Markup(' aria-describedby="login-error"' if error else ""),
        )
        return _html(request, code, body)

    def render_GET(self, request: IRequest) -> bytes:
        """The login form, or straight on when already logged in."""
        nextPath = safeNextPath(_arg(request, b"next"))
        if self.auth.sessionFor(request) is not None:
            return SeeOther(nextPath).render(request)
        return self._form(request, 200, nextPath=nextPath)

    def render_POST(self, request: IRequest) -> bytes:
        """Check origin, throttle, form token, then the credentials."""
        client = clientAddress(request)
        user = _arg(request, b"username")
        nextPath = safeNextPath(_arg(request, b"next"))
        reason = crossOriginReason(request)
        if reason is not None:
            logger.warning("admin login from %s refused: %s", client, reason)
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
        if not self.auth.credentials.matches(user, _arg(request, b"password")):
            self.auth.throttle.recordFailure(client)
            logger.warning("admin login failed for user %r from %s", user, client)
            return self._form(
                request,
                401,
                user=user,
                nextPath=nextPath,
                error="Wrong user name or password.",
            )
        self.auth.throttle.recordSuccess(client)
        self.auth.startSession(request, user)
        logger.info("admin user %r logged in from %s", user, client)
        return SeeOther(nextPath).render(request)


class LogoutResource(Resource):
    """``POST /logout`` (behind the guard, so same-origin with the session's token)."""

    isLeaf = True

    def __init__(self, auth: AdminAuth) -> None:
        super().__init__()
        self.auth = auth

    def render_POST(self, request: IRequest) -> bytes:
        """End the session and go to the login page."""
        session = self.auth.sessionFor(request, touch=False)
        self.auth.endSession(request)
        if session is not None:
            logger.info("admin user %r logged out", session.user)
        return SeeOther("/login").render(request)


def pluginPages(
    adminSite: SiteResources, pluginTitle: Callable[[str], str]
) -> list[dict[str, str]]:
    """Every plugin with an admin page: ``{"name", "title", "url"}``, by name."""
    return [
        {"name": name, "title": pluginTitle(name), "url": f"/{name}/"}
        for name in adminSite.pluginNames()
    ]


def _pluginNavHtml(pages: list[dict[str, str]]) -> Markup:
    if not pages:
        return Markup('      <p class="no-plugin-pages">No plugin has an admin page.</p>')
    items = "\n".join(
        f'        <li><a href="{html.escape(p["url"])}">{html.escape(p["title"])}</a></li>'
        for p in pages
    )
    return Markup(f'      <ul aria-labelledby="plugin-pages-heading">\n{items}\n      </ul>')


class AdminShellResource(Resource):
    """``GET /``: the page shell with the navigation; the page scripts fill ``<main>``."""

    isLeaf = True

    def __init__(
        self, auth: AdminAuth, adminSite: SiteResources, pluginTitle: Callable[[str], str]
    ) -> None:
        super().__init__()
        self.auth = auth
        self.adminSite = adminSite
        self.pluginTitle = pluginTitle

    def render_GET(self, request: IRequest) -> bytes:
        """The shell, carrying the session's CSRF token and user name."""
        session = self.auth.sessionFor(request, touch=False)
        if session is None:
            return SeeOther("/login").render(request)
        body = renderTemplate(
            ADMIN_TEMPLATES_DIR / "shell.html",
            csrfToken=session.csrfToken,
            user=session.user,
            pluginPages=_pluginNavHtml(pluginPages(self.adminSite, self.pluginTitle)),
        )
        return _html(request, 200, body)


class JsonResource(Resource):
    """``GET`` answers ``produce(request)`` as JSON, never cached."""

    isLeaf = True

    def __init__(self, produce: Callable[[IRequest], object]) -> None:
        super().__init__()
        self.produce = produce

    def render_GET(self, request: IRequest) -> bytes:
        """The document as JSON."""
        request.setHeader(b"Content-Type", b"application/json")
        request.setHeader(b"Cache-Control", b"no-store")
        return json.dumps(self.produce(request)).encode()


def sessionInfo(auth: AdminAuth) -> Callable[[IRequest], object]:
    """``/api/session``: the logged-in user, the CSRF token and the idle timeout."""

    def produce(request: IRequest) -> object:
        session = auth.sessionFor(request, touch=False)
        if session is None:
            return {}
        return {
            "user": session.user,
            "csrfToken": session.csrfToken,
            "idleTimeoutSeconds": auth.sessions.idleSeconds,
        }

    return produce

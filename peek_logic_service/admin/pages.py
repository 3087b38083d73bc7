"""The admin site's own pages and small JSON APIs: page shell, plugin pages, session info.

Login and logout are the pages every site shares (``peek_platform.web.login_pages``).
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Callable
from pathlib import Path

from twisted.web.iweb import IRequest
from twisted.web.resource import Resource

from peek_platform.http.plugin_resources import SiteResources
from peek_platform.web.login_pages import htmlResponse
from peek_platform.web.site_auth import SeeOther, SiteAuth
from peek_platform.web.templates import Markup, renderTemplate

logger = logging.getLogger(__name__)

#: The admin site's assets: page templates and the static files served at ``/static/``.
ADMIN_ASSETS_DIR = Path(__file__).resolve().parent / "assets"
ADMIN_TEMPLATES_DIR = ADMIN_ASSETS_DIR / "templates"
#: Served at ``/static/``: the shell's script and styles, and the page scripts of phase 2.
ADMIN_STATIC_DIR = ADMIN_ASSETS_DIR / "static"


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
        self, auth: SiteAuth, adminSite: SiteResources, pluginTitle: Callable[[str], str]
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
        return htmlResponse(request, 200, body)


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


def sessionInfo(auth: SiteAuth) -> Callable[[IRequest], object]:
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

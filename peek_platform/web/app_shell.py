"""The field and office app shell at ``/``: links to every plugin that ships an app there.

A plugin ships a field (office) app by registering a resource or static dir on that site
(``addFieldStaticResourceDir`` …). The list is rendered on the server, so it works
without scripts; ``/static/shell.mjs`` keeps the connection status line current,
registers the offline service worker and forgets the user's offline data at logout.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from twisted.web.iweb import IRequest
from twisted.web.resource import Resource

from peek_platform.http.plugin_resources import SiteResources
from peek_platform.services import allSites
from peek_platform.web.site_auth import SiteAuth
from peek_platform.web.templates import TEMPLATES_DIR, Markup, renderTemplate

#: Human title of each site, from the service descriptions.
SITE_TITLES: dict[str, str] = {site.name: site.title for _, site in allSites()}


def appListHtml(siteResources: SiteResources, pluginTitle: Callable[[str], str]) -> Markup:
    """The ``<ul>`` of app links (or a sentence saying there are none)."""
    names = siteResources.pluginNames()
    if not names:
        return Markup(
            f'    <p class="no-apps">No plugin ships a {html.escape(siteResources.siteName)} '
            "app on this service yet. Enable one in the service's config.json "
            "(plugin.enabled) and restart the service.</p>"
        )
    items = []
    for name in names:
        title = pluginTitle(name)
        extra = "" if title == name else f'<span class="app-name">{html.escape(name)}</span>'
        items.append(
            f'      <li><a href="/{html.escape(name)}/">'
            f"<span><span>{html.escape(title)}</span>{extra}</span></a></li>"
        )
    return Markup(
        '    <ul class="apps" aria-labelledby="apps-heading">\n' + "\n".join(items) + "\n    </ul>"
    )


class AppShellResource(Resource):
    """Renders the app shell page for one site, listing the plugins registered right now."""

    isLeaf = True

    def __init__(
        self,
        siteResources: SiteResources,
        serviceName: str,
        pluginTitle: Callable[[str], str] = lambda name: name,
        auth: SiteAuth | None = None,
    ) -> None:
        super().__init__()
        self.siteResources = siteResources
        self.serviceName = serviceName
        self.pluginTitle = pluginTitle
        self.auth = auth

    def render_GET(self, request: IRequest) -> bytes:
        """The shell page; revalidated on every visit so new apps show up."""
        siteName = self.siteResources.siteName
        request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
        request.setHeader(b"Cache-Control", b"no-cache")
        return renderTemplate(
            TEMPLATES_DIR / "app_shell.html",
            title=SITE_TITLES.get(siteName, f"Peek {siteName}"),
            siteName=siteName,
            serviceName=self.serviceName,
            appList=appListHtml(self.siteResources, self.pluginTitle),
            account=self._accountHtml(request),
        )

    def _accountHtml(self, request: IRequest) -> Markup:
        """Who is logged in, with a logout button; nothing on a site without logins."""
        session = self.auth.sessionFor(request, touch=False) if self.auth else None
        if session is None:
            return Markup("")
        return Markup(
            '    <form class="logout-form" method="post" action="/logout">\n'
            f'      <span id="account-user">{html.escape(session.user)}</span>\n'
            '      <input type="hidden" name="csrfToken" '
            f'value="{html.escape(session.csrfToken)}">\n'
            '      <button type="submit">Log out</button>\n'
            "    </form>"
        )

"""The admin site of the logic service (``httpServer.admin.sitePort``, 8010 by default).

Public: ``/health``, ``/login``, ``/static/`` (the shell's scripts and styles) and
``/vortex/js/`` (the browser vortex client). Behind login: ``/`` (page shell),
``/logout``, ``/api/session``, ``/api/plugin-pages``, ``/api/users``, ``/api/roles`` and
``/api/permissions`` (the Users and Roles pages, ``users_pages.py``), ``/api/live-sessions``
and ``/api/devices`` (the Logged in and Devices pages, ``devices_pages.py``),
``/api/plugins`` (the Plugins page's buttons, ``plugins_pages.py``), ``/api/diagnostics``
(the diagnostics zip, ``diagnostics_pages.py``), ``/vortexws``
(the admin browser's vortex) and every plugin's admin pages at ``/<pluginName>/``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

from twisted.web.resource import IResource

from peek_logic_service.admin.pages import (
    ADMIN_STATIC_DIR,
    AdminShellResource,
    JsonResource,
    pluginPages,
    sessionInfo,
)
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.http.static_files import StaticDirectory
from peek_platform.plugin.state import PluginStatus
from peek_platform.web.app_site import vortexJsResource
from peek_platform.web.health import HealthResource, pluginsStartedCheck
from peek_platform.web.login_pages import LoginResource, LogoutResource
from peek_platform.web.site_auth import SiteAuth
from peek_platform.web.site_root import ChildrenOnly, WebSiteRoot
from peek_platform.web.templates import Markup
from vortex.transport import VORTEX_WS_PATH

logger = logging.getLogger(__name__)

#: What the admin login page says about accounts.
ADMIN_LOGIN_HINT = Markup(
    "Log in as a user with the <code>admin</code> permission, or as the recovery user, whose\n"
    "      password is <code>admin.recoveryPassword</code> in the logic service's\n"
    "      <code>config.json</code>; the admin guide's \u201cWeb sites\u201d page says where."
)


def buildAdminSiteRoot(
    adminSite: SiteResources,
    auth: SiteAuth,
    serviceName: str,
    *,
    statuses: Callable[[], Iterable[PluginStatus]],
    pluginTitle: Callable[[str], str],
    deviceVortex: IResource | None = None,
    moreApi: Mapping[bytes, IResource] | None = None,
) -> WebSiteRoot:
    """The admin site's root; ``deviceVortex`` is mounted at ``/vortexws`` behind login and
    ``moreApi`` (such as the Users and Roles pages' ``users``) under ``/api``."""
    api = ChildrenOnly(
        {
            b"session": JsonResource(sessionInfo(auth)),
            b"plugin-pages": JsonResource(lambda request: pluginPages(adminSite, pluginTitle)),
            **(moreApi or {}),
        }
    )
    protected: dict[bytes, IResource] = {b"logout": LogoutResource(auth), b"api": api}
    if deviceVortex is not None:
        protected[VORTEX_WS_PATH] = deviceVortex
    return WebSiteRoot(
        adminSite,
        AdminShellResource(auth, adminSite, pluginTitle),
        publicChildren={
            b"health": HealthResource(serviceName, [pluginsStartedCheck(statuses)]),
            b"login": LoginResource(
                auth, title="Peek Admin", stylesheet="/static/admin.css", hint=ADMIN_LOGIN_HINT
            ),
            b"static": StaticDirectory(str(ADMIN_STATIC_DIR)),
            b"vortex": vortexJsResource(),
        },
        protectedChildren=protected,
        guard=auth.guard,
    )

"""The admin Plugins page's buttons: enable, disable, restart one plugin on one service.

``POST /api/plugins/<action>`` with ``{"plugin": NAME, "vortexUuid": UUID}`` runs the
service command ``plugin.<action>`` on that one service process (the uuid of the row the
button is in), or with ``{"plugin": NAME, "service": KEY}`` on every service of that kind,
through the same :class:`~peek_logic_service.operations.PlatformCommands` as ``peek plugin``
(docs/admin/plugin-control.rst). Admin permission, same origin and CSRF as the other pages.
``/api/plugins/upload`` is the wheel upload of ``plugin_upload.py``, when it is wired in.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from twisted.internet.defer import Deferred
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource

from peek_logic_service.admin.plugin_upload import PluginUploadExtension
from peek_logic_service.admin.users_pages import (
    ApiCall,
    ApiError,
    IdentityApiResource,
    Route,
    bodyValue,
)
from peek_logic_service.operations import PlatformCommands
from peek_platform.plugin.control_commands import ABSENT, PLUGIN_ACTIONS
from peek_platform.web.site_auth import SiteAuth


class PluginsAdmin:
    """The Plugins page's operations over logic's platform commands."""

    def __init__(
        self,
        commands: Callable[[], PlatformCommands],
        upload: PluginUploadExtension | None = None,
    ) -> None:
        self._commands = commands
        self._upload = upload

    def resources(self, auth: SiteAuth) -> dict[bytes, IResource]:
        """``/api/plugins``, to mount under the admin site's ``/api``."""
        routes = [Route(b"POST", action, partial(self.act, action)) for action in PLUGIN_ACTIONS]
        api = IdentityApiResource(auth, routes)
        if self._upload is None:
            return {b"plugins": api}
        upload = self._upload.resource(auth, self._commands)
        return {b"plugins": _PluginsApi(api, upload)}

    def act(self, action: str, call: ApiCall) -> Deferred[dict[str, Any]]:
        """Run ``plugin.<action>`` where the body says; the answers and a one-line message."""
        plugin = bodyValue(call.body, "plugin", str)
        vortexUuid = bodyValue(call.body, "vortexUuid", str, None)
        service = bodyValue(call.body, "service", str, None)
        if (vortexUuid is None) == (service is None):
            raise ApiError(400, "give either vortexUuid (one service) or service (a kind)")
        d = self._commands().run(
            f"plugin.{action}",
            {"plugin": plugin, "by": f"admin {call.actor}"},
            serviceKey=service,
            vortexUuid=vortexUuid,
        )

        def summarise(answers: list[dict[str, Any]]) -> dict[str, Any]:
            if not answers:
                raise ApiError(404, "that service is not linked to logic now")
            return {"message": answerMessage(action, plugin, answers), "answers": answers}

        return d.addCallback(summarise)


class _PluginsApi(Resource):
    """``/api/plugins``: ``upload`` goes to the upload resource, the rest to the buttons'."""

    isLeaf = True

    def __init__(self, api: IResource, upload: IResource) -> None:
        super().__init__()
        self._api = api
        self._upload = upload

    def render(self, request: IRequest) -> bytes | int:
        """Let the resource of the request's path answer it."""
        target = self._upload if (request.postpath or [b""])[0] == b"upload" else self._api
        return target.render(request)


def answerMessage(action: str, plugin: str, answers: list[dict[str, Any]]) -> str:
    """One sentence on what ``action`` of ``plugin`` did on each service."""
    parts = []
    for answer in answers:
        where = f"{answer['service']} pid {answer.get('pid', '?')}"
        if not answer["ok"]:
            parts.append(f"{where} refused: {answer['error']}")
            continue
        result = answer["result"]
        if result["state"] == ABSENT:
            parts.append(f"{where}: {result['reason']}")
        elif not result["changed"]:
            parts.append(f"{where}: already {result['state']}")
        else:
            also = f" (with {', '.join(result['dependants'])})" if result["dependants"] else ""
            parts.append(f"{where}: {result['state']}{also}")
    return f"{action} {plugin}: " + "; ".join(parts)

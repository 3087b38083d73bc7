"""The admin page's settings API: ``GET`` lists the plugin settings, ``POST`` sets one.

The admin site serves it behind login; a ``POST`` must come from the admin site and carry
the session's CSRF token (``X-CSRF-Token``), which the admin site checks before this runs.
"""

import json
from typing import Any

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from peek_plugin_base.settings.PluginSetting import PluginSettingError
from peek_plugin_base.settings.PluginSettingsABC import PluginSettingsABC


class SettingsResource(Resource):
    """JSON access to the noop plugin's settings for its admin page."""

    isLeaf = True

    def __init__(self, pluginSettings: PluginSettingsABC) -> None:
        super().__init__()
        self._settings = pluginSettings

    def render_GET(self, request: Request) -> Any:
        """``[{"name", "type", "default", "description", "value"}, ...]``."""
        return _answerLater(request, Deferred.fromCoroutine(self._describeAll()))

    def render_POST(self, request: Request) -> Any:
        """Body ``{"name": ..., "value": ...}``: store the value; 400 if it does not fit."""
        try:
            body = json.loads(request.content.read() or b"null")
            name, value = body["name"], body["value"]
        except (ValueError, TypeError, KeyError):
            return _jsonBody(request, 400, {"error": 'send JSON {"name": ..., "value": ...}'})
        d = maybeDeferred(self._settings.set, name, value)
        return _answerLater(request, d.addCallback(lambda _: {"name": name, "value": value}))

    async def _describeAll(self) -> list[dict[str, Any]]:
        described = []
        for setting in self._settings.declarations:
            described.append(
                {
                    "name": setting.name,
                    "type": setting.type,
                    "default": setting.default,
                    "description": setting.description,
                    "value": await self._settings.get(setting.name),
                }
            )
        return described


def _jsonBody(request: Request, code: int, body: Any) -> bytes:
    """Set the status and headers of a JSON answer and return its body."""
    request.setResponseCode(code)
    request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"cache-control", b"no-store")
    return json.dumps(body).encode("utf-8")


def _answerLater(request: Request, d: Deferred[Any]) -> Any:
    """Answer with ``d``'s result as JSON once it fires; a refused value is a 400."""
    gone: list[bool] = []
    request.notifyFinish().addErrback(lambda _: gone.append(True))

    def failed(failure: Failure) -> tuple[int, Any]:
        if failure.check(PluginSettingError):
            return 400, {"error": str(failure.value)}
        return 500, {"error": f"{type(failure.value).__name__}: {failure.value}"}

    def answer(outcome: tuple[int, Any]) -> None:
        if not gone:  # The browser may have gone meanwhile; then nobody is listening.
            request.write(_jsonBody(request, *outcome))
            request.finish()

    d.addCallbacks(lambda body: (200, body), failed).addCallback(answer)
    return NOT_DONE_YET

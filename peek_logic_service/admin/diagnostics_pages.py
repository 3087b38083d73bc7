"""The admin site's diagnostics download: ``GET /api/diagnostics`` answers the zip.

It runs the service command ``diagnostics.collect`` on logic and every linked service
through the same :class:`~peek_logic_service.operations.PlatformCommands` as
``peek diagnostics`` and answers the zip (``application/zip``, as an attachment named
``peek-diagnostics-<UTC timestamp>.zip``) with secrets redacted (docs/admin/diagnostics.rst).
Behind the admin login, and the session must hold the ``admin`` permission.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from twisted.python.failure import Failure
from twisted.web.http import Request
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET

from peek_logic_service.operations import PlatformCommands
from peek_platform.diagnostics import DIAGNOSTICS_COMMAND, buildZip, defaultZipName
from peek_platform.identity.permissions import ADMIN_PERMISSION
from peek_platform.web.site_auth import SiteAuth

logger = logging.getLogger(__name__)

#: Seconds each service gets to collect.
COLLECT_TIMEOUT_SECONDS = 30.0


class DiagnosticsAdmin:
    """The diagnostics download over logic's platform commands."""

    def __init__(self, commands: Callable[[], PlatformCommands]) -> None:
        self._commands = commands

    def resources(self, auth: SiteAuth) -> dict[bytes, IResource]:
        """``/api/diagnostics``, to mount under the admin site's ``/api``."""
        return {b"diagnostics": DiagnosticsDownload(auth, self._commands)}


class DiagnosticsDownload(Resource):
    """``GET``: collect from every linked service and answer the zip (admins only)."""

    isLeaf = True

    def __init__(self, auth: SiteAuth, commands: Callable[[], PlatformCommands]) -> None:
        super().__init__()
        self._auth = auth
        self._commands = commands

    def render_GET(self, request: IRequest) -> bytes | int:
        """Start collecting; answer the zip when every service has answered or timed out."""
        session = self._auth.sessionFor(request, touch=False)
        if session is None or not session.principal.has(ADMIN_PERMISSION):
            return _error(request, 403, f"this needs the {ADMIN_PERMISSION!r} permission")
        actor = session.principal.userId
        gone: list[bool] = []
        cast(Request, request).notifyFinish().addErrback(lambda _: gone.append(True))
        when = datetime.now(UTC)
        d = self._commands().run(DIAGNOSTICS_COMMAND, {}, timeout=COLLECT_TIMEOUT_SECONDS)

        def answer(answers: list[dict[str, Any]]) -> None:
            data = buildZip(answers, when)
            failed = [a["service"] for a in answers if not a["ok"]]
            logger.info(
                "diagnostics of %d services downloaded by %s on the admin site%s",
                len(answers),
                actor,
                f" ({', '.join(failed)} did not answer)" if failed else "",
            )
            if gone:
                return
            request.setResponseCode(200)
            request.setHeader(b"Content-Type", b"application/zip")
            request.setHeader(
                b"Content-Disposition",
                f'attachment; filename="{defaultZipName(when)}"'.encode("ascii"),
            )
            request.setHeader(b"Cache-Control", b"no-store")
            request.write(data)
            request.finish()

        def failed(failure: Failure) -> None:
            logger.error("admin site: diagnostics failed\n%s", failure.getTraceback())
            if not gone:
                request.write(_error(request, 500, "collecting diagnostics failed; see the log"))
                request.finish()

        d.addCallback(answer).addErrback(failed)
        return NOT_DONE_YET


def _error(request: IRequest, code: int, message: str) -> bytes:
    """Set a JSON error answer on ``request``; its body."""
    request.setResponseCode(code)
    request.setHeader(b"Content-Type", b"application/json")
    request.setHeader(b"Cache-Control", b"no-store")
    return json.dumps({"error": message}).encode()

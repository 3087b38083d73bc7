"""Uploading a plugin wheel on the admin Plugins page (``/api/plugins/upload``).

Off unless logic's ``plugin.allowUpload`` is true: an upload runs the plugin's code in every
service, so it is a choice of the operator, not of each admin. ``GET`` answers whether it
is allowed; ``POST`` with the wheel's bytes as the body and its file name in the
``X-Wheel-Filename`` header (``?enable=true`` enables a new plugin everywhere) saves it to a
private temporary file, checks it is a Peek plugin wheel and installs it (or upgrades the
installed plugin, rolling back when logic cannot run the new version) with the same code as
``peek plugin install|upgrade``; pip runs in a thread, never on the reactor
(docs/admin/plugin-install.rst).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from twisted.internet import defer, threads
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.web.http import Request
from twisted.web.iweb import IRequest
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from peek_logic_service.admin.users_pages import ApiError, writeJson
from peek_logic_service.operations import PlatformCommands
from peek_platform.config import ServiceConfig
from peek_platform.identity.permissions import ADMIN_PERMISSION
from peek_platform.plugin.package_manager import PackageOutcome, PluginPackageManager
from peek_platform.plugin.packages import (
    PackageRefused,
    Pip,
    PluginPackageError,
    inspectWheel,
    installedDistribution,
)
from peek_platform.process.context import ServiceContext, ServiceExtensionBase, ServiceReactor
from peek_platform.web.site_auth import SiteAuth

logger = logging.getLogger(__name__)

#: The largest wheel accepted.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: The header naming the uploaded wheel's file (pip reads name and version from it).
FILENAME_HEADER = b"X-Wheel-Filename"
_WHEEL_FILENAME = re.compile(r"[A-Za-z0-9_.+!]+(-[A-Za-z0-9_.+!]+){4,5}\.whl")
#: What a refused upload says when the setting is off.
OFF_MESSAGE = (
    "uploading plugins is off: set plugin.allowUpload to true in the logic service's "
    "config.json and restart logic to allow it"
)


class _InProcessPlatform:
    """Logic's own platform commands, as the package manager's ``PlatformAccess``."""

    def __init__(self, commands: PlatformCommands) -> None:
        self._commands = commands

    def running(self) -> Deferred[bool]:
        return defer.succeed(True)

    def run(
        self, command: str, args: dict[str, Any], serviceKey: str | None
    ) -> Deferred[list[dict[str, Any]]]:
        return self._commands.run(command, args, serviceKey=serviceKey)


class PluginUploadExtension(ServiceExtensionBase):
    """Logic ``ServiceExtension`` reading ``plugin.allowUpload``; the admin site mounts
    :meth:`resource` under ``/api/plugins``."""

    def __init__(self) -> None:
        self.allowed = False
        self.home: Path | None = None
        self.reactor: ServiceReactor = None

    def configure(self, ctx: ServiceContext) -> ServiceConfig:
        """Remember the setting, logic's home and the reactor."""
        self.allowed = bool(ctx.config["plugin.allowUpload"])
        self.home = Path(ctx.home)
        self.reactor = ctx.reactor
        return ctx.config

    def resource(
        self, auth: SiteAuth, commands: Callable[[], PlatformCommands]
    ) -> PluginUploadResource:
        """The ``upload`` resource for the admin site."""
        if self.home is None:
            raise RuntimeError("plugin upload is not configured: configure has not run")
        home, reactor = self.home, self.reactor

        def inThread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Deferred[Any]:
            return threads.deferToThreadPool(reactor, reactor.getThreadPool(), fn, *args, **kwargs)

        def manager(actor: str, say: Callable[[str], None]) -> PluginPackageManager:
            return PluginPackageManager(
                home=home,
                pip=Pip(say=say),
                platform=_InProcessPlatform(commands()),
                inThread=inThread,
                by=f"admin {actor} (upload)",
            )

        return PluginUploadResource(auth, self.allowed, manager, inThread)


class PluginUploadResource(Resource):
    """``GET``: ``{"allowed", "maxBytes"}``; ``POST``: install or upgrade the wheel sent.

    ``manager(actor, say)`` builds the package manager; ``inThread`` runs blocking work off
    the reactor.
    """

    isLeaf = True

    def __init__(
        self,
        auth: SiteAuth,
        allowed: bool,
        manager: Callable[[str, Callable[[str], None]], PluginPackageManager],
        inThread: Callable[..., Deferred[Any]],
    ) -> None:
        super().__init__()
        self._auth = auth
        self._allowed = allowed
        self._manager = manager
        self._inThread = inThread
        self._busy = False

    def render(self, request: IRequest) -> int:
        """Answer once the install is done (the admin permission is checked first)."""
        gone: list[bool] = []
        cast(Request, request).notifyFinish().addErrback(lambda _: gone.append(True))

        def answer(result: tuple[int, object]) -> None:
            if not gone:
                writeJson(request, *result)

        d = defer.maybeDeferred(self._answer, request)
        d.addErrback(self._refusal, request).addCallback(answer)
        return NOT_DONE_YET

    def _answer(self, request: IRequest) -> Deferred[tuple[int, object]]:
        session = self._auth.sessionFor(request, touch=False)
        if session is None or not session.principal.has(ADMIN_PERMISSION):
            raise ApiError(403, f"this needs the {ADMIN_PERMISSION!r} permission")
        if request.method == b"GET":
            return defer.succeed((200, {"allowed": self._allowed, "maxBytes": MAX_UPLOAD_BYTES}))
        if request.method != b"POST":
            request.setHeader(b"Allow", b"GET, POST")
            raise ApiError(405, "use GET or POST on this path")
        if not self._allowed:
            raise ApiError(403, OFF_MESSAGE)
        if self._busy:
            raise ApiError(409, "another plugin upload is being installed; try again when done")
        fileName = (request.getHeader(FILENAME_HEADER) or b"").decode("ascii", "replace").strip()
        if not _WHEEL_FILENAME.fullmatch(fileName):
            raise ApiError(
                400, "send the wheel's file name (NAME-VERSION-TAGS.whl) in X-Wheel-Filename"
            )
        data = _readUpload(request)
        actor = session.principal.userId
        enable = (request.args or {}).get(b"enable") == [b"true"]
        self._busy = True
        d = Deferred.fromCoroutine(self._install(actor, fileName, data, enable))

        def notBusy(result: Any) -> Any:
            self._busy = False
            return result

        return d.addBoth(notBusy)

    async def _install(
        self, actor: str, fileName: str, data: bytes, enable: bool
    ) -> tuple[int, object]:
        """Save, check and install (enabling it when asked) or upgrade the wheel; the answer."""
        lines: list[str] = []

        def say(line: str) -> None:
            logger.info("plugin upload: %s", line)

        directory, path = await self._inThread(_savePrivately, fileName, data)
        try:
            found = await self._inThread(inspectWheel, path)
            manager = self._manager(actor, say)
            names = found.pluginNames
            installed = [n for n in names if await self._inThread(installedDistribution, n)]
            logger.info("%s uploaded %s (%s)", actor, fileName, ", ".join(names))
            outcome: PackageOutcome
            if installed and len(names) == 1:
                outcome = await manager.upgrade(names[0], path)
            else:
                outcome = await manager.install(path, enable=enable)
            lines = outcome.lines
        except PackageRefused as e:
            raise ApiError(400, str(e).replace(str(path), fileName)) from e
        except PluginPackageError as e:
            raise ApiError(500, str(e)) from e
        finally:
            await self._inThread(shutil.rmtree, directory, True)
        logger.info("%s (by %s on the admin site)", outcome.summary, actor)
        return 200, {"ok": outcome.ok, "message": outcome.summary, "lines": lines}

    @staticmethod
    def _refusal(failure: Failure, request: IRequest) -> tuple[int, object]:
        if failure.check(ApiError):
            error = cast(ApiError, failure.value)
            return error.code, error.document()
        logger.error(
            "admin site: plugin upload failed",
            exc_info=(failure.type, failure.value, failure.getTracebackObject()),
        )
        return 500, {"error": "the upload failed unexpectedly; see the logic service's log"}


def _readUpload(request: IRequest) -> bytes:
    """The request body, refused with 413 above :data:`MAX_UPLOAD_BYTES`."""
    tooLarge = ApiError(
        413, f"the wheel is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB, the upload limit"
    )
    length = request.getHeader(b"Content-Length")
    if length is not None and length.isdigit() and int(length) > MAX_UPLOAD_BYTES:
        raise tooLarge
    data = request.content.read(MAX_UPLOAD_BYTES + 1) if request.content is not None else b""
    if len(data) > MAX_UPLOAD_BYTES:
        raise tooLarge
    if not data:
        raise ApiError(400, "the request body is empty: send the wheel's bytes")
    return data


def _savePrivately(fileName: str, data: bytes) -> tuple[str, Path]:
    """Write ``data`` as ``fileName`` (mode 0600) in a new private directory; both paths."""
    directory = tempfile.mkdtemp(prefix="peek-plugin-upload-")
    path = Path(directory) / fileName
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    return directory, path

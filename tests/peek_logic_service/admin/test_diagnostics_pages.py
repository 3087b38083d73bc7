"""The admin diagnostics download (``GET /api/diagnostics``): the zip for an admin, built
from a real service's ``diagnostics.collect``; refused without a session or ``admin``."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from twisted.internet.defer import Deferred, gatherResults, succeed

from peek_logic_service.admin.diagnostics_pages import DiagnosticsAdmin
from peek_platform.diagnostics import DIAGNOSTICS_COMMAND, SERVICE_FILES
from peek_platform.identity.principal import Principal
from peek_platform.services import LOGIC

EXCHANGE_SECRET = "admin-download-exchange-secret-31"
RECOVERY_PASSWORD = "admin-download-recovery-pw-31"


class LocalCommands:
    """Stands in for PlatformCommands over one real service context: runs the command on
    its table and answers as logic would; records the runs."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.runs: list[str] = []

    def run(self, command, args, *, serviceKey=None, vortexUuid=None, timeout=60.0) -> Deferred:
        self.runs.append(command)
        d = self.ctx.commands.run(command, args)
        d.addCallback(lambda result: {"service": "logic", "ok": True, "result": result})
        gone = {"service": "field", "host": "h", "pid": 7, "ok": False, "error": "timed out"}
        return gatherResults([d, succeed(gone)])


@pytest.fixture
def commands(peekServiceContext) -> LocalCommands:
    ctx = peekServiceContext(
        LOGIC,
        {"dataExchange.secret": EXCHANGE_SECRET, "admin.recoveryPassword": RECOVERY_PASSWORD},
    )
    return LocalCommands(ctx)


@pytest.fixture
def site(admin, commands):
    """The admin test site with the diagnostics download."""
    return admin.serveApi(DiagnosticsAdmin(lambda: commands).resources(admin.auth))


def test_an_admin_downloads_the_zip(site, browser, commands):
    """The answer is a zip attachment holding logic's folder and a summary naming the
    service that did not answer; no secret of logic's config is in any entry."""
    response = browser.get("/api/diagnostics")

    assert response.code == 200, response.body
    assert response.headers["content-type"] == ["application/zip"]
    disposition = response.headers["content-disposition"][0]
    assert disposition.startswith('attachment; filename="peek-diagnostics-')
    assert disposition.endswith('Z.zip"')
    assert commands.runs == [DIAGNOSTICS_COMMAND]
    archive = zipfile.ZipFile(io.BytesIO(response.body))
    folders = {name.split("/")[0] for name in archive.namelist()} - {"summary.json"}
    assert len(folders) == 1 and next(iter(folders)).startswith("logic-")
    folder = next(iter(folders))
    assert {f"{folder}/{name}" for name in SERVICE_FILES} <= set(archive.namelist())
    summary = json.loads(archive.read("summary.json"))
    assert [(f["service"], f["error"]) for f in summary["failed"]] == [("field", "timed out")]
    for name in archive.namelist():
        data = archive.read(name)
        assert EXCHANGE_SECRET.encode() not in data and RECOVERY_PASSWORD.encode() not in data


def test_without_a_session_it_is_401(site, commands):
    """No login: 401 and nothing is collected."""
    assert site.browser().get("/api/diagnostics").code == 401
    assert commands.runs == []


def test_a_session_without_admin_is_refused(site, commands):
    """A session whose user lacks ``admin`` (not yet re-checked) gets 403, no zip."""
    session = site.auth.sessions.create(
        Principal("local:bob", "bob", frozenset({"editors"}), frozenset({"peek_plugin_x.edit"}))
    )
    bob = site.browser()
    bob.cookies["peekAdminSession"] = session.sessionId
    response = bob.get("/api/diagnostics")
    assert response.code == 403
    assert json.loads(response.body) == {"error": "this needs the 'admin' permission"}
    assert commands.runs == []

"""The noop plugin across real service processes: storage, settings, RPC, observable,
actions, Celery tasks and web pages, as the plugin author's reference example.

The tests of storage (migrations, the worker's rows, an action's change, stored settings and
roles, a clean stop) run twice: on logic's embedded SQLite and on a PostgreSQL database
(see ``noopServices``); the others on SQLite."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from peek_platform.services import AGENT, FIELD, LOGIC, OFFICE, WORKER
from peek_plugin_base.storage.DbEngine import createDbEngine

pytestmark = pytest.mark.integration

DRIVER = Path(__file__).with_name("noop_vortex_driver.py")
#: The noop plugin's permission to change item values.
EDIT = "peek_plugin_noop.edit"
ALEMBIC_DIR = Path(__file__).resolve().parents[3] / (
    "plugins/peek-plugin-noop/peek_plugin_noop/_private/alembic"
)
#: Tests of storage run on logic's embedded SQLite and on PostgreSQL (``noopServices``).
ON_BOTH_DATABASES = pytest.mark.parametrize("noopServices", ["sqlite", "postgresql"], indirect=True)
#: Tests that do not touch storage run on SQLite only.
ON_SQLITE = pytest.mark.parametrize("noopServices", ["sqlite"], indirect=True)


@ON_BOTH_DATABASES
def test_logicMigratesNoopToHead(noopServices) -> None:
    """Logic runs the four noop revisions in order; schema pl_noop of its database (SQLite
    or PostgreSQL) is at the newest one, with the unique name index, the ``lastChangedBy``
    column and the ``AppliedAction`` table with its unique uuid index."""
    logic = noopServices.services[LOGIC.key]
    scripts = ScriptDirectory(str(ALEMBIC_DIR))
    revisions = [script.revision for script in scripts.walk_revisions()][::-1]
    assert len(revisions) == 4
    ran = [
        m.group(1)
        for m in map(re.compile(r"Running upgrade \S* -> (\w+)").search, logic.lines)
        if m and m.group(1) in revisions
    ]
    assert ran == revisions
    engine = createDbEngine(noopServices.databaseUrl, attachSchemas=["pl_noop"])
    try:
        with engine.connect() as db:
            current = db.execute(text("SELECT version_num FROM pl_noop.alembic_version")).scalar()
            schema = inspect(db)
            indexes = {i["name"]: i["unique"] for i in schema.get_indexes("NoopItem", "pl_noop")}
            columns = [c["name"] for c in schema.get_columns("NoopItem", "pl_noop")]
            applied = {
                i["name"]: i["unique"] for i in schema.get_indexes("AppliedAction", "pl_noop")
            }
    finally:
        engine.dispose()
    assert current == scripts.get_current_head()
    assert indexes.get("idx_NoopItem_name") in (1, True)
    assert columns == ["id", "name", "value", "lastChangedBy"]
    assert applied.get("idx_AppliedAction_uuid") in (1, True)


@ON_BOTH_DATABASES
def test_settingIsReadAtStart(noopServices) -> None:
    """Logic reads the ``greeting`` setting (its declared default) when the plugin starts."""
    noopServices.services[LOGIC.key].waitForLine(r"noop.*Setting greeting is 'hello'")


@ON_SQLITE
def test_rpcAgentCallsLogic(noopServices) -> None:
    """The agent calls logic's noopAddOnLogic(5, 7): logic runs it, the agent logs 12."""
    noopServices.services[AGENT.key].waitForLine(r"Logic's noopAddOnLogic\(5, 7\) returned 12$")
    noopServices.services[LOGIC.key].waitForLine(r"The agent asked for noopAddOnLogic\(5, 7\)")


@ON_SQLITE
def test_rpcLogicCallsAgent(noopServices) -> None:
    """Logic calls the agent's noopEchoOnAgent when the agent links up, and logs the echo."""
    noopServices.services[AGENT.key].waitForLine(r"Logic asked for noopEchoOnAgent")
    noopServices.services[LOGIC.key].waitForLine(
        r"The agent's noopEchoOnAgent said 'hello from logic'$"
    )


@ON_BOTH_DATABASES
def test_workerBatchResultsAreLogged(noopServices) -> None:
    """Logic submits three upsert tasks to the worker and logs the rows they wrote."""
    line = noopServices.services[LOGIC.key].waitForLine(r"Worker batch done: (.*)$")
    written = re.findall(r"(Worker \w+)=(\d+) \(id \d+\)", line.group(1))
    assert written == [("Worker plums", "10"), ("Worker cherries", "20"), ("Worker grapes", "30")]


@ON_BOTH_DATABASES
def test_observerSeesAnActionsChange(noopServices) -> None:
    """A Python observer of logic gets the items; an increment action (delta 2, step 1)
    changes "Apples" and the observer receives the new value."""
    logicHome = noopServices.homeRoot / LOGIC.homeDirName
    config = json.loads((logicHome / "config.json").read_text())
    url = f"ws://127.0.0.1:{config['dataExchange']['port']}/vortexws"
    done = subprocess.run(
        [sys.executable, str(DRIVER), url, config["dataExchange"]["secret"]],
        capture_output=True,
        text=True,
        timeout=40,
        env=noopServices.env,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "error" not in report, report["error"]
    assert report["firstTypes"] == ["NoopItemTuple"]
    assert report["after"] == report["before"] + 2
    assert report["result"] == []


@ON_SQLITE
@pytest.mark.parametrize("spec", [FIELD, OFFICE], ids=["field", "office"])
def test_devicePageIsServedAndListed(noopServices, spec) -> None:
    """After login, field and office serve the noop page at /peek_plugin_noop/ and list it."""
    base = noopServices.services[spec.key].siteUrl(spec.key)
    client = _SiteClient(base, noopServices.homeRoot / LOGIC.homeDirName)
    page = client.get("/peek_plugin_noop/")[1]
    assert '<script type="module" src="app.mjs"></script>' in page
    assert "import" in client.get("/peek_plugin_noop/app.mjs")[1]
    assert "NoopItemTuple" in client.get("/peek_plugin_noop/tuples.mjs")[1]
    assert 'href="/peek_plugin_noop/"' in client.get("/")[1]


@ON_BOTH_DATABASES
def test_adminSettingsApiReadsAndWritesASetting(noopServices) -> None:
    """The admin page's settings API lists both settings; a POST with the CSRF token stores
    a value, a wrongly typed one is refused with 400."""
    logic = noopServices.services[LOGIC.key]
    admin = _SiteClient(logic.siteUrl("admin"), noopServices.homeRoot / LOGIC.homeDirName)
    assert "admin.mjs" in admin.get("/peek_plugin_noop/")[1]

    code, body = admin.get("/peek_plugin_noop/api/settings")
    assert code == 200
    values = {s["name"]: (s["type"], s["value"]) for s in json.loads(body)}
    assert values == {"greeting": ("str", "hello"), "incrementStep": ("int", 1)}

    assert (
        admin.postJson("/peek_plugin_noop/api/settings", {"name": "incrementStep", "value": "x"})[0]
        == 400
    )
    assert (
        admin.postJson("/peek_plugin_noop/api/settings", {"name": "incrementStep", "value": 3})[0]
        == 200
    )
    code, body = admin.get("/peek_plugin_noop/api/settings")
    assert {s["name"]: s["value"] for s in json.loads(body)}["incrementStep"] == 3
    assert (
        admin.postJson("/peek_plugin_noop/api/settings", {"name": "incrementStep", "value": 1})[0]
        == 200
    )


@ON_BOTH_DATABASES
def test_adminPageGrantsAndRevokesTheEditPermission(noopServices) -> None:
    """Logic knows ``peek_plugin_noop.edit`` with its declared description; the admin page's
    calls (POST /api/roles with the role's permissions plus it, then without it) grant and
    revoke it, which GET /api/roles shows."""
    logic = noopServices.services[LOGIC.key]
    admin = _SiteClient(logic.siteUrl("admin"), noopServices.homeRoot / LOGIC.homeDirName)
    page = admin.get("/peek_plugin_noop/admin.mjs")[1]
    assert 'const EDIT_PERMISSION = "peek_plugin_noop.edit";' in page

    code, body = admin.get("/api/permissions")
    assert code == 200
    described = {p["name"]: p["description"] for p in json.loads(body)}
    assert described["peek_plugin_noop.edit"].startswith("Change the value of noop items")

    def granted() -> list[str]:
        roles = json.loads(admin.get("/api/roles")[1])
        return next(role["permissions"] for role in roles if role["name"] == "noop_editors")

    role = {"name": "noop_editors", "description": "Edit noop items"}
    assert admin.postJson("/api/roles", {**role, "permissions": ["admin"]})[0] == 200
    assert admin.postJson("/api/roles", {**role, "permissions": ["admin", EDIT]})[0] == 200
    assert granted() == ["admin", EDIT]
    assert admin.postJson("/api/roles", {"name": role["name"], "permissions": ["admin"]})[0] == 200
    assert granted() == ["admin"]


@ON_BOTH_DATABASES
def test_sigtermStopsEveryServiceCleanly(noopServices) -> None:
    """Stopping each service (logic last) stops and unloads noop there and exits with 0."""
    for spec in (AGENT, FIELD, OFFICE, WORKER, LOGIC):
        service = noopServices.services.get(spec.key)
        if service is None:  # not started on this database
            continue
        assert service.stop() == 0, service.output()
        service.waitForLine(rf"peek_plugin_noop\._private\.{spec.key}\.\w+: Stopped$")
        service.waitForLine(rf"peek_plugin_noop\._private\.{spec.key}\.\w+: Unloaded$")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class _SiteClient:
    """A site session (any site): logged in as the recovery user, with its CSRF token."""

    def __init__(self, baseUrl: str, logicHome: Path) -> None:
        self.baseUrl = baseUrl
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect()
        )
        config = json.loads((logicHome / "config.json").read_text())
        loginPage = self.get("/login")[1]
        token = re.search(r'name="csrfToken" value="([^"]+)"', loginPage).group(1)
        form = {
            "username": config["admin"]["recoveryUser"],
            "password": config["admin"]["recoveryPassword"],
            "csrfToken": token,
        }
        assert self._open("/login", urllib.parse.urlencode(form).encode())[0] == 303
        self.csrfToken = json.loads(self.get("/api/session")[1])["csrfToken"]

    def _open(self, path: str, data: bytes | None = None, headers: dict | None = None):
        request = urllib.request.Request(self.baseUrl + path, data=data, headers=headers or {})
        try:
            with self._opener.open(request, timeout=10) as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8")

    def get(self, path: str) -> tuple[int, str]:
        """GET ``path``: status and body."""
        return self._open(path)

    def postJson(self, path: str, body: object) -> tuple[int, str]:
        """POST ``body`` as JSON with the session's CSRF token: status and body."""
        headers = {"Content-Type": "application/json", "X-CSRF-Token": self.csrfToken}
        return self._open(path, json.dumps(body).encode(), headers)

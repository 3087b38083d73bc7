"""The admin and field sites served by real logic and field processes, over HTTP."""

from __future__ import annotations

import json
import signal

import pytest

from peek_platform.services import FIELD, LOGIC
from peek_plugin_base.testing.FreePort import heldTcpPort

pytestmark = pytest.mark.integration

HTML = {"Accept": "text/html"}
#: The web test plugin's package name (written by the ``webPluginDir`` fixture).
WEB_PLUGIN = "peek_plugin_itest_web"


def test_admin_site_login_shell_and_plugin_page(
    processes, homeRoot, webPluginDir, writeServiceConfig, HttpClient, waitFor, loginToken
):
    """Logic's admin site: health, login with the generated password, shell, plugin page."""
    logicHome = homeRoot / LOGIC.homeDirName
    writeServiceConfig(LOGIC, logicHome, plugins=[WEB_PLUGIN])
    logic = processes.service(LOGIC, homeRoot, home=logicHome, pluginsDir=webPluginDir)
    client = HttpClient(logic.siteUrl("admin"))
    health = waitFor(lambda: (h := client.request("/health")).code == 200 and h, what="health")
    assert json.loads(health.body)["service"] == "peek-logic-service"

    assert client.request("/", headers=HTML).headers["Location"] == "/login"
    assert client.request("/api/session").code == 401
    assert client.request("/vortexws").code == 426  # no upgrade; one would get 4010

    password = json.loads((logicHome / "config.json").read_text())["admin"]["recoveryPassword"]
    assert len(password) >= 24
    form = {"username": "admin", "password": "wrong", "csrfToken": ""}
    form["csrfToken"] = loginToken(client.request("/login").text)
    assert client.request("/login", data=form).code == 401
    form.update(password=password, csrfToken=loginToken(client.request("/login").text))
    loggedIn = client.request("/login", data=form)
    assert (loggedIn.code, loggedIn.headers["Location"]) == (303, "/")

    shell = client.request("/")
    assert shell.code == 200
    assert '<meta name="csrf-token"' in shell.text
    assert f'<a href="/{WEB_PLUGIN}/">Web Test</a>' in shell.text
    assert client.request(f"/{WEB_PLUGIN}/").body == b"<p>itest admin page</p>"

    token = json.loads(client.request("/api/session").body)["csrfToken"]
    assert client.request("/logout", data={"csrfToken": token}).code == 303
    assert client.request("/api/session").code == 401

    logic.signal(signal.SIGTERM)
    assert logic.wait() == 0


def test_field_site_linked_to_logic_serves_shell_and_plugin_app(
    processes, homeRoot, webPluginDir, HttpClient, waitFor
):
    """Field's site: health 200 once linked; after the recovery admin logs in (checked by
    logic), the shell lists the plugin's app."""
    linked = processes.linkedServices(
        homeRoot, (LOGIC, FIELD), plugins=[WEB_PLUGIN], pluginsDir=webPluginDir
    )
    client = HttpClient(linked.commands["field"].siteUrl("field"))

    health = waitFor(
        lambda: (h := client.request("/health")).code == 200 and h, what="field health 200"
    )
    body = json.loads(health.body)
    assert (body["service"], body["status"], body["linkedToLogic"]) == (
        "peek-field-service",
        "ok",
        True,
    )

    assert client.request("/", headers={"Accept": "text/html"}).headers["Location"] == "/login"
    assert client.request("/vortexws").code == 426  # no upgrade; one would get 4010
    logicConfig = json.loads((homeRoot / LOGIC.homeDirName / "config.json").read_text())
    loggedIn = client.logIn("admin", logicConfig["admin"]["recoveryPassword"])
    assert (loggedIn.code, loggedIn.headers["Location"]) == (303, "/")

    shell = client.request("/")
    assert shell.headers["Cache-Control"] == "no-cache"
    assert '<span id="account-user">admin</span>' in shell.text
    assert f'href="/{WEB_PLUGIN}/"' in shell.text
    assert "Web Test" in shell.text
    module = client.request(f"/{WEB_PLUGIN}/app.mjs")
    assert (module.code, module.headers["Content-Type"]) == (200, "text/javascript")
    assert client.request(f"/{WEB_PLUGIN}/../config.json").code == 404


def test_field_health_is_503_without_logic(
    processes, homeRoot, webPluginDir, writeServiceConfig, refusedPort, HttpClient
):
    """A field service with no logic to link to reports 503 "not linked"."""
    fieldHome = homeRoot / FIELD.homeDirName
    writeServiceConfig(FIELD, fieldHome, plugins=[WEB_PLUGIN], dataExchangePort=refusedPort)
    field = processes.service(FIELD, homeRoot, home=fieldHome, pluginsDir=webPluginDir)
    client = HttpClient(field.siteUrl("field"))
    field.waitForLine(r"peek-field-service started: ")
    health = client.request("/health")
    assert health.code == 503
    assert json.loads(health.body)["reasons"] == ["not linked to peek-logic-service"]


def test_port_in_use_exits_1_naming_key_and_port(
    processes, homeRoot, writeServiceConfig, refusedPort
):
    """A field site port held by another socket stops the service with status 1 and says why."""
    fieldHome = homeRoot / FIELD.homeDirName
    with heldTcpPort(listen=True) as busy:
        writeServiceConfig(
            FIELD,
            fieldHome,
            dataExchangePort=refusedPort,
            settings={"httpServer.field.sitePort": busy},
        )
        field = processes.service(FIELD, homeRoot, home=fieldHome)
        assert field.wait() == 1
    assert f"cannot listen on 127.0.0.1:{busy}" in field.output()
    assert "httpServer.field.sitePort" in field.output()


def test_commented_logic_config_without_password_exits_2(processes, homeRoot, writeServiceConfig):
    """Logic cannot write a generated password into a commented file: exit 2 and say what to set."""
    path = writeServiceConfig(LOGIC, homeRoot / LOGIC.homeDirName)
    path.write_text(path.read_text().replace("{", "{\n  // operator notes", 1))
    logic = processes.service(LOGIC, homeRoot, home=path.parent, separateStderr=True)
    assert logic.wait() == 2
    assert "admin.recoveryPassword" in logic.stderrText()

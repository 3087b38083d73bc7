"""The admin and field sites served by real logic and field processes, over HTTP."""

from __future__ import annotations

import json
import signal
import socket

import pytest

from peek_platform.services import FIELD, LOGIC

pytestmark = pytest.mark.integration

HTML = {"Accept": "text/html"}


def logicSecret(logicHome) -> str:
    """The data exchange secret logic wrote into its config."""
    return json.loads((logicHome / "config.json").read_text())["dataExchange"]["secret"]


def setConfig(home, section: str, key: str, value) -> None:
    """Set ``section.key`` in a home's config.json."""
    path = home / "config.json"
    config = json.loads(path.read_text())
    config.setdefault(section, {})[key] = value
    path.write_text(json.dumps(config))


def startLogic(processes, homeRoot, webServices, webPluginDir):
    """Start the logic service with the web test plugin enabled."""
    return processes.service(LOGIC, homeRoot, home=webServices.logicHome, pluginsDir=webPluginDir)


def test_admin_site_login_shell_and_plugin_page(
    processes, homeRoot, webServices, webPluginDir, HttpClient, siteUrl, waitFor, loginToken
):
    """Logic's admin site: health, login with the generated password, shell, plugin page."""
    logic = startLogic(processes, homeRoot, webServices, webPluginDir)
    client = HttpClient(siteUrl(logic, "admin"))
    health = waitFor(lambda: (h := client.request("/health")).code == 200 and h)
    assert json.loads(health.body)["service"] == "peek-logic-service"

    assert client.request("/", headers=HTML).headers["Location"] == "/login"
    assert client.request("/api/session").code == 401
    assert client.request("/vortexws").code == 401

    password = json.loads((webServices.logicHome / "config.json").read_text())["admin"][
        "recoveryPassword"
    ]
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
    assert '<a href="/peek_plugin_itest_web/">Web Test</a>' in shell.text
    assert client.request("/peek_plugin_itest_web/").body == b"<p>itest admin page</p>"

    token = json.loads(client.request("/api/session").body)["csrfToken"]
    assert client.request("/logout", data={"csrfToken": token}).code == 303
    assert client.request("/api/session").code == 401

    logic.signal(signal.SIGTERM)
    assert logic.wait() == 0


def test_field_site_linked_to_logic_serves_shell_and_plugin_app(
    processes, homeRoot, webServices, webPluginDir, HttpClient, siteUrl, waitFor
):
    """Field's site: health 200 once linked to logic, the shell lists the plugin's app."""
    logic = startLogic(processes, homeRoot, webServices, webPluginDir)
    siteUrl(logic, "admin")
    setConfig(webServices.fieldHome, "dataExchange", "secret", logicSecret(webServices.logicHome))
    field = processes.service(FIELD, homeRoot, home=webServices.fieldHome, pluginsDir=webPluginDir)
    client = HttpClient(siteUrl(field, "field"))

    health = waitFor(lambda: (h := client.request("/health")).code == 200 and h)
    assert health, client.request("/health").text
    body = json.loads(health.body)
    assert (body["service"], body["status"], body["linkedToLogic"]) == (
        "peek-field-service",
        "ok",
        True,
    )

    shell = client.request("/")
    assert shell.headers["Cache-Control"] == "no-cache"
    assert 'href="/peek_plugin_itest_web/"' in shell.text
    assert "Web Test" in shell.text
    module = client.request("/peek_plugin_itest_web/app.mjs")
    assert (module.code, module.headers["Content-Type"]) == (200, "text/javascript")
    assert client.request("/peek_plugin_itest_web/../config.json").code == 404


def test_field_health_is_503_without_logic(
    processes, homeRoot, webServices, webPluginDir, HttpClient, siteUrl
):
    """A field service with no logic to link to reports 503 "not linked"."""
    setConfig(webServices.fieldHome, "dataExchange", "secret", "x" * 32)
    field = processes.service(FIELD, homeRoot, home=webServices.fieldHome, pluginsDir=webPluginDir)
    client = HttpClient(siteUrl(field, "field"))
    field.waitForLine(r"peek-field-service started: ")
    health = client.request("/health")
    assert health.code == 503
    assert json.loads(health.body)["reasons"] == ["not linked to peek-logic-service"]


def test_port_in_use_exits_1_naming_key_and_port(processes, homeRoot, webServices):
    """A field site port held by another socket stops the service with status 1 and says why."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        setConfig(webServices.fieldHome, "dataExchange", "secret", "x" * 32)
        setConfig(
            webServices.fieldHome,
            "httpServer",
            "field",
            {"sitePort": busy, "bindAddress": "127.0.0.1"},
        )
        field = processes.service(FIELD, homeRoot, home=webServices.fieldHome)
        assert field.wait() == 1
    assert f"cannot listen on 127.0.0.1:{busy}" in field.output()
    assert "httpServer.field.sitePort" in field.output()


def test_commented_logic_config_without_password_exits_2(processes, homeRoot, webServices):
    """Logic cannot write a generated password into a commented file: exit 2 and say what to set."""
    path = webServices.logicHome / "config.json"
    path.write_text('{\n  // operator notes\n  "dataExchange": {"secret": "' + "s" * 32 + '"}\n}\n')
    logic = processes.service(LOGIC, homeRoot, home=webServices.logicHome, separateStderr=True)
    assert logic.wait() == 2
    assert "admin.recoveryPassword" in logic.stderrText()

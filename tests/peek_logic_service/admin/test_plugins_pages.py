"""The admin Plugins page's API (``/api/plugins/<action>``) over a recording stand-in for
logic's PlatformCommands: what it asks for, what it answers, and who may use it."""

from __future__ import annotations

import json

import pytest
from twisted.internet.defer import succeed

from peek_logic_service.admin.plugins_pages import PluginsAdmin


class RecordingCommands:
    """Stands in for PlatformCommands: records each run, answers with ``answers``."""

    def __init__(self) -> None:
        self.runs: list[tuple] = []
        self.answers: list[dict] = []

    def run(self, command, args, *, serviceKey=None, vortexUuid=None):
        self.runs.append((command, args, serviceKey, vortexUuid))
        return succeed(self.answers)


@pytest.fixture
def commands() -> RecordingCommands:
    return RecordingCommands()


@pytest.fixture
def site(admin, commands):
    """The admin test site with the Plugins API."""
    return admin.serveApi(PluginsAdmin(lambda: commands).resources(admin.auth))


def post(site, browser, path, body, *, token=True):
    headers = {"Origin": site.origin, "Content-Type": "application/json"}
    if token:
        headers["X-CSRF-Token"] = site.shellToken(browser)
    return browser.post(path, headers=headers, body=json.dumps(body).encode())


def fieldAnswer(result):
    return {
        "service": "field",
        "host": "h",
        "pid": 42,
        "vortexUuid": "u1",
        "ok": True,
        "result": result,
    }


def test_disable_on_one_process_runs_the_service_command_there(site, browser, commands):
    """POST disable with a vortexUuid runs plugin.disable on that process only, naming the
    admin, and answers the services' answers with a one-line message."""
    commands.answers = [
        fieldAnswer(
            {
                "plugin": "peek_plugin_noop",
                "action": "disable",
                "changed": True,
                "state": "disabled",
                "reason": "x",
                "dependants": ["peek_plugin_b"],
                "seconds": 0.1,
            }
        )
    ]
    response = post(
        site, browser, "/api/plugins/disable", {"plugin": "peek_plugin_noop", "vortexUuid": "u1"}
    )

    assert response.code == 200, response.body
    assert commands.runs == [
        ("plugin.disable", {"plugin": "peek_plugin_noop", "by": "admin recovery:admin"}, None, "u1")
    ]
    document = json.loads(response.body)
    assert (
        document["message"]
        == "disable peek_plugin_noop: field pid 42: disabled (with peek_plugin_b)"
    )
    assert document["answers"] == commands.answers


def test_a_refusal_is_in_the_message(site, browser, commands):
    """A service's refusal is reported with its reason."""
    commands.answers = [{**fieldAnswer(None), "ok": False, "error": "cannot be unloaded safely"}]
    response = post(site, browser, "/api/plugins/restart", {"plugin": "p", "service": "field"})
    assert (
        json.loads(response.body)["message"]
        == "restart p: field pid 42 refused: cannot be unloaded safely"
    )
    assert commands.runs[0][2:] == ("field", None)


def test_exactly_one_target_is_required(site, browser, commands):
    """Neither or both of vortexUuid and service: 400, and nothing is run."""
    for body in ({"plugin": "p"}, {"plugin": "p", "service": "field", "vortexUuid": "u"}):
        response = post(site, browser, "/api/plugins/enable", body)
        assert response.code == 400
    assert commands.runs == []


def test_an_unlinked_process_is_404(site, browser, commands):
    """No service answered (the process is gone): 404 saying so."""
    response = post(site, browser, "/api/plugins/enable", {"plugin": "p", "vortexUuid": "gone"})
    assert response.code == 404
    assert "not linked" in json.loads(response.body)["error"]


def test_the_api_needs_login_and_csrf(site, browser, commands):
    """Without a session 401; without the CSRF token refused; nothing is run either way."""
    assert site.browser().post("/api/plugins/disable", body=b"{}").code == 401
    response = post(
        site, browser, "/api/plugins/disable", {"plugin": "p", "service": "field"}, token=False
    )
    assert response.code == 403
    assert commands.runs == []

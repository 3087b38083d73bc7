"""Logins on the field and office sites of real service processes, checked by logic."""

from __future__ import annotations

import json
import subprocess

from peek_platform.services import FIELD, LOGIC, OFFICE
from peek_platform.testing.ServiceProcess import consoleScript

PAGE = {"Accept": "text/html"}


def peekUser(logicHome, *args: str, password: str | None = None) -> subprocess.CompletedProcess:
    """Run the real ``peek user``/``peek role`` command on logic's home (password on stdin)."""
    return subprocess.run(
        [consoleScript("peek"), *args, "--home", str(logicHome)],
        input=(password + "\n") if password is not None else "",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_users_log_in_on_field_and_office_and_anonymous_links_are_refused(
    processes, homeRoot, webPluginDir, HttpClient, waitFor
):
    """A user added with ``peek user`` logs in on field and office (wrong password refused);
    without a session the shell redirects to login and /vortexws answers 401."""
    linked = processes.linkedServices(
        homeRoot, (LOGIC, FIELD, OFFICE), plugins=["peek_plugin_itest_web"], pluginsDir=webPluginDir
    )
    logicHome = homeRoot / LOGIC.homeDirName
    added = peekUser(logicHome, "user", "add", "carol", password="carol-password-9")
    assert added.returncode == 0, added.stderr

    for spec in (FIELD, OFFICE):
        client = HttpClient(linked.commands[spec.key].siteUrl(spec.key))
        waitFor(lambda client=client: client.request("/health").code == 200, what="healthy")
        assert client.request("/", headers=PAGE).headers["Location"] == "/login"
        assert client.request("/vortexws").code == 401

        refused = client.logIn("carol", "not-carols-password")
        assert refused.code == 401
        assert "Wrong user name or password." in refused.text

        accepted = client.logIn("carol", "carol-password-9")
        assert (accepted.code, accepted.headers["Location"]) == (303, "/")
        shell = client.request("/", headers=PAGE)
        assert '<span id="account-user">carol</span>' in shell.text
        info = json.loads(client.request("/api/session").text)
        assert (info["user"], info["userId"]) == ("carol", "local:carol")

        loggedOut = client.request(
            "/logout", data={"csrfToken": info["csrfToken"]}, headers={"Origin": client.baseUrl}
        )
        assert loggedOut.headers["Location"] == "/login"
        assert client.request("/", headers=PAGE).headers["Location"] == "/login"

    disabled = peekUser(logicHome, "user", "disable", "carol")
    assert disabled.returncode == 0, disabled.stderr
    client = HttpClient(linked.commands[FIELD.key].siteUrl(FIELD.key))
    assert client.logIn("carol", "carol-password-9").code == 401

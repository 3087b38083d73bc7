"""Logins on the field and office sites of real service processes, checked by logic."""

from __future__ import annotations

import http.client
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
    without a session the shell redirects to login and /vortexws serves no page (426: only
    a websocket upgrade is answered, and that one is refused with 4010)."""
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
        assert client.request("/vortexws").code == 426

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


def test_device_link_limits_refuse_one_address_while_another_links(
    processes, homeRoot, HttpClient, waitFor
):
    """A real field site refuses an address's third link attempt in a minute with 429 and
    Retry-After, while a second address (127.0.0.2) still reaches /vortexws."""
    settings = {
        "httpServer.field.requireLogin": False,
        "httpServer.field.newDeviceLinksPerAddressPerMinute": 2,
    }
    linked = processes.linkedServices(homeRoot, (LOGIC, FIELD), settings=settings)
    url = linked.commands[FIELD.key].siteUrl(FIELD.key)
    waitFor(lambda: HttpClient(url).request("/health").code == 200, what="healthy")
    host, port = url.removeprefix("http://").split(":")

    def attempt(source: str) -> tuple[int, str | None]:
        connection = http.client.HTTPConnection(host, int(port), source_address=(source, 0))
        try:
            connection.request("GET", "/vortexws")
            response = connection.getresponse()
            response.read()
            return response.status, response.getheader("Retry-After")
        finally:
            connection.close()

    first, second = attempt("127.0.0.1"), attempt("127.0.0.1")
    assert 429 not in (first[0], second[0])
    status, retryAfter = attempt("127.0.0.1")
    assert status == 429 and retryAfter is not None and int(retryAfter) >= 1
    assert attempt("127.0.0.2")[0] != 429
    assert linked.commands[FIELD.key].waitForLine(r"refused a device link from 127\.0\.0\.1")

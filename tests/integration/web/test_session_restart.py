"""Login sessions of a real field service outlive its SIGKILL and restart, and a Python
vortex client links to a login-protected field site with its session's ``Cookie`` header."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
from test_site_logins import peekUser

from peek_platform.services import FIELD, LOGIC
from peek_platform.web.session_file import sessionFilePath

pytestmark = pytest.mark.integration

#: A device: links to the vortex URL in argv[1] with the ``Cookie`` header read from stdin
#: (none for an empty line) and prints ``linked`` once the link is up or ``refused`` once
#: the field refused the handshake.
_DEVICE = """
import sys, uuid
from twisted.internet import reactor
from twisted.internet.task import LoopingCall
from vortex.transport import VortexClient

cookie = sys.stdin.readline().strip()
outcome = []

def finish(what):
    if not outcome:
        outcome.append(what)
        print(what, flush=True)
        reactor.stop()

client = VortexClient(
    sys.argv[1], "itestDevice", str(uuid.uuid4()), secret=None,
    onMessage=lambda connection, data: None,
    onConnect=lambda connection: finish("linked"),
    headers={"Cookie": cookie} if cookie else None,
)
refused = LoopingCall(lambda: client.failedAttempts and finish("refused"))
refused.start(0.05)
reactor.callLater(60, finish, "no answer in 60 s")
client.start()
reactor.run()
"""


def deviceLink(siteUrl: str, cookieHeader: str) -> str:
    """What a Python vortex device linking to ``siteUrl`` with ``cookieHeader`` saw."""
    result = subprocess.run(
        [sys.executable, "-c", _DEVICE, siteUrl.replace("http://", "ws://") + "/vortexws"],
        input=cookieHeader + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def cookieHeader(client) -> str:
    """The ``Cookie`` header a browser with ``client``'s cookies sends."""
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in client.cookies)


def sessionCookie(client) -> str:
    """The field session id in ``client``'s cookie jar."""
    (value,) = [c.value for c in client.cookies if c.name == "peekFieldSession"]
    assert value
    return value


def sessionInfo(client) -> dict | None:
    """The ``/api/session`` answer of ``client``'s session, or None when it has none."""
    answer = client.request("/api/session")
    return json.loads(answer.text) if answer.code == 200 else None


def test_browser_session_survives_a_field_sigkill_and_logout_stays_valid(
    processes, homeRoot, HttpClient, waitFor
):
    """A session logged in before the field service is SIGKILLed and started again on the
    same home is still logged in (same user, same CSRF token, its device links again with
    the old cookie); a session logged out before the kill stays logged out; the session
    file is private and holds neither session's cookie."""
    linked = processes.linkedServices(homeRoot, (LOGIC, FIELD))
    added = peekUser(homeRoot / LOGIC.homeDirName, "user", "add", "carol", password="pw-carol-9")
    assert added.returncode == 0, added.stderr
    url = linked.commands[FIELD.key].siteUrl(FIELD.key)
    waitFor(lambda: HttpClient(url).request("/health").code == 200, what="field healthy")

    kept, loggedOut = HttpClient(url), HttpClient(url)
    for client in (kept, loggedOut):
        assert client.logIn("carol", "pw-carol-9").code == 303
    keptInfo, outInfo = sessionInfo(kept), sessionInfo(loggedOut)
    assert keptInfo is not None and outInfo is not None
    sessionIds = [sessionCookie(client) for client in (kept, loggedOut)]
    bye = loggedOut.request(
        "/logout", data={"csrfToken": outInfo["csrfToken"]}, headers={"Origin": url}
    )
    assert bye.headers["Location"] == "/login"
    keptCookie = cookieHeader(kept)

    linked.commands[FIELD.key].kill()
    restarted = processes.service(FIELD, homeRoot, home=linked.homes[FIELD.key])
    url = restarted.siteUrl(FIELD.key)
    waitFor(lambda: HttpClient(url).request("/health").code == 200, what="field back")
    kept.baseUrl = loggedOut.baseUrl = url

    assert sessionInfo(kept) == keptInfo
    assert sessionInfo(loggedOut) is None
    assert deviceLink(url, keptCookie) == "linked"

    path = sessionFilePath(linked.homes[FIELD.key], FIELD.key)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    stored = b"".join(p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name))
    assert b"local:carol" in stored
    for sessionId in sessionIds:
        assert sessionId.encode() not in stored
    assert keptInfo["csrfToken"].encode() not in stored

    # The CSRF token from before the restart still works: logging out with it ends it.
    bye = kept.request(
        "/logout", data={"csrfToken": keptInfo["csrfToken"]}, headers={"Origin": url}
    )
    assert bye.headers["Location"] == "/login"
    assert sessionInfo(kept) is None


def test_python_vortex_client_links_to_a_login_site_with_its_cookie_header(
    processes, homeRoot, HttpClient, waitFor
):
    """A Python device that logged in over HTTP links to the field's ``/vortexws`` by
    sending its session cookie in the websocket handshake; without it the link is refused."""
    linked = processes.linkedServices(homeRoot, (LOGIC, FIELD))
    added = peekUser(homeRoot / LOGIC.homeDirName, "user", "add", "dave", password="pw-dave-9")
    assert added.returncode == 0, added.stderr
    url = linked.commands[FIELD.key].siteUrl(FIELD.key)
    waitFor(lambda: HttpClient(url).request("/health").code == 200, what="field healthy")
    device = HttpClient(url)
    assert device.logIn("dave", "pw-dave-9").code == 303

    assert deviceLink(url, "") == "refused"
    assert deviceLink(url, cookieHeader(device)) == "linked"

"""The admin site extension: recovery password before the reactor, listen, stop."""

from __future__ import annotations

import json

from twisted.internet.defer import fail
from twisted.internet.testing import MemoryReactorClock
from twisted.web.static import Data

from peek_logic_service.admin.extension import AdminSiteExtension
from peek_platform.config import loadServiceConfig
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.identity.principal import LoginRefused
from peek_platform.process import ServiceContext
from peek_platform.services import LOGIC
from vortex.VortexFactory import VortexFactory


class FakeVortex(VortexFactory):
    """A vortex factory whose listen() records its arguments and hands out a plain resource."""

    def __init__(self, reactor=None) -> None:
        super().__init__("peek-logic-service", reactor=reactor or MemoryReactorClock())
        self.listens: list[dict] = []

    def listen(self, rootResource, **kwargs):
        self.listens.append(kwargs)
        endpoint = type("Endpoint", (), {})()
        endpoint.resource = Data(b"admin vortex", "text/plain")
        return endpoint


def context(tmp_path, configText: str, reactor=None) -> ServiceContext:
    """A logic ServiceContext whose home holds ``configText``."""
    home = tmp_path / "logic"
    home.mkdir()
    (home / "config.json").write_text(configText, encoding="utf-8")
    config = loadServiceConfig(LOGIC, home)
    return ServiceContext(spec=LOGIC, home=home, config=config, reactor=reactor)


def test_start_listens_and_puts_vortex_behind_login(tmp_path):
    """The site listens on the admin keys; /vortexws is a device vortex behind login."""
    reactor = MemoryReactorClock()
    config = {"httpServer": {"admin": {"sitePort": 18010, "bindAddress": "127.0.0.1"}}}
    ctx = context(tmp_path, json.dumps(config), reactor)
    vortex = FakeVortex(reactor)
    checked: list[tuple[str, str]] = []

    def check(user: str, password: str, site: str):
        checked.append((user, site))
        return fail(LoginRefused("wrong user name or password"))

    extension = AdminSiteExtension(
        SiteResources("admin"), check=check, vortexFactory=lambda: vortex
    )
    ctx.config = extension.configure(ctx)
    extension.startBeforePlugins(ctx)
    port, _site, _backlog, interface = reactor.tcpServers[0]
    assert (port, interface) == (18010, "127.0.0.1")
    [listen] = vortex.listens
    assert (listen["secret"], listen["allowDevices"]) == (None, True)
    assert listen["permessageDeflate"] is True  # httpServer.admin.compressDeviceLinks
    # Without a session the upgrade reaches the endpoint, which refuses the link (4010).
    assert "log in to the admin site first" in listen["admitDevice"]("127.0.0.1:5000")
    assert extension.auth.requiredPermission == "admin"
    assert extension.auth.sessions.idleSeconds == 30 * 60
    assert extension.auth.sessions.maxSeconds == 12 * 3600
    extension.auth.login("ann", "secret-pw")
    assert checked == [("ann", "admin")]

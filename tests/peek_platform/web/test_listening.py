"""Listening on a site's port: a port in use is an error naming the key and port."""

from __future__ import annotations

import pytest
from twisted.internet import reactor
from twisted.web.resource import Resource

from peek_platform.services import LOGIC
from peek_platform.web.listening import SiteAddress, WebSiteError, listenSite, newSite
from peek_plugin_base.testing.FreePort import heldTcpPort


def test_address_reads_site_keys():
    """SiteAddress reads httpServer.<site>.sitePort and bindAddress."""
    config = {"httpServer.admin.sitePort": 8010, "httpServer.admin.bindAddress": "127.0.0.1"}
    address = SiteAddress.fromConfig(LOGIC.site("admin"), config)
    assert (address.port, address.bindAddress) == (8010, "127.0.0.1")
    assert address.portKey == "httpServer.admin.sitePort"


def test_new_site_hides_tracebacks():
    """Sites never send tracebacks to clients."""
    assert newSite(Resource()).displayTracebacks is False


def test_port_in_use_is_a_clear_error():
    """Binding a port another socket holds raises WebSiteError naming key, address, port."""
    with heldTcpPort(listen=True) as busyPort:
        address = SiteAddress("field", busyPort, "127.0.0.1")
        with pytest.raises(WebSiteError) as info:
            listenSite(reactor, newSite(Resource()), address)
    message = str(info.value)
    assert f"127.0.0.1:{busyPort}" in message
    assert "httpServer.field.sitePort" in message
    assert "set httpServer.field.sitePort to a free port" in message

"""Device links belong to the login session that opened them, and close when it ends.

A browser's ``/vortexws`` upgrade passes the site's guard, so it carries a live session.
:class:`SessionLinks` notes which socket each session opened and, when the session ends
(logout, idle or absolute expiry, forced logout), closes those links with
``CLOSE_SESSION_ENDED`` (``docs/vortex/transport.rst``). Links are matched by the socket's
peer address, which the websocket link and its upgrade request share.
"""

from __future__ import annotations

import logging

from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource

from peek_platform.web.session import Session
from peek_platform.web.site_auth import SiteAuth
from vortex.transport import CLOSE_SESSION_ENDED, VortexServerEndpoint

logger = logging.getLogger(__name__)


def _address(request: IRequest) -> str:
    """The request socket's peer as ``host:port``, formatted as vortex links report it."""
    peer = request.getClientAddress()
    return f"{getattr(peer, 'host', peer)}:{getattr(peer, 'port', '')}"


class SessionLinks(Resource):
    """``/vortexws`` of a site with logins: the endpoint's resource, tracked per session."""

    isLeaf = True

    def __init__(self, auth: SiteAuth, endpoint: VortexServerEndpoint) -> None:
        super().__init__()
        self._auth = auth
        self._endpoint = endpoint
        self._inner: IResource = endpoint.resource
        self._bySession: dict[str, set[str]] = {}
        auth.addSessionEndListener(self._sessionEnded)

    def render(self, request: IRequest) -> bytes | int:
        """Note the upgrading socket against its session, then let the websocket take it."""
        session = self._auth.sessionFor(request, touch=False)
        if session is not None:
            known = self._bySession.setdefault(session.sessionId, set())
            known -= {address for address in known if self._endpoint.linkAt(address) is None}
            known.add(_address(request))
        return self._inner.render(request)

    def linksOf(self, session: Session) -> list[str]:
        """Peer addresses of the open links ``session`` opened."""
        known = self._bySession.get(session.sessionId, set())
        return sorted(address for address in known if self._endpoint.linkAt(address) is not None)

    def _sessionEnded(self, session: Session) -> None:
        for address in sorted(self._bySession.pop(session.sessionId, set())):
            link = self._endpoint.linkAt(address)
            if link is not None:
                logger.info(
                    "%s site: closing the device link at %s of %r: login session ended",
                    self._auth.siteName,
                    link.peerAddress,
                    session.user,
                )
                link.close("login session ended", CLOSE_SESSION_ENDED)

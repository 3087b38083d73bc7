"""Device links belong to the login session that opened them, and close when it ends.

A browser's ``/vortexws`` upgrade passes the site's guard, so it carries a live session.
:class:`SessionLinks` notes which socket each session opened and, when the session ends
(logout, idle or absolute expiry, forced logout), closes those links with
``CLOSE_SESSION_ENDED`` (``docs/vortex/transport.rst``). Links are matched by the socket's
peer address, which the websocket link and its upgrade request share.

An upgrade without a live session is let through to the websocket, which refuses the link
at its handshake with ``CLOSE_LOGIN_REQUIRED`` (:meth:`SessionLinks.admit`), so a browser
can tell "log in first" from a network failure.

The same map gives each device link's request identity (:meth:`SessionLinks.identityAt`):
the vortex attaches it to every message the link sends, so plugins see the session's user.
"""

from __future__ import annotations

import logging

from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource

from peek_platform.web.session import Session
from peek_platform.web.site_auth import SiteAuth
from vortex.RequestIdentity import RequestIdentity
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
        self._sessionAt: dict[str, str] = {}
        #: By session id: the identity last made for it, and what it was made from.
        self._identities: dict[str, tuple[object, str | None, RequestIdentity]] = {}
        auth.addSessionEndListener(self._sessionEnded)
        auth.linksOf = self.linksOf

    def render(self, request: IRequest) -> bytes | int:
        """Note the upgrading socket against its session, then let the websocket take it."""
        session = self._auth.sessionFor(request, touch=False)
        if session is None:
            self._sessionAt.pop(_address(request), None)
        else:
            known = self._bySession.setdefault(session.sessionId, set())
            for gone in [address for address in known if self._endpoint.linkAt(address) is None]:
                known.discard(gone)
                self._sessionAt.pop(gone, None)
            address = _address(request)
            known.add(address)
            self._sessionAt[address] = session.sessionId
        return self._inner.render(request)

    def admit(self, address: str) -> str | None:
        """Why the device link at ``address`` may not open (its upgrade had no live login
        session), or None: the vortex closes a refused link with ``CLOSE_LOGIN_REQUIRED``."""
        sessionId = self._sessionAt.get(address)
        if sessionId is not None and self._auth.sessions.get(sessionId, touch=False):
            return None
        return f"log in to the {self._auth.siteName} site first (no login session)"

    def identityAt(self, address: str) -> RequestIdentity | None:
        """The identity of the device link at ``address``: its session's user and device
        (the session's idle timer restarts: the device is in use), or None without one."""
        sessionId = self._sessionAt.get(address)
        session = self._auth.sessions.get(sessionId) if sessionId is not None else None
        if session is None:
            return None
        principal, deviceId = session.principal, session.deviceId
        cached = self._identities.get(session.sessionId)
        if cached is not None and cached[0] is principal and cached[1] == deviceId:
            return cached[2]
        identity = RequestIdentity(
            principal.userId,
            principal.userName,
            deviceId,
            self._auth.siteName,
            principal.permissions,
        )
        self._identities[session.sessionId] = (principal, deviceId, identity)
        return identity

    def linksOf(self, session: Session) -> list[str]:
        """Peer addresses of the open links ``session`` opened."""
        known = self._bySession.get(session.sessionId, set())
        return sorted(address for address in known if self._endpoint.linkAt(address) is not None)

    def _sessionEnded(self, session: Session) -> None:
        self._identities.pop(session.sessionId, None)
        for address in sorted(self._bySession.pop(session.sessionId, set())):
            self._sessionAt.pop(address, None)
            link = self._endpoint.linkAt(address)
            if link is not None:
                logger.info(
                    "%s site: closing the device link at %s of %r: login session ended",
                    self._auth.siteName,
                    link.peerAddress,
                    session.user,
                )
                link.close("login session ended", CLOSE_SESSION_ENDED)

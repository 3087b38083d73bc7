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

from twisted.internet.interfaces import IReactorTime
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource

from peek_platform.web.session import Session
from peek_platform.web.site_auth import SiteAuth
from vortex.RequestIdentity import RequestIdentity
from vortex.transport import CLOSE_SESSION_ENDED, VortexServerEndpoint
from vortex.transport.reactor import globalReactor

logger = logging.getLogger(__name__)

#: Seconds an upgrade's address is kept while its link is not up: its handshake may still be
#: running (the transport allows 10 s), so it must still be admitted when it says hello.
UPGRADE_GRACE_SECONDS = 60.0
#: Addresses a session may note before gone ones are first forgotten (then twice as many
#: as remain), so forgetting costs O(1) per upgrade on average.
FORGET_ABOVE = 64


def _address(request: IRequest) -> str:
    """The request socket's peer as ``host:port``, formatted as vortex links report it."""
    peer = request.getClientAddress()
    return f"{getattr(peer, 'host', peer)}:{getattr(peer, 'port', '')}"


class SessionLinks(Resource):
    """``/vortexws`` of a site with logins: the endpoint's resource, tracked per session."""

    isLeaf = True

    def __init__(
        self, auth: SiteAuth, endpoint: VortexServerEndpoint, clock: IReactorTime | None = None
    ) -> None:
        super().__init__()
        self._auth = auth
        self._endpoint = endpoint
        self._clock: IReactorTime = clock if clock is not None else globalReactor()
        self._inner: IResource = endpoint.resource
        #: By session id: the peer addresses of its upgrades, with when each came.
        self._bySession: dict[str, dict[str, float]] = {}
        #: By session id: how many addresses it may note before gone ones are forgotten.
        self._forgetAt: dict[str, int] = {}
        self._sessionAt: dict[str, str] = {}
        #: By session id: the identity last made for it, and what it was made from.
        self._identities: dict[str, tuple[object, str | None, RequestIdentity]] = {}
        auth.addSessionEndListener(self._sessionEnded)
        auth.linksOf = self.linksOf

    def render(self, request: IRequest) -> bytes | int:
        """Note the upgrading socket against its session, then let the websocket take it."""
        session = self._auth.sessionFor(request, touch=False)
        address = _address(request)
        if session is None:
            self._sessionAt.pop(address, None)
        else:
            sessionId = session.sessionId
            known = self._bySession.setdefault(sessionId, {})
            now = self._clock.seconds()
            known[address] = now
            self._sessionAt[address] = sessionId
            if len(known) >= self._forgetAt.get(sessionId, FORGET_ABOVE):
                self._forgetGone(sessionId, known, now)
        return self._inner.render(request)

    def _forgetGone(self, sessionId: str, known: dict[str, float], now: float) -> None:
        """Forget the session's addresses whose link is not up and whose upgrade is older
        than ``UPGRADE_GRACE_SECONDS`` (their handshake failed or their link closed). Asked
        only when the session's addresses have doubled, so an upgrade costs O(1) on average
        however many links the session holds; a handshake in progress is never forgotten."""
        linkAt = self._endpoint.linkAt
        cutoff = now - UPGRADE_GRACE_SECONDS
        for address in [a for a, at in known.items() if at <= cutoff and linkAt(a) is None]:
            del known[address]
            if self._sessionAt.get(address) == sessionId:
                del self._sessionAt[address]
        self._forgetAt[sessionId] = max(FORGET_ABOVE, 2 * len(known))

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
        sessionId = session.sessionId
        known = self._bySession.get(sessionId, {})
        return sorted(
            address
            for address in known
            if self._sessionAt.get(address) == sessionId
            and self._endpoint.linkAt(address) is not None
        )

    def _sessionEnded(self, session: Session) -> None:
        sessionId = session.sessionId
        self._identities.pop(sessionId, None)
        self._forgetAt.pop(sessionId, None)
        for address in sorted(self._bySession.pop(sessionId, {})):
            if self._sessionAt.get(address) != sessionId:
                continue  # the address is another session's link now
            del self._sessionAt[address]
            link = self._endpoint.linkAt(address)
            if link is not None:
                logger.info(
                    "%s site: closing the device link at %s of %r: login session ended",
                    self._auth.siteName,
                    link.peerAddress,
                    session.user,
                )
                link.close("login session ended", CLOSE_SESSION_ENDED)

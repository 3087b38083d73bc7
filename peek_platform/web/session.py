"""Server-side login sessions held in memory, each with its own anti-forgery token.

The browser holds only a random session id in an HttpOnly cookie; who is logged in and the
session's CSRF token stay on the server. A session ends on logout, after ``idleSeconds``
without a request, ``maxSeconds`` after login, when it is ended by an admin, or when the
service restarts (memory only, on purpose: a restart is the operator's way to end every
session at once). Listeners hear of every session that ends, whatever the reason.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from twisted.internet.interfaces import IReactorTime

from peek_platform.identity.principal import Principal

logger = logging.getLogger(__name__)

#: Random bytes in a session id and in a CSRF token (256 bits).
TOKEN_BYTES = 32


@dataclass
class Session:
    """One logged-in browser."""

    sessionId: str
    principal: Principal
    #: The synchronizer token every state-changing request of this session must carry.
    csrfToken: str
    createdAt: float
    lastSeen: float
    #: The enrolled device the session was opened from (None before enrolment).
    deviceId: str | None = None
    #: True while that device waits for an administrator's approval: the site then serves
    #: this session only its waiting page.
    awaitingApproval: bool = False

    @property
    def user(self) -> str:
        """The name the user logged in with."""
        return self.principal.userName


class SessionStore:
    """Sessions by id with idle and absolute expiry on ``clock``; at most ``maxSessions``."""

    def __init__(
        self,
        clock: IReactorTime,
        *,
        idleSeconds: float,
        maxSeconds: float | None = None,
        maxSessions: int = 1000,
    ) -> None:
        if idleSeconds <= 0:
            raise ValueError(f"idleSeconds must be positive, got {idleSeconds!r}")
        if maxSeconds is not None and maxSeconds <= 0:
            raise ValueError(f"maxSeconds must be positive, got {maxSeconds!r}")
        self._clock = clock
        self.idleSeconds = idleSeconds
        self.maxSeconds = maxSeconds
        self._maxSessions = maxSessions
        self._sessions: dict[str, Session] = {}
        self._endListeners: list[Callable[[Session], None]] = []
        self._startListeners: list[Callable[[Session], None]] = []

    def __len__(self) -> int:
        return len(self._sessions)

    def addEndListener(self, listener: Callable[[Session], None]) -> None:
        """Call ``listener(session)`` for each session that ends."""
        self._endListeners.append(listener)

    def addStartListener(self, listener: Callable[[Session], None]) -> None:
        """Call ``listener(session)`` for each session that starts."""
        self._startListeners.append(listener)

    def create(
        self,
        principal: Principal,
        *,
        deviceId: str | None = None,
        awaitingApproval: bool = False,
    ) -> Session:
        """Start a session for ``principal`` on ``deviceId``; the oldest session goes if the
        store is full."""
        self.purgeExpired()
        while len(self._sessions) >= self._maxSessions:
            oldest = min(self._sessions.values(), key=lambda s: s.lastSeen)
            self._end(oldest.sessionId)
        now = self._clock.seconds()
        session = Session(
            sessionId=secrets.token_urlsafe(TOKEN_BYTES),
            principal=principal,
            csrfToken=secrets.token_urlsafe(TOKEN_BYTES),
            createdAt=now,
            lastSeen=now,
            deviceId=deviceId,
            awaitingApproval=awaitingApproval,
        )
        self._sessions[session.sessionId] = session
        self._tell(self._startListeners, session, "start")
        return session

    def get(self, sessionId: str | None, *, touch: bool = True) -> Session | None:
        """The live session with this id (its idle timer restarts), or None."""
        if not sessionId:
            return None
        session = self._sessions.get(sessionId)
        if session is None:
            return None
        now = self._clock.seconds()
        if self._expired(session, now):
            self._end(sessionId)
            return None
        if touch:
            session.lastSeen = now
        return session

    def sessions(self) -> list[Session]:
        """Every live session, oldest login first."""
        self.purgeExpired()
        return sorted(self._sessions.values(), key=lambda s: s.createdAt)

    def remove(self, sessionId: str) -> Session | None:
        """End a session (logout); the session that ended, or None for an unknown id."""
        return self._end(sessionId)

    def removeUser(self, userId: str) -> list[Session]:
        """End every session of ``userId`` (forced logout); the sessions that ended."""
        ids = [sid for sid, s in self._sessions.items() if s.principal.userId == userId]
        return [ended for sid in ids if (ended := self._end(sid)) is not None]

    def removeDevice(self, deviceId: str) -> list[Session]:
        """End every session of device ``deviceId`` (revoked); the sessions that ended."""
        ids = [sid for sid, s in self._sessions.items() if s.deviceId == deviceId]
        return [ended for sid in ids if (ended := self._end(sid)) is not None]

    def purgeExpired(self) -> None:
        """End every session past its idle or absolute lifetime."""
        now = self._clock.seconds()
        for sid in [sid for sid, s in self._sessions.items() if self._expired(s, now)]:
            self._end(sid)

    def _expired(self, session: Session, now: float) -> bool:
        if now - session.lastSeen >= self.idleSeconds:
            return True
        return self.maxSeconds is not None and now - session.createdAt >= self.maxSeconds

    def _end(self, sessionId: str) -> Session | None:
        session = self._sessions.pop(sessionId, None)
        if session is None:
            return None
        self._tell(self._endListeners, session, "end")
        return session

    @staticmethod
    def _tell(listeners: list[Callable[[Session], None]], session: Session, what: str) -> None:
        for listener in listeners:
            try:
                listener(session)
            except Exception:
                logger.exception("a session %s listener failed for user %r", what, session.user)

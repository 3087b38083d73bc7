"""Server-side login sessions held in memory, each with its own anti-forgery token.

The browser holds only a random session id in an HttpOnly cookie; who is logged in and the
session's CSRF token stay on the server. A session ends on logout, after ``idleSeconds``
without a request, or when the service restarts (memory only, on purpose: a restart is
the operator's way to end every admin session at once).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from twisted.internet.interfaces import IReactorTime

#: Random bytes in a session id and in a CSRF token (256 bits).
TOKEN_BYTES = 32


@dataclass
class Session:
    """One logged-in browser."""

    sessionId: str
    user: str
    #: The synchronizer token every state-changing request of this session must carry.
    csrfToken: str
    createdAt: float
    lastSeen: float


class SessionStore:
    """Sessions by id with idle expiry measured on ``clock``; at most ``maxSessions`` kept."""

    def __init__(self, clock: IReactorTime, *, idleSeconds: float, maxSessions: int = 1000) -> None:
        if idleSeconds <= 0:
            raise ValueError(f"idleSeconds must be positive, got {idleSeconds!r}")
        self._clock = clock
        self.idleSeconds = idleSeconds
        self._maxSessions = maxSessions
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, user: str) -> Session:
        """Start a session for ``user``; the oldest session goes if the store is full."""
        self.purgeExpired()
        while len(self._sessions) >= self._maxSessions:
            oldest = min(self._sessions.values(), key=lambda s: s.lastSeen)
            del self._sessions[oldest.sessionId]
        now = self._clock.seconds()
        session = Session(
            sessionId=secrets.token_urlsafe(TOKEN_BYTES),
            user=user,
            csrfToken=secrets.token_urlsafe(TOKEN_BYTES),
            createdAt=now,
            lastSeen=now,
        )
        self._sessions[session.sessionId] = session
        return session

    def get(self, sessionId: str | None, *, touch: bool = True) -> Session | None:
        """The live session with this id (its idle timer restarts), or None."""
        if not sessionId:
            return None
        session = self._sessions.get(sessionId)
        if session is None:
            return None
        now = self._clock.seconds()
        if now - session.lastSeen >= self.idleSeconds:
            del self._sessions[sessionId]
            return None
        if touch:
            session.lastSeen = now
        return session

    def remove(self, sessionId: str) -> None:
        """End a session (logout); unknown ids are ignored."""
        self._sessions.pop(sessionId, None)

    def purgeExpired(self) -> None:
        """Forget every session idle for ``idleSeconds`` or more."""
        now = self._clock.seconds()
        expired = [sid for sid, s in self._sessions.items() if now - s.lastSeen >= self.idleSeconds]
        for sid in expired:
            del self._sessions[sid]

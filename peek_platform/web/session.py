"""Server-side login sessions, each with its own anti-forgery token.

The browser holds only a random session id in an HttpOnly cookie; who is logged in stays on
the server, and the session's CSRF token is derived from the id. A session ends on logout,
after ``idleSeconds`` without a request, ``maxSeconds`` after login, or when it is ended by
an admin. With a ``SessionFile`` the store keeps every session on disk (only the SHA-256 of
its id), so sessions outlive a restart of the service with their lifetimes unchanged; a
session restored from the file is matched again by the hash of the cookie that comes back.
Listeners hear of every session that ends, whatever the reason.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from twisted.internet.interfaces import IReactorTime

from peek_platform.identity.principal import Principal
from peek_platform.web.session_file import SessionFile, StoredSession

logger = logging.getLogger(__name__)

#: Random bytes in a session id and in a CSRF token (256 bits).
TOKEN_BYTES = 32


def sessionIdHash(sessionId: str) -> str:
    """The SHA-256 (hex) of a session id: how the store and its file know the session."""
    return hashlib.sha256(sessionId.encode("utf-8")).hexdigest()


def csrfTokenFor(sessionId: str) -> str:
    """The session's CSRF token: an HMAC of a fixed label keyed by the (secret) session id,
    so it needs no storage and is the same after a restart."""
    digest = hmac.new(sessionId.encode("utf-8"), b"peek csrf token", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class Session:
    """One logged-in browser."""

    #: The id the browser's cookie holds; empty for a session restored from the file until
    #: its browser comes back.
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
    #: ``sessionIdHash(sessionId)``: the key the store and its file use.
    idHash: str = ""

    @property
    def user(self) -> str:
        """The name the user logged in with."""
        return self.principal.userName


class SessionStore:
    """Sessions by id with idle and absolute expiry on ``clock``; at most ``maxSessions``.

    With ``file`` every session is written there when it starts and deleted when it ends;
    last-seen times are written by :meth:`flush` (from :meth:`purgeExpired`, every few
    seconds), so after a crash a session may look up to that much older, never younger.
    The file's live sessions are restored at construction.
    """

    def __init__(
        self,
        clock: IReactorTime,
        *,
        idleSeconds: float,
        maxSeconds: float | None = None,
        maxSessions: int = 1000,
        file: SessionFile | None = None,
    ) -> None:
        if idleSeconds <= 0:
            raise ValueError(f"idleSeconds must be positive, got {idleSeconds!r}")
        if maxSeconds is not None and maxSeconds <= 0:
            raise ValueError(f"maxSeconds must be positive, got {maxSeconds!r}")
        self._clock = clock
        self.idleSeconds = idleSeconds
        self.maxSeconds = maxSeconds
        self._maxSessions = maxSessions
        #: By ``idHash``.
        self._sessions: dict[str, Session] = {}
        self._endListeners: list[Callable[[Session], None]] = []
        self._startListeners: list[Callable[[Session], None]] = []
        self._file = file
        #: Id hashes of sessions changed (used, re-checked) since the last flush.
        self._unsaved: set[str] = set()
        if file is not None:
            self._restore(file)

    def _restore(self, file: SessionFile) -> None:
        """Take the file's sessions back; those expired meanwhile or past ``maxSessions``
        (the least recently seen) are deleted from it."""
        now = self._clock.seconds()
        live: list[Session] = []
        gone: list[str] = []
        for stored in file.load():
            session = Session(
                sessionId="",
                principal=stored.principal,
                csrfToken="",
                createdAt=stored.createdAt,
                lastSeen=stored.lastSeen,
                deviceId=stored.deviceId,
                awaitingApproval=stored.awaitingApproval,
                idHash=stored.idHash,
            )
            if self._expired(session, now):
                gone.append(session.idHash)
            else:
                live.append(session)
        live.sort(key=lambda s: s.lastSeen, reverse=True)
        gone += [s.idHash for s in live[self._maxSessions :]]
        self._sessions = {s.idHash: s for s in live[: self._maxSessions]}
        file.delete(gone)
        logger.info(
            "restored %d login session(s) from %s (%d ended meanwhile)",
            len(self._sessions),
            file.path,
            len(gone),
        )

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
            self._end(oldest.idHash)
        now = self._clock.seconds()
        sessionId = secrets.token_urlsafe(TOKEN_BYTES)
        session = Session(
            sessionId=sessionId,
            principal=principal,
            csrfToken=csrfTokenFor(sessionId),
            createdAt=now,
            lastSeen=now,
            deviceId=deviceId,
            awaitingApproval=awaitingApproval,
            idHash=sessionIdHash(sessionId),
        )
        if self._file is not None:
            self._file.save([_stored(session)])
        self._sessions[session.idHash] = session
        self._tell(self._startListeners, session, "start")
        return session

    def get(self, sessionId: str | None, *, touch: bool = True) -> Session | None:
        """The live session with this id (its idle timer restarts), or None."""
        if not sessionId:
            return None
        idHash = sessionIdHash(sessionId)
        session = self._sessions.get(idHash)
        if session is None:
            return None
        now = self._clock.seconds()
        if self._expired(session, now):
            self._end(idHash)
            return None
        if session.sessionId != sessionId:
            # Restored from the file: its browser is back with the id.
            session.sessionId = sessionId
            session.csrfToken = csrfTokenFor(sessionId)
        if touch:
            session.lastSeen = now
            if self._file is not None:
                self._unsaved.add(idHash)
        return session

    def changed(self, session: Session) -> None:
        """``session``'s principal or approval changed: write it at the next flush."""
        if self._file is not None and self._sessions.get(session.idHash) is session:
            self._unsaved.add(session.idHash)

    def flush(self) -> None:
        """Write the sessions used or changed since the last flush to the file."""
        if self._file is None or not self._unsaved:
            return
        unsaved, self._unsaved = self._unsaved, set()
        self._file.save(_stored(self._sessions[h]) for h in unsaved if h in self._sessions)

    def close(self) -> None:
        """Flush and close the file (the service is stopping)."""
        if self._file is not None:
            self.flush()
            self._file.close()
            self._file = None

    def sessions(self) -> list[Session]:
        """Every live session, oldest login first."""
        self.purgeExpired()
        return sorted(self._sessions.values(), key=lambda s: s.createdAt)

    def remove(self, sessionId: str) -> Session | None:
        """End a session (logout); the session that ended, or None for an unknown id."""
        if not sessionId:
            return None
        return self._end(sessionIdHash(sessionId))

    def removeUser(self, userId: str) -> list[Session]:
        """End every session of ``userId`` (forced logout); the sessions that ended."""
        return self._endAll([h for h, s in self._sessions.items() if s.principal.userId == userId])

    def removeDevice(self, deviceId: str) -> list[Session]:
        """End every session of device ``deviceId`` (revoked); the sessions that ended."""
        return self._endAll([h for h, s in self._sessions.items() if s.deviceId == deviceId])

    def purgeExpired(self) -> None:
        """End every session past its idle or absolute lifetime, then :meth:`flush`."""
        now = self._clock.seconds()
        self._endAll([h for h, s in self._sessions.items() if self._expired(s, now)])
        self.flush()

    def _expired(self, session: Session, now: float) -> bool:
        if now - session.lastSeen >= self.idleSeconds:
            return True
        return self.maxSeconds is not None and now - session.createdAt >= self.maxSeconds

    def _end(self, idHash: str) -> Session | None:
        ended = self._endAll([idHash])
        return ended[0] if ended else None

    def _endAll(self, idHashes: list[str]) -> list[Session]:
        """End these sessions: forgotten, deleted from the file in one transaction, then
        each told to the end listeners."""
        ended = [s for h in idHashes if (s := self._sessions.pop(h, None)) is not None]
        if not ended:
            return []
        self._unsaved.difference_update(s.idHash for s in ended)
        if self._file is not None:
            self._file.delete([s.idHash for s in ended])
        for session in ended:
            self._tell(self._endListeners, session, "end")
        return ended

    @staticmethod
    def _tell(listeners: list[Callable[[Session], None]], session: Session, what: str) -> None:
        for listener in listeners:
            try:
                listener(session)
            except Exception:
                logger.exception("a session %s listener failed for user %r", what, session.user)


def _stored(session: Session) -> StoredSession:
    return StoredSession(
        idHash=session.idHash,
        principal=session.principal,
        deviceId=session.deviceId,
        awaitingApproval=session.awaitingApproval,
        createdAt=session.createdAt,
        lastSeen=session.lastSeen,
    )

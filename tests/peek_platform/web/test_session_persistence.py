"""Login sessions kept in a SQLite file: restored by a new store on the same file (a
restarted service) with their lifetimes, while ended sessions stay ended and the file holds
no session id or CSRF token."""

from __future__ import annotations

import os
import sqlite3
import stat

from twisted.internet.task import Clock

from peek_platform.identity.principal import Principal
from peek_platform.web.session import SessionStore
from peek_platform.web.session_file import SessionFile, sessionFilePath


def principal(name: str = "carol") -> Principal:
    """A local user called ``name`` holding one role and permission."""
    return Principal(f"local:{name}", name, frozenset({"editor"}), frozenset({"noop.edit"}))


def clockAt(seconds: float) -> Clock:
    """A clock reading ``seconds``."""
    clock = Clock()
    clock.advance(seconds)
    return clock


def restarted(path, clock: Clock, **kwargs) -> SessionStore:
    """A new store on ``path``, as a restarted service builds it."""
    kwargs.setdefault("idleSeconds", 600)
    return SessionStore(clock, file=SessionFile(path), **kwargs)


def test_session_is_restored_by_its_id_with_user_device_and_csrf_token(tmp_path):
    """A session created before a restart is found by the same cookie after it, with its
    principal, device, approval state and the same CSRF token; touching it after the
    restart is written to the file."""
    path = sessionFilePath(tmp_path, "field")
    before = restarted(path, clockAt(1000))
    session = before.create(principal(), deviceId="dev-1", awaitingApproval=True)

    after = restarted(path, clockAt(1100))
    found = after.get(session.sessionId)
    assert found is not None and found is not session
    assert (found.principal, found.deviceId, found.awaitingApproval) == (
        principal(),
        "dev-1",
        True,
    )
    assert (found.sessionId, found.csrfToken) == (session.sessionId, session.csrfToken)
    assert (found.createdAt, found.lastSeen) == (1000, 1100)
    after.flush()
    assert [s.lastSeen for s in SessionFile(path).load()] == [1100]


def test_logged_out_and_revoked_sessions_stay_ended_after_a_restart(tmp_path):
    """Logout, forced logout (by user) and revoke (by device) each remove the session from
    the file, so a restarted store does not know them; a kept session is still known."""
    path = sessionFilePath(tmp_path, "field")
    store = restarted(path, clockAt(0))
    loggedOut = store.create(principal("a"))
    forced = store.create(principal("b"))
    revoked = store.create(principal("c"), deviceId="dev-c")
    kept = store.create(principal("d"))
    store.remove(loggedOut.sessionId)
    store.removeUser("local:b")
    store.removeDevice("dev-c")

    after = restarted(path, clockAt(1))
    for ended in (loggedOut, forced, revoked):
        assert after.get(ended.sessionId) is None
    assert after.get(kept.sessionId) is not None
    assert len(after) == 1


def test_sessions_expired_while_stopped_are_not_restored(tmp_path):
    """Idle and absolute lifetimes count across the restart: a session idle too long and
    one past its absolute lifetime are dropped (from memory and the file) at start; a fresh
    one stays."""
    path = sessionFilePath(tmp_path, "office")
    clock = clockAt(0)
    store = restarted(path, clock, idleSeconds=100, maxSeconds=1000)
    old = store.create(principal("old"))
    for _ in range(9):  # in use every 99 s until 891 s: past neither lifetime yet
        clock.advance(99)
        assert store.get(old.sessionId) is not None
    idle = store.create(principal("idle"))  # created at 891, never used again
    clock.advance(99)
    fresh = store.create(principal("fresh"))  # 990
    store.get(old.sessionId)
    store.flush()

    after = restarted(path, clockAt(1005), idleSeconds=100, maxSeconds=1000)
    assert len(after) == 1
    assert {s.principal.userName for s in SessionFile(path).load()} == {"fresh"}
    assert after.get(old.sessionId) is None, "past its absolute lifetime"
    assert after.get(idle.sessionId) is None, "idle for 114 s"
    assert after.get(fresh.sessionId) is not None


def test_the_file_holds_no_session_id_or_csrf_token_and_is_private(tmp_path):
    """The file (and SQLite's side files) never contain a session id or CSRF token; only
    their owner may read it."""
    path = sessionFilePath(tmp_path, "field")
    store = restarted(path, clockAt(0))
    sessions = [store.create(principal(f"u{i}")) for i in range(3)]
    store.flush()

    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    files = [p for p in tmp_path.iterdir() if p.name.startswith(path.name)]
    contents = b"".join(p.read_bytes() for p in files)
    assert b"local:u0" in contents  # the rows are there, readable
    for session in sessions:
        assert session.sessionId.encode() not in contents
        assert session.csrfToken.encode() not in contents
    for side in files:
        assert stat.S_IMODE(os.stat(side).st_mode) == 0o600, side.name


def test_an_unreadable_file_is_moved_aside_and_sessions_start_empty(tmp_path):
    """A file that is not a session database is kept aside as ``.unreadable`` and the
    store starts with no sessions (everyone logs in again) rather than failing to start."""
    path = sessionFilePath(tmp_path, "field")
    path.write_bytes(b"this is not sqlite" * 100)
    store = restarted(path, clockAt(0))
    assert len(store) == 0
    assert (tmp_path / (path.name + ".unreadable")).exists()
    session = store.create(principal())
    assert restarted(path, clockAt(1)).get(session.sessionId) is not None
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM session").fetchone() == (1,)


def test_the_oldest_sessions_past_the_cap_are_dropped_at_restore(tmp_path):
    """A restarted store with a smaller ``maxSessions`` keeps the most recently used."""
    path = sessionFilePath(tmp_path, "field")
    clock = clockAt(0)
    store = restarted(path, clock)
    sessions = []
    for i in range(3):
        clock.advance(1)
        sessions.append(store.create(principal(f"u{i}")))

    after = restarted(path, clockAt(10), maxSessions=2)
    assert [after.get(s.sessionId) is not None for s in sessions] == [False, True, True]
    assert len(SessionFile(path).load()) == 2

"""Server-side login sessions: ids, tokens, idle expiry on a clock, bounded size."""

from __future__ import annotations

import pytest

from peek_platform.identity.principal import Principal
from peek_platform.web.session import SessionStore


def principal(name: str = "admin") -> Principal:
    """A local user called ``name`` holding no roles."""
    return Principal(f"local:{name}", name, frozenset(), frozenset())


def test_created_session_is_found_by_its_id(clock):
    """A new session is returned by its id, with the user and a CSRF token."""
    store = SessionStore(clock, idleSeconds=60)
    session = store.create(principal("admin"))
    assert store.get(session.sessionId) is session
    assert session.user == "admin"
    assert len(session.csrfToken) >= 40


def test_ids_and_tokens_are_random_and_distinct(clock):
    """Two sessions get different ids and different CSRF tokens."""
    store = SessionStore(clock, idleSeconds=60)
    first, second = store.create(principal("admin")), store.create(principal("admin"))
    assert first.sessionId != second.sessionId
    assert first.csrfToken != second.csrfToken
    assert first.sessionId != first.csrfToken


def test_session_expires_after_idle_time(clock):
    """A session unused for idleSeconds is gone."""
    store = SessionStore(clock, idleSeconds=60)
    session = store.create(principal("admin"))
    clock.advance(60)
    assert store.get(session.sessionId) is None
    assert len(store) == 0


def test_use_restarts_the_idle_timer(clock):
    """Each lookup restarts the idle timer; without touch it does not."""
    store = SessionStore(clock, idleSeconds=60)
    session = store.create(principal("admin"))
    clock.advance(50)
    assert store.get(session.sessionId) is session
    clock.advance(50)
    assert store.get(session.sessionId, touch=False) is session
    clock.advance(10)
    assert store.get(session.sessionId) is None


def test_unknown_and_removed_ids_are_not_found(clock):
    """Unknown, empty and removed ids give no session."""
    store = SessionStore(clock, idleSeconds=60)
    session = store.create(principal("admin"))
    assert store.get("not-an-id") is None
    assert store.get(None) is None
    store.remove(session.sessionId)
    assert store.get(session.sessionId) is None


def test_full_store_drops_the_least_recently_used(clock):
    """At maxSessions a new login evicts the session idle the longest."""
    store = SessionStore(clock, idleSeconds=600, maxSessions=2)
    old, recent = store.create(principal("a")), store.create(principal("b"))
    clock.advance(1)
    store.get(recent.sessionId)
    newest = store.create(principal("c"))
    assert store.get(old.sessionId) is None
    assert store.get(recent.sessionId) is recent
    assert store.get(newest.sessionId) is newest


def test_idle_seconds_must_be_positive(clock):
    """A non-positive idle time is refused."""
    with pytest.raises(ValueError, match="idleSeconds"):
        SessionStore(clock, idleSeconds=0)


def test_session_ends_at_its_maximum_age_however_busy(clock):
    """A session in constant use still ends maxSeconds after login."""
    store = SessionStore(clock, idleSeconds=60, maxSeconds=100)
    session = store.create(principal())
    for _ in range(3):
        clock.advance(30)
        assert store.get(session.sessionId) is session
    clock.advance(10)
    assert store.get(session.sessionId) is None


def test_end_listeners_hear_of_logout_expiry_and_forced_logout(clock):
    """Every way a session ends is reported to the end listeners, once per session."""
    store = SessionStore(clock, idleSeconds=60)
    ended: list[str] = []
    store.addEndListener(lambda session: ended.append(session.user))
    loggedOut, idle = store.create(principal("ann")), store.create(principal("bob"))
    forced = [store.create(principal("cy")), store.create(principal("cy"))]
    store.remove(loggedOut.sessionId)
    assert [s.sessionId for s in store.removeUser("local:cy")] == [s.sessionId for s in forced]
    clock.advance(60)
    store.purgeExpired()
    assert ended == ["ann", "cy", "cy", "bob"]
    assert store.get(idle.sessionId) is None and len(store) == 0


def test_sessions_lists_live_sessions_oldest_first(clock):
    """sessions() lists the live sessions by login time and leaves out expired ones."""
    store = SessionStore(clock, idleSeconds=60)
    first = store.create(principal("ann"))
    clock.advance(50)
    second = store.create(principal("bob"))
    assert store.sessions() == [first, second]
    clock.advance(20)
    assert store.sessions() == [second]

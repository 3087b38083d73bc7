"""Transient failures: a request that failed only because something it needs was briefly
unavailable, and may succeed if it is sent again later.

``isTransientFailure`` is the one place that decides. ``MessageUtil.errorResultForFailure``
answers such a failure with the ``retry-later`` error code instead of ``exception``, and the
clients that queue actions (``TupleActionPushClient``, the browser's offline action queue)
push the same action again after a backoff delay. Transient: the database refused or dropped
the connection, shut down, ran out of connections or was busy (PostgreSQL SQLSTATE classes
08, 53, 57P, a serialization failure or deadlock; SQLite ``BUSY``/``LOCKED``; SQLAlchemy's
disconnect detection and pool timeout), and ``RetryLaterError``. Never transient: a plugin's
own exceptions, constraint violations, programming errors (no such table, bad SQL).
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

#: PostgreSQL SQLSTATE prefixes of failures worth retrying: connection exceptions (08),
#: insufficient resources such as too many connections (53), the server shutting down or
#: not yet accepting connections (57P), a serialization failure and a deadlock.
PG_TRANSIENT_SQLSTATES = ("08", "53", "57P", "40001", "40P01")
#: SQLite primary result codes of a database another connection holds: BUSY and LOCKED.
SQLITE_TRANSIENT_CODES = (5, 6)
#: How many explicit causes (``raise ... from``) are followed.
_MAX_CAUSES = 10


class RetryLaterError(Exception):
    """Raise it from an action delegate, an RPC or a tuple provider when something the
    request needs is briefly unavailable and nothing was changed: the caller is answered
    ``retry-later`` and a queued action is pushed again later."""


def isTransientFailure(error: BaseException) -> bool:
    """True when ``error``, or an exception it was explicitly raised from, is transient."""
    current: BaseException | None = error
    for _ in range(_MAX_CAUSES):
        if current is None:
            return False
        if _isTransient(current):
            return True
        current = current.__cause__
    return False


def _isTransient(error: BaseException) -> bool:
    if isinstance(error, (RetryLaterError, sa_exc.DisconnectionError, sa_exc.TimeoutError)):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        # SQLAlchemy's dialect recognised a dropped connection and invalidated it.
        if error.connection_invalidated:
            return True
        return isinstance(error.orig, BaseException) and _isTransientDbapi(error.orig)
    return _isTransientDbapi(error)


def _isTransientDbapi(error: BaseException) -> bool:
    """A driver's (PEP 249) OperationalError that says the database was unavailable."""
    if not any(cls.__name__ == "OperationalError" for cls in type(error).__mro__):
        return False
    sqliteCode = getattr(error, "sqlite_errorcode", None)
    if isinstance(sqliteCode, int):
        return sqliteCode & 0xFF in SQLITE_TRANSIENT_CODES
    if type(error).__module__.startswith("psycopg"):
        sqlstate = getattr(error, "pgcode", None) or getattr(error, "sqlstate", None)
        # No SQLSTATE: the server never answered (refused, closed, unreachable).
        return sqlstate is None or str(sqlstate).startswith(PG_TRANSIENT_SQLSTATES)
    return False

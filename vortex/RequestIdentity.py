"""Who a request is for: the verified user and device behind an action, observable or RPC.

A device (browser) link carries the identity of the login session that opened it; a field
or office proxy attaches that identity to what it forwards upstream, in the message header
(``docs/vortex/wire-format.rst``), and logic trusts it because it arrives over an
authenticated service link. A message from a device link always gets its link's identity
(anonymous without a login), whatever the device wrote. A message from a service link
without an identity is the service's own request: trusted, no permission checks.

Handlers run plugin code with the request's identity current, so a delegate, tuple provider
or RPC function reads it with :func:`currentIdentity` (rules: ``docs/dev/identity.rst``).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from inspect import iscoroutine
from typing import Any

import orjson
from twisted.internet.defer import Deferred

from vortex.serialise.errors import VortexDecodeError

__all__ = [
    "ANONYMOUS",
    "RequestIdentity",
    "currentIdentity",
    "missingPermissions",
    "runAs",
]

#: Wire keys of an identity object, in the order they are written.
_STR_FIELDS = ("userId", "userName", "deviceId", "site")
_WIRE_KEYS = frozenset((*_STR_FIELDS, "permissions"))
#: Longest value accepted for a name or id on the wire.
_MAX_TEXT = 256
#: Most permissions an identity may carry on the wire.
_MAX_PERMISSIONS = 1000


@dataclass(frozen=True)
class RequestIdentity:
    """The verified user and device of a request; ``userId`` None means not logged in."""

    userId: str | None
    userName: str | None
    deviceId: str | None
    site: str | None
    permissions: frozenset[str]

    @property
    def isAnonymous(self) -> bool:
        """True for a device that has not logged in (a kiosk site)."""
        return self.userId is None

    def has(self, permission: str) -> bool:
        """True when the identity holds ``permission``."""
        return permission in self.permissions

    def withoutDevice(self) -> RequestIdentity:
        """The same user with no device (shared observable subscriptions name only users)."""
        return self if self.deviceId is None else replace(self, deviceId=None)

    @cached_property
    def _wire(self) -> dict:
        return {
            "userId": self.userId,
            "userName": self.userName,
            "deviceId": self.deviceId,
            "site": self.site,
            "permissions": sorted(self.permissions),
        }

    @cached_property
    def _wireJson(self) -> bytes:
        return orjson.dumps(self._wire)

    def toWire(self) -> dict:
        """The header's ``identity`` object (built once per identity)."""
        return self._wire

    def wireJson(self) -> bytes:
        """:meth:`toWire` as JSON (made once per identity), for messages spliced from parts."""
        return self._wireJson

    @classmethod
    def fromWire(cls, value: Any, root: str = "header.identity") -> RequestIdentity:
        """The identity in a received header; VortexDecodeError naming what is wrong.

        A proxy sends the same few identities over and over, so recent ones are reused.
        """
        if type(value) is not dict or value.keys() != _WIRE_KEYS:
            return cls._checkedFromWire(value, root)
        permissions = value["permissions"]
        if type(permissions) is not list:
            return cls._checkedFromWire(value, root)
        key = (value["userId"], value["userName"], value["deviceId"], value["site"], *permissions)
        try:
            known = _recent.get(key)
        except TypeError:  # an unhashable, so invalid, value: checked below
            return cls._checkedFromWire(value, root)
        if known is not None:
            return known
        identity = cls._checkedFromWire(value, root)
        if len(_recent) >= _RECENT_MAX:
            _recent.clear()
        _recent[key] = identity
        return identity

    @classmethod
    def _checkedFromWire(cls, value: Any, root: str) -> RequestIdentity:
        if type(value) is not dict or value.keys() != _WIRE_KEYS:
            raise VortexDecodeError(
                f"must be an object with exactly {[*_STR_FIELDS, 'permissions']}", root
            )
        for name in _STR_FIELDS:
            text = value[name]
            if text is not None and (type(text) is not str or len(text) > _MAX_TEXT):
                raise VortexDecodeError(
                    f"must be null or a string of at most {_MAX_TEXT} characters", f"{root}.{name}"
                )
        permissions = value["permissions"]
        if (
            type(permissions) is not list
            or len(permissions) > _MAX_PERMISSIONS
            or not all(type(p) is str and len(p) <= _MAX_TEXT for p in permissions)
        ):
            raise VortexDecodeError(
                f"must be a list of at most {_MAX_PERMISSIONS} permission names",
                f"{root}.permissions",
            )
        return cls(
            value["userId"],
            value["userName"],
            value["deviceId"],
            value["site"],
            frozenset(permissions),
        )


#: Identities decoded lately, by their wire fields (a bounded cache of immutable values).
_RECENT_MAX = 1024
_recent: dict[tuple, RequestIdentity] = {}

#: A device link with no login behind it: no user, no permissions.
ANONYMOUS = RequestIdentity(None, None, None, None, frozenset())

_current: contextvars.ContextVar[RequestIdentity | None] = contextvars.ContextVar(
    "vortexRequestIdentity", default=None
)


def currentIdentity() -> RequestIdentity | None:
    """The identity of the request being handled; None for a service's own request."""
    return _current.get()


def enterIdentity(identity: RequestIdentity | None) -> contextvars.Token:
    """Make ``identity`` current until :func:`leaveIdentity` (handlers' hot paths; plugin
    code uses :func:`runAs`)."""
    return _current.set(identity)


def leaveIdentity(token: contextvars.Token) -> None:
    """Restore the identity current before the matching :func:`enterIdentity`."""
    _current.reset(token)


def runAs(identity: RequestIdentity | None, func: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """Call ``func`` with ``identity`` current and restore the caller's afterwards.

    A coroutine result is started here, as a Deferred, so that it too runs as ``identity``
    (``inlineCallbacks`` functions capture the identity when called, as Twisted copies
    the context then).
    """
    token = _current.set(identity)
    try:
        result = func(*args, **kw)
        if iscoroutine(result):
            return Deferred.fromCoroutine(result)
        return result
    finally:
        _current.reset(token)


def missingPermissions(identity: RequestIdentity | None, required: frozenset[str]) -> list[str]:
    """The required permissions ``identity`` lacks (none for a service's own request)."""
    if identity is None or required <= identity.permissions:
        return []
    return sorted(p for p in required if p not in identity.permissions)

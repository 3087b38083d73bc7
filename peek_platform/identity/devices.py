"""Enrolled devices: the browsers that log in to the field and office sites.

A browser gets a device identity at its first login on a field or office site: a random
token it keeps in a long-lived cookie, stored here only as its SHA-256 (the token has 256
random bits, so a fast hash is enough). Each device is approved, pending (waiting for an
administrator, under the ``approval`` enrolment policy) or revoked (it can no longer log
in). ``DeviceStore`` works on ``peek_platform.device``; like ``IdentityStore`` every
method blocks, so callers on the reactor run it in the thread pool.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from twisted.internet.defer import Deferred

from peek_platform.config.keys import DEVICE_ENROLMENT_POLICIES
from peek_platform.identity.permissions import IdentityError
from peek_platform.identity.principal import LoginRefused, Principal
from peek_platform.identity.store import _utc
from peek_platform.storage.platform_schema import deviceTable
from peek_plugin_base.storage.DbEngine import SQLITE_BEGIN_OPTION

#: Random bytes in a device token (256 bits).
DEVICE_TOKEN_BYTES = 32
#: The longest token accepted from a cookie; anything longer is not one of ours.
MAX_TOKEN_LENGTH = 100
#: The longest device description kept (the browser's user agent, truncated).
MAX_DESCRIPTION_LENGTH = 200
#: What a revoked device is told when it tries to log in.
DEVICE_REVOKED_MESSAGE = (
    "this device was revoked by an administrator and can no longer log in; ask your Peek "
    "administrator"
)


class DeviceState(StrEnum):
    """Whether a device may use its site."""

    APPROVED = "approved"
    PENDING = "pending"
    REVOKED = "revoked"


class UnknownDeviceError(IdentityError):
    """No device has the given id."""


class DeviceRevoked(LoginRefused):
    """The login came from a revoked device; the message is safe to show."""


@dataclass(frozen=True)
class DeviceRecord:
    """A device as administrators see it (never its token or the token's hash)."""

    deviceId: str
    #: The site it enrolled on (``field`` or ``office``).
    site: str
    state: DeviceState
    #: The browser's user agent at its last login, truncated.
    description: str
    #: Who logged in from it last.
    lastUserId: str | None
    lastUserName: str | None
    #: When it first logged in (UTC).
    enrolledAt: datetime
    #: When it was last known to be in use (UTC): its last login, or when its last
    #: session ended.
    lastSeen: datetime


@dataclass(frozen=True)
class DeviceAdmission:
    """The device a login came from, and the token to store in its cookie."""

    deviceId: str
    #: Approved, or pending (the device waits for an administrator's approval).
    state: DeviceState
    #: The token of a newly enrolled device; None when the browser's token was recognised.
    newToken: str | None


@dataclass(frozen=True)
class DeviceGate:
    """How a site enrols the devices its users log in from, and re-checks them.

    Field and office ask logic (``device_rpc.deviceGateThroughLogic``); the site and its
    enrolment policy are bound in.
    """

    #: ``admit(token, principal, description)``: the device of a good login (the token
    #: from its cookie, or None); fails with ``DeviceRevoked`` for a revoked device and
    #: ``DirectoryUnavailable`` when it cannot be checked.
    admit: Callable[[str | None, Principal, str], Deferred[DeviceAdmission]]
    #: ``states(deviceIds)``: the state of each device that exists (others left out).
    states: Callable[[list[str]], Deferred[dict[str, DeviceState]]]


def hashDeviceToken(token: str) -> str:
    """The stored form of a device token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def cleanDescription(text: str) -> str:
    """``text`` without control characters, cut to ``MAX_DESCRIPTION_LENGTH``."""
    printable = "".join(c for c in text if not unicodedata.category(c).startswith("C"))
    return printable.strip()[:MAX_DESCRIPTION_LENGTH]


def checkPolicy(policy: str) -> str:
    """Return ``policy`` when it is an enrolment policy, else raise ``ValueError``."""
    if policy not in DEVICE_ENROLMENT_POLICIES:
        choices = ", ".join(DEVICE_ENROLMENT_POLICIES)
        raise ValueError(f"device enrolment policy {policy!r} is not one of {choices}")
    return policy


class DeviceStore:
    """Enrolled devices in ``peek_platform`` (blocking; run it off the reactor thread)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def admit(
        self,
        token: str | None,
        *,
        site: str,
        userId: str,
        userName: str,
        description: str,
        policy: str,
    ) -> DeviceAdmission:
        """The device a login on ``site`` comes from, enrolling a new one if needed.

        A token this site issued is recognised and its device records the login; any other
        (or none) enrols a new device, approved under the ``auto`` policy and pending under
        ``approval``, with a new token. Raises ``DeviceRevoked`` for a revoked device.
        """
        checkPolicy(policy)
        now = datetime.now(UTC)
        values = {
            "last_user_id": userId,
            "last_user_name": userName,
            "description": cleanDescription(description),
            "last_seen": now,
        }
        with self._writing() as conn:
            row = None
            if token and len(token) <= MAX_TOKEN_LENGTH:
                row = conn.execute(
                    select(deviceTable).where(
                        deviceTable.c.token_hash == hashDeviceToken(token),
                        deviceTable.c.site == site,
                    )
                ).one_or_none()
            if row is not None:
                if row.state == DeviceState.REVOKED:
                    raise DeviceRevoked(DEVICE_REVOKED_MESSAGE)
                conn.execute(update(deviceTable).where(deviceTable.c.id == row.id).values(values))
                return DeviceAdmission(row.id, DeviceState(row.state), None)
            newToken = secrets.token_urlsafe(DEVICE_TOKEN_BYTES)
            deviceId = secrets.token_hex(8)
            state = DeviceState.APPROVED if policy == "auto" else DeviceState.PENDING
            inserted = {
                "id": deviceId,
                "site": site,
                "token_hash": hashDeviceToken(newToken),
                "state": state.value,
                "enrolled": now,
                **values,
            }
            try:
                conn.execute(deviceTable.insert().values(inserted))
            except IntegrityError as e:
                raise IdentityError(
                    f"a device could not be enrolled on {site}: {type(e.orig).__name__}; "
                    "log in again"
                ) from e
        return DeviceAdmission(deviceId, state, newToken)

    def get(self, deviceId: str) -> DeviceRecord:
        """Device ``deviceId``; ``UnknownDeviceError`` when there is none."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(deviceTable).where(deviceTable.c.id == deviceId)
            ).one_or_none()
        if row is None:
            raise UnknownDeviceError(f"no device has the id {deviceId!r}")
        return _record(row)

    def listDevices(self) -> list[DeviceRecord]:
        """Every device, most recently seen first."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(deviceTable).order_by(deviceTable.c.last_seen.desc(), deviceTable.c.id)
            ).all()
        return [_record(row) for row in rows]

    def setState(self, deviceId: str, state: DeviceState) -> DeviceRecord:
        """Approve, revoke (or set pending) device ``deviceId``; the device as it is now."""
        with self._writing() as conn:
            result = conn.execute(
                update(deviceTable)
                .where(deviceTable.c.id == deviceId)
                .values(state=DeviceState(state).value)
            )
            if result.rowcount == 0:
                raise UnknownDeviceError(f"no device has the id {deviceId!r}")
        return self.get(deviceId)

    def states(self, deviceIds: Iterable[str]) -> dict[str, DeviceState]:
        """The state of each of ``deviceIds`` that exists (unknown ids are left out)."""
        wanted = sorted(set(deviceIds))
        if not wanted:
            return {}
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(deviceTable.c.id, deviceTable.c.state).where(deviceTable.c.id.in_(wanted))
            ).all()
        return {row.id: DeviceState(row.state) for row in rows}

    def touch(self, lastSeen: Mapping[str, datetime]) -> None:
        """Record when devices were last in use; an older time never replaces a newer one."""
        if not lastSeen:
            return
        with self._writing() as conn:
            for deviceId, seen in lastSeen.items():
                conn.execute(
                    update(deviceTable)
                    .where(deviceTable.c.id == deviceId, deviceTable.c.last_seen < seen)
                    .values(last_seen=seen)
                )

    def _writing(self) -> Any:
        """A transaction taking SQLite's write lock at once (as ``IdentityStore`` does)."""
        return self._engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"}).begin()


def _record(row: Row) -> DeviceRecord:
    """The record of a ``device`` row."""
    return DeviceRecord(
        deviceId=row.id,
        site=row.site,
        state=DeviceState(row.state),
        description=row.description,
        lastUserId=row.last_user_id,
        lastUserName=row.last_user_name,
        enrolledAt=_utc(row.enrolled),
        lastSeen=_utc(row.last_seen),
    )

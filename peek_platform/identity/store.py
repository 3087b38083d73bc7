"""Local users and roles in the platform schema, and the password login of local users.

``IdentityStore`` works on the tables ``user``, ``role``, ``role_permission`` and
``user_role`` of ``peek_platform`` (see ``peek_platform.storage.platform_schema``). Every
method blocks (database and argon2 work): callers on the reactor run them in the thread
pool. Each change is one transaction.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from peek_platform.identity.passwords import (
    DEFAULT_HASHER,
    hashPassword,
    needsRehash,
    verifyPassword,
)
from peek_platform.identity.permissions import (
    MAX_PERMISSION_NAME_LENGTH,
    PERMISSION_WORD_PATTERN,
    IdentityError,
    Permission,
    UnknownPermissionError,
    checkPermissionNames,
)
from peek_platform.identity.principal import LoginRefused, Principal
from peek_platform.storage.platform_schema import (
    rolePermissionTable,
    roleTable,
    userRoleTable,
    userTable,
)
from peek_plugin_base.storage.DbEngine import SQLITE_BEGIN_OPTION

logger = logging.getLogger(__name__)

#: What a refused login says: unknown user, wrong password or disabled user alike.
LOGIN_REFUSED_MESSAGE = "wrong user name or password"

#: The longest user or role name.
MAX_NAME_LENGTH = 64

#: Prefix of the ``userId`` of a local user.
LOCAL_USER_ID_PREFIX = "local:"

_PERMISSION_NAME = f"{PERMISSION_WORD_PATTERN}(\\.{PERMISSION_WORD_PATTERN})?"


class InvalidNameError(IdentityError):
    """A user or role name that cannot be used (empty, too long, whitespace...)."""


class UnknownUserError(IdentityError):
    """No user has the given name."""


class UserExistsError(IdentityError):
    """A user with the given name exists already."""


class UnknownRoleError(IdentityError):
    """No role has the given name; the message lists the known roles."""


@dataclass(frozen=True)
class UserRecord:
    """A local user as administrators see it (never the password hash)."""

    name: str
    enabled: bool
    #: Role names, sorted.
    roles: tuple[str, ...]
    #: When the user was added (UTC).
    created: datetime
    #: False when the user has no local password and cannot log in with one.
    hasPassword: bool = True


@dataclass(frozen=True)
class Grants:
    """What a user holds right now: role names and the permissions they grant."""

    roles: frozenset[str]
    permissions: frozenset[str]


@dataclass(frozen=True)
class RoleRecord:
    """A role: its name, what it is for and the permissions it grants (sorted)."""

    name: str
    description: str
    permissions: tuple[str, ...]


def localUserId(name: str) -> str:
    """The ``Principal.userId`` of local user ``name``."""
    return f"{LOCAL_USER_ID_PREFIX}{name}"


def checkName(kind: str, name: str) -> str:
    """Return ``name`` when it is a valid ``kind`` ("user", "role") name; else raise.

    A name is 1 to 64 characters, without whitespace or control characters; a bad one
    raises ``InvalidNameError`` saying what is wrong.
    """
    if not isinstance(name, str) or not name:
        raise InvalidNameError(f"{kind} name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidNameError(
            f"{kind} name {name[:20]!r}... is {len(name)} characters long; at most "
            f"{MAX_NAME_LENGTH} are allowed"
        )
    for char in name:
        if char.isspace():
            raise InvalidNameError(f"{kind} name {name!r} must not contain whitespace")
        if unicodedata.category(char).startswith("C"):
            raise InvalidNameError(
                f"{kind} name {name!r} contains the control or unprintable character "
                f"U+{ord(char):04X}; remove it"
            )
    return name


def checkPermissionSyntax(permission: str) -> str:
    """Return ``permission`` if it is shaped like a permission name, else raise."""
    if (
        not isinstance(permission, str)
        or len(permission) > MAX_PERMISSION_NAME_LENGTH
        or not re.fullmatch(_PERMISSION_NAME, permission)
    ):
        raise UnknownPermissionError(
            f"permission {permission!r} is not a permission name: use the platform's (such "
            "as 'admin') or a plugin's, '<pluginName>.<word>' such as 'peek_plugin_noop.edit'"
        )
    return permission


class IdentityStore:
    """Users and roles in ``peek_platform`` (blocking; run it off the reactor thread).

    ``engine`` must reach the platform schema (``DbConnection.dbEngine`` of it, migrated to
    head). With ``knownPermissions`` roles may only be given those permission names;
    without, any well-formed name is stored. ``hasher`` hashes new passwords (tests pass
    a cheap one).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        knownPermissions: Mapping[str, Permission] | None = None,
        hasher: PasswordHasher = DEFAULT_HASHER,
    ) -> None:
        self._engine = engine
        self._knownPermissions = knownPermissions
        self._hasher = hasher
        self._dummyHash: str | None = None

    # Users ---------------------------------------------------------------------------------

    def addUser(self, name: str, password: str | None, roles: Iterable[str] = ()) -> UserRecord:
        """Add an enabled user holding ``roles``; ``password=None`` gives no local password.

        Raises ``UserExistsError`` when the name is taken, ``UnknownRoleError`` for a role
        that does not exist and ``PasswordPolicyError`` for an unacceptable password.
        """
        checkName("user", name)
        roleNames = self._checkRoleNames(roles)
        passwordHash = None if password is None else self._hash(password)
        created = datetime.now(UTC)
        try:
            with self._writing() as conn:
                if self._userId(conn, name) is not None:
                    raise UserExistsError(f"user {name!r} exists already")
                self._requireRoles(conn, roleNames)
                [userId] = conn.execute(
                    insert(userTable).values(
                        name=name, password_hash=passwordHash, enabled=True, created=created
                    )
                ).inserted_primary_key
                for role in roleNames:
                    conn.execute(insert(userRoleTable).values(user_id=userId, role=role))
        except IntegrityError as e:
            # Another process added the name, or deleted a role, since our checks.
            raise IdentityError(
                f"user {name!r} could not be added: another change to the users or roles "
                f"happened at the same time ({type(e.orig).__name__}); try again"
            ) from e
        return UserRecord(name, True, tuple(roleNames), created, password is not None)

    def setPassword(self, name: str, password: str | None) -> None:
        """Give user ``name`` a new password (``None``: no local password, no local login)."""
        passwordHash = None if password is None else self._hash(password)
        with self._writing() as conn:
            self._updateUser(conn, name, password_hash=passwordHash)

    def setEnabled(self, name: str, enabled: bool) -> None:
        """Enable or disable user ``name``; a disabled user cannot log in."""
        with self._writing() as conn:
            self._updateUser(conn, name, enabled=bool(enabled))

    def setUserRoles(self, name: str, roles: Iterable[str]) -> tuple[str, ...]:
        """Make ``roles`` exactly the roles user ``name`` holds; return them sorted."""
        roleNames = self._checkRoleNames(roles)
        with self._writing() as conn:
            userId = self._requireUserId(conn, name)
            self._requireRoles(conn, roleNames)
            conn.execute(delete(userRoleTable).where(userRoleTable.c.user_id == userId))
            for role in roleNames:
                conn.execute(insert(userRoleTable).values(user_id=userId, role=role))
        return tuple(roleNames)

    def deleteUser(self, name: str) -> None:
        """Remove user ``name`` and its roles."""
        with self._writing() as conn:
            userId = self._requireUserId(conn, name)
            conn.execute(delete(userRoleTable).where(userRoleTable.c.user_id == userId))
            conn.execute(delete(userTable).where(userTable.c.id == userId))

    def getUser(self, name: str) -> UserRecord:
        """User ``name``; ``UnknownUserError`` when there is none."""
        for user in self._users(name):
            return user
        raise UnknownUserError(f"no user is named {name!r}")

    def listUsers(self) -> list[UserRecord]:
        """Every local user, by name."""
        return self._users(None)

    # Roles ---------------------------------------------------------------------------------

    def setRolePermissions(
        self, role: str, permissions: Iterable[str], description: str | None = None
    ) -> RoleRecord:
        """Make ``permissions`` exactly what ``role`` grants, creating the role if missing.

        ``description`` replaces the role's description; ``None`` keeps it (empty for a
        new role). Permission names must be known when the store was given
        ``knownPermissions`` (``UnknownPermissionError`` lists them).
        """
        checkName("role", role)
        names = sorted({checkPermissionSyntax(p) for p in permissions})
        self._checkKnownPermissions(names)
        with self._writing() as conn:
            current = conn.execute(
                select(roleTable.c.description).where(roleTable.c.name == role)
            ).one_or_none()
            if current is None:
                finalDescription = description or ""
                conn.execute(insert(roleTable).values(name=role, description=finalDescription))
            else:
                finalDescription = current.description if description is None else description
                if description is not None:
                    conn.execute(
                        update(roleTable)
                        .where(roleTable.c.name == role)
                        .values(description=description)
                    )
                conn.execute(delete(rolePermissionTable).where(rolePermissionTable.c.role == role))
            for permission in names:
                conn.execute(insert(rolePermissionTable).values(role=role, permission=permission))
        return RoleRecord(role, finalDescription, tuple(names))

    def deleteRole(self, role: str) -> tuple[str, ...]:
        """Delete ``role``; return the names of the users who held it (they no longer do)."""
        with self._writing() as conn:
            self._requireRoles(conn, [role])
            holders = conn.execute(
                select(userTable.c.name)
                .join(userRoleTable, userRoleTable.c.user_id == userTable.c.id)
                .where(userRoleTable.c.role == role)
                .order_by(userTable.c.name)
            ).scalars()
            holderNames = tuple(holders)
            conn.execute(delete(userRoleTable).where(userRoleTable.c.role == role))
            conn.execute(delete(rolePermissionTable).where(rolePermissionTable.c.role == role))
            conn.execute(delete(roleTable).where(roleTable.c.name == role))
        return holderNames

    def checkRolesExist(self, roles: Iterable[str]) -> None:
        """Raise ``UnknownRoleError`` naming each of ``roles`` that does not exist."""
        roleNames = self._checkRoleNames(roles)
        with self._engine.connect() as conn:
            self._requireRoles(conn, roleNames)

    def listRoles(self) -> list[RoleRecord]:
        """Every role with its permissions, by name."""
        with self._engine.connect() as conn:
            roles = conn.execute(
                select(roleTable.c.name, roleTable.c.description).order_by(roleTable.c.name)
            ).all()
            grants: dict[str, list[str]] = {}
            for row in conn.execute(
                select(rolePermissionTable.c.role, rolePermissionTable.c.permission).order_by(
                    rolePermissionTable.c.permission
                )
            ):
                grants.setdefault(row.role, []).append(row.permission)
        return [RoleRecord(r.name, r.description, tuple(grants.get(r.name, ()))) for r in roles]

    # Login ---------------------------------------------------------------------------------

    def hasUser(self, name: str) -> bool:
        """True when a local user called ``name`` exists, enabled or not."""
        with self._engine.connect() as conn:
            return self._userId(conn, name) is not None

    def currentGrants(self, names: Iterable[str]) -> dict[str, Grants]:
        """The roles and permissions now held by each of ``names`` that is an enabled
        local user (disabled and unknown names are left out)."""
        wanted = list(set(names))
        if not wanted:
            return {}
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(userTable.c.id, userTable.c.name).where(
                    userTable.c.name.in_(wanted), userTable.c.enabled.is_(True)
                )
            ).all()
            grants = {}
            for userId, name in rows:
                roles = self._rolesOf(conn, userId)
                grants[name] = Grants(frozenset(roles), frozenset(self._permissionsOf(conn, roles)))
            return grants

    def permissionsOfRoles(self, roles: Iterable[str]) -> frozenset[str]:
        """Every permission the named roles grant; unknown roles grant nothing."""
        with self._engine.connect() as conn:
            return frozenset(self._permissionsOf(conn, list(roles)))

    def authenticate(self, name: str, password: str) -> Principal:
        """The ``Principal`` of local user ``name`` when ``password`` is theirs.

        Raises ``LoginRefused("wrong user name or password")`` for an unknown user, a user
        without a local password, a wrong password and a disabled user alike, and takes
        about as long for each: an unknown name still costs one argon2 check, against a
        dummy hash. After a successful check a hash made with other argon2 parameters than
        the current ones is replaced.
        """
        with self._engine.connect() as conn:
            row = conn.execute(
                select(userTable.c.id, userTable.c.password_hash, userTable.c.enabled).where(
                    userTable.c.name == name
                )
            ).one_or_none()
        if row is None or row.password_hash is None:
            verifyPassword(self._dummyPasswordHash(), password, hasher=self._hasher)
            raise LoginRefused(LOGIN_REFUSED_MESSAGE)
        userId, storedHash = row.id, row.password_hash
        if not verifyPassword(storedHash, password, hasher=self._hasher) or not row.enabled:
            raise LoginRefused(LOGIN_REFUSED_MESSAGE)
        if needsRehash(storedHash, hasher=self._hasher):
            self._rehash(userId, storedHash, password)
        with self._engine.connect() as conn:
            roles = self._rolesOf(conn, userId)
            permissions = self._permissionsOf(conn, roles)
        return Principal(
            userId=localUserId(name),
            userName=name,
            roles=frozenset(roles),
            permissions=frozenset(permissions),
        )

    # Helpers -------------------------------------------------------------------------------

    def _hash(self, password: str) -> str:
        return hashPassword(password, hasher=self._hasher)

    def _dummyPasswordHash(self) -> str:
        """A hash of no one's password, made with the current parameters, for unknown users."""
        if self._dummyHash is None:
            self._dummyHash = hashPassword(
                "peek-no-such-user-dummy-password", hasher=self._hasher, checkPolicy=False
            )
        return self._dummyHash

    def _rehash(self, userId: int, oldHash: str, password: str) -> None:
        """Replace ``oldHash`` unless the password changed meanwhile; never fails a login."""
        newHash = hashPassword(password, hasher=self._hasher, checkPolicy=False)
        try:
            with self._writing() as conn:
                conn.execute(
                    update(userTable)
                    .where(userTable.c.id == userId, userTable.c.password_hash == oldHash)
                    .values(password_hash=newHash)
                )
        except Exception:
            logger.exception("Could not store the rehashed password of user id %s", userId)

    def _checkKnownPermissions(self, names: Iterable[str]) -> None:
        if self._knownPermissions is not None:
            checkPermissionNames(names, self._knownPermissions)

    def _writing(self) -> Any:
        """A transaction for a change; on SQLite it takes the write lock at once (waits for
        another writer up to the busy timeout rather than failing after a read)."""
        return self._engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"}).begin()

    @staticmethod
    def _checkRoleNames(roles: Iterable[str]) -> list[str]:
        if isinstance(roles, str):
            roles = [roles]
        return sorted({checkName("role", role) for role in roles})

    @staticmethod
    def _userId(conn: Connection, name: str) -> int | None:
        return conn.execute(
            select(userTable.c.id).where(userTable.c.name == name)
        ).scalar_one_or_none()

    def _requireUserId(self, conn: Connection, name: str) -> int:
        userId = self._userId(conn, name)
        if userId is None:
            raise UnknownUserError(f"no user is named {name!r}")
        return userId

    @staticmethod
    def _requireRoles(conn: Connection, roles: Collection[str]) -> None:
        """Raise ``UnknownRoleError`` naming each missing role and listing the known ones."""
        if not roles:
            return
        known = list(conn.execute(select(roleTable.c.name).order_by(roleTable.c.name)).scalars())
        missing = sorted(set(roles) - set(known))
        if missing:
            plural = "s" if len(missing) > 1 else ""
            knownText = ", ".join(known) if known else "none yet; create one with 'peek role set'"
            raise UnknownRoleError(
                f"unknown role{plural} {', '.join(map(repr, missing))}; known roles: {knownText}"
            )

    def _updateUser(self, conn: Connection, name: str, **values: Any) -> None:
        result = conn.execute(update(userTable).where(userTable.c.name == name).values(**values))
        if result.rowcount == 0:
            raise UnknownUserError(f"no user is named {name!r}")

    @staticmethod
    def _rolesOf(conn: Connection, userId: int) -> list[str]:
        return list(
            conn.execute(
                select(userRoleTable.c.role)
                .where(userRoleTable.c.user_id == userId)
                .order_by(userRoleTable.c.role)
            ).scalars()
        )

    @staticmethod
    def _permissionsOf(conn: Connection, roles: Collection[str]) -> list[str]:
        if not roles:
            return []
        return list(
            conn.execute(
                select(rolePermissionTable.c.permission)
                .where(rolePermissionTable.c.role.in_(list(roles)))
                .distinct()
            ).scalars()
        )

    def _users(self, name: str | None) -> list[UserRecord]:
        query = select(
            userTable.c.id,
            userTable.c.name,
            userTable.c.enabled,
            userTable.c.created,
            userTable.c.password_hash.is_not(None).label("hasPassword"),
        ).order_by(userTable.c.name)
        if name is not None:
            query = query.where(userTable.c.name == name)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
            roles: dict[int, list[str]] = {}
            roleQuery = select(userRoleTable.c.user_id, userRoleTable.c.role).order_by(
                userRoleTable.c.role
            )
            if name is not None:
                roleQuery = roleQuery.where(userRoleTable.c.user_id.in_([r.id for r in rows]))
            for link in conn.execute(roleQuery):
                roles.setdefault(link.user_id, []).append(link.role)
        return [
            UserRecord(
                name=row.name,
                enabled=bool(row.enabled),
                roles=tuple(roles.get(row.id, ())),
                created=_utc(row.created),
                hasPassword=bool(row.hasPassword),
            )
            for row in rows
        ]


def _utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (SQLite returns naive ones)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)

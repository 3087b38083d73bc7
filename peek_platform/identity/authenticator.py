"""Logic's one answer to "who is this?": the recovery user, local users, then directories.

A login is tried in this order: the recovery admin from logic's config (it holds every
permission, so a fresh install is always usable), a local platform user, then each LDAP
directory scoped to the site. A local user's wrong password never falls through to a
directory. Directory users get the permissions of the roles their groups map to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

from peek_platform.identity.principal import DirectoryUnavailable, LoginRefused, Principal
from peek_platform.identity.store import Grants

logger = logging.getLogger(__name__)

#: The message every refused login gets, whatever the reason (no user enumeration).
REFUSED = "wrong user name or password"


class RecoveryLogin(Protocol):
    """The recovery admin's credentials from logic's config."""

    @property
    def user(self) -> str:
        """The recovery user's name."""

    def matches(self, user: str, password: str) -> bool:
        """True for the right user name and password (constant time)."""


class LocalUsers(Protocol):
    """The platform's user store, as the authenticator needs it."""

    def hasUser(self, name: str) -> bool:
        """True when a local user of this name exists (enabled or not)."""

    def authenticate(self, name: str, password: str) -> Principal:
        """The user's principal; ``LoginRefused`` for a wrong password or disabled user."""

    def currentGrants(self, names: Iterable[str]) -> Mapping[str, Grants]:
        """The roles and permissions now held by each of ``names`` that is enabled."""

    def permissionsOfRoles(self, roles: Iterable[str]) -> frozenset[str]:
        """Every permission the named roles grant (unknown roles grant nothing)."""


class Directory(Protocol):
    """An external directory (LDAP) that can check a password."""

    name: str
    sites: frozenset[str]

    def authenticate(self, userName: str, password: str) -> Principal:
        """The user's principal with roles (no permissions); ``LoginRefused`` or
        ``DirectoryUnavailable`` otherwise."""


class Authenticator:
    """Checks a user name and password for one site; blocking (run it off the reactor)."""

    def __init__(
        self,
        recovery: RecoveryLogin,
        users: LocalUsers,
        directories: Sequence[Directory] = (),
        *,
        allPermissions: Callable[[], frozenset[str]],
    ) -> None:
        self._recovery = recovery
        self._users = users
        self._directories = tuple(directories)
        self._allPermissions = allPermissions

    def authenticate(self, userName: str, password: str, site: str) -> Principal:
        """The principal of a good login on ``site``.

        ``LoginRefused`` for a bad one; ``DirectoryUnavailable`` when the only directories
        that could know the user did not answer.
        """
        if not userName or not password:
            raise LoginRefused(REFUSED)
        if self._recovery.matches(userName, password):
            return Principal(
                userId=f"recovery:{userName}",
                userName=userName,
                roles=frozenset({"recovery"}),
                permissions=self._allPermissions(),
            )
        if self._users.hasUser(userName):
            return self._users.authenticate(userName, password)
        unavailable: list[str] = []
        for directory in self._directories:
            if site not in directory.sites:
                continue
            try:
                found = directory.authenticate(userName, password)
            except LoginRefused:
                continue
            except DirectoryUnavailable as e:
                logger.warning("login on %s: %s", site, e)
                unavailable.append(str(e))
                continue
            return Principal(
                userId=found.userId,
                userName=found.userName,
                roles=found.roles,
                permissions=self._users.permissionsOfRoles(found.roles),
            )
        if unavailable:
            raise DirectoryUnavailable("; ".join(unavailable))
        raise LoginRefused(REFUSED)

    def stillAllowed(self, userIds: Iterable[str]) -> dict[str, Principal | None]:
        """Which users of live sessions may keep them, with what they hold now.

        A local user must still exist and be enabled; their roles and permissions are the
        current ones. The recovery admin must still be the configured recovery user and
        holds every permission. A directory user stays, with ``None`` (keep what the
        session has): a directory is only asked with a password. Users left out lose
        their sessions.
        """
        ids = list(userIds)
        localNames = [i.removeprefix("local:") for i in ids if i.startswith("local:")]
        grants = self._users.currentGrants(localNames)
        allowed: dict[str, Principal | None] = {}
        for userId in ids:
            kind, _, name = userId.partition(":")
            if kind == "local":
                held = grants.get(name)
                if held is not None:
                    allowed[userId] = Principal(userId, name, held.roles, held.permissions)
            elif kind == "recovery":
                if name == self._recovery.user:
                    allowed[userId] = Principal(
                        userId, name, frozenset({"recovery"}), self._allPermissions()
                    )
            else:
                allowed[userId] = None
        return allowed

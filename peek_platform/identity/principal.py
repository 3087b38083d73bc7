"""The outcome of a login: who the user is and what they may do, and why a login failed."""

from __future__ import annotations

from dataclasses import dataclass

#: The sites a user can log in on.
SITES: tuple[str, ...] = ("admin", "field", "office")


@dataclass(frozen=True)
class Principal:
    """An authenticated user: name, roles and the permissions those roles grant."""

    #: Stable id: ``local:<name>`` for platform users, ``ldap:<directory>:<name>`` for
    #: directory users, ``recovery:<name>`` for the recovery admin.
    userId: str
    #: The name the user logged in with.
    userName: str
    #: Role names held (directory groups already mapped to roles).
    roles: frozenset[str]
    #: Every permission the roles grant (the recovery admin holds all of them).
    permissions: frozenset[str]

    def has(self, permission: str) -> bool:
        """True when the user holds ``permission``."""
        return permission in self.permissions


class LoginRefused(Exception):
    """Wrong user name or password, or a disabled user; the message is safe to show."""


class DirectoryUnavailable(Exception):
    """A directory (LDAP) could not be asked in time; the message names it, safe to show."""

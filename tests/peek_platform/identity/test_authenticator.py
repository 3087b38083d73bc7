"""Tests for peek_platform/identity/authenticator.py: recovery, local users, directories."""

from __future__ import annotations

import pytest

from peek_platform.identity.authenticator import REFUSED, Authenticator
from peek_platform.identity.principal import DirectoryUnavailable, LoginRefused, Principal
from peek_platform.identity.recovery import RecoveryCredentials
from peek_platform.identity.store import IdentityStore

RECOVERY = RecoveryCredentials("admin", "recovery-password-123")
EVERYTHING = frozenset({"admin", "peek_plugin_noop.edit"})


class FakeDirectory:
    """A directory that knows one user, or is down; records who it was asked about."""

    def __init__(self, name, sites, users=None, down=False):
        self.name = name
        self.sites = frozenset(sites)
        self.users = users or {}
        self.down = down
        self.asked: list[str] = []

    def authenticate(self, userName, password):
        self.asked.append(userName)
        if self.down:
            raise DirectoryUnavailable(f"LDAP directory {self.name} is unreachable")
        entry = self.users.get(userName)
        if entry is None or entry[0] != password:
            raise LoginRefused(REFUSED)
        return Principal(f"ldap:{self.name}:{userName}", userName, frozenset(entry[1]), frozenset())


def authenticator(store: IdentityStore, *directories) -> Authenticator:
    """An authenticator over ``store`` and ``directories`` with the recovery admin."""
    return Authenticator(RECOVERY, store, directories, allPermissions=lambda: EVERYTHING)


def test_recovery_admin_holds_every_permission(store):
    """The recovery admin from config logs in on any site with every known permission."""
    principal = authenticator(store).authenticate("admin", "recovery-password-123", "field")
    assert principal.userId == "recovery:admin"
    assert principal.permissions == EVERYTHING


def test_local_user_gets_the_permissions_of_their_roles(store):
    """A local user logs in with their roles' permissions; a wrong password is refused."""
    store.setRolePermissions("editor", ["admin"])
    store.addUser("ann", "ann-password-1", roles=["editor"])
    found = authenticator(store).authenticate("ann", "ann-password-1", "office")
    assert (found.userId, found.roles, found.permissions) == (
        "local:ann",
        frozenset({"editor"}),
        frozenset({"admin"}),
    )
    with pytest.raises(LoginRefused, match=REFUSED):
        authenticator(store).authenticate("ann", "not-her-password", "office")


def test_local_users_wrong_password_never_falls_through_to_a_directory(store):
    """A local name with a wrong password is refused without asking any directory."""
    store.addUser("ann", "ann-password-1")
    directory = FakeDirectory("corp", ["field"], {"ann": ("dir-password", ["crew"])})
    with pytest.raises(LoginRefused):
        authenticator(store, directory).authenticate("ann", "dir-password", "field")
    assert directory.asked == []


def test_directory_user_gets_mapped_role_permissions_on_scoped_sites_only(store):
    """A directory user gets their roles' permissions, on the sites the directory serves."""
    store.setRolePermissions("crew", ["peek_plugin_noop.edit"])
    directory = FakeDirectory("corp", ["field"], {"bob": ("bob-password", ["crew"])})
    found = authenticator(store, directory).authenticate("bob", "bob-password", "field")
    assert found.userId == "ldap:corp:bob"
    assert found.permissions == frozenset({"peek_plugin_noop.edit"})
    with pytest.raises(LoginRefused):
        authenticator(store, directory).authenticate("bob", "bob-password", "office")
    assert directory.asked == ["bob"]


def test_a_directory_that_is_down_is_reported_unless_another_one_knows_the_user(store):
    """Only a down directory: DirectoryUnavailable; a second directory that answers wins."""
    down = FakeDirectory("east", ["field"], down=True)
    with pytest.raises(DirectoryUnavailable, match="east"):
        authenticator(store, down).authenticate("bob", "bob-password", "field")
    up = FakeDirectory("west", ["field"], {"bob": ("bob-password", [])})
    found = authenticator(store, down, up).authenticate("bob", "bob-password", "field")
    assert found.userId == "ldap:west:bob"


def test_empty_user_or_password_is_refused_before_anything_is_asked(store):
    """An empty user name or password is refused without a check anywhere."""
    directory = FakeDirectory("corp", ["field"])
    for user, password in (("", "x-password"), ("bob", "")):
        with pytest.raises(LoginRefused):
            authenticator(store, directory).authenticate(user, password, "field")
    assert directory.asked == []


def test_still_allowed_drops_disabled_and_removed_local_users_with_current_grants(store):
    """Disabled or unknown local users may not stay; the others get their current roles; the
    recovery admin keeps every permission; directory users stay unchanged (None)."""
    store.setRolePermissions("editor", ["admin"])
    store.addUser("ann", "ann-password-1", roles=["editor"])
    store.addUser("bob", "bob-password-1")
    store.setEnabled("bob", False)
    ids = ["local:ann", "local:bob", "local:gone", "recovery:admin", "ldap:corp:cy"]
    allowed = authenticator(store).stillAllowed(ids)
    assert sorted(allowed) == ["ldap:corp:cy", "local:ann", "recovery:admin"]
    assert allowed["local:ann"].permissions == frozenset({"admin"})
    assert allowed["recovery:admin"].permissions == EVERYTHING
    assert allowed["ldap:corp:cy"] is None
    assert authenticator(store).stillAllowed(["recovery:someone-else"]) == {}

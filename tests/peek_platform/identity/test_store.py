"""The identity store on SQLite and PostgreSQL: users, roles and password logins."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from peek_platform.identity.passwords import PasswordPolicyError, needsRehash
from peek_platform.identity.permissions import (
    IdentityError,
    UnknownPermissionError,
    knownPermissions,
)
from peek_platform.identity.principal import LoginRefused, Principal
from peek_platform.identity.store import (
    LOGIN_REFUSED_MESSAGE,
    IdentityStore,
    InvalidNameError,
    RoleRecord,
    UnknownRoleError,
    UnknownUserError,
    UserExistsError,
)
from peek_platform.storage.platform_schema import userTable

PASSWORD = "correct horse"


class CountingHasher(PasswordHasher):
    """A cheap real hasher that counts its verify calls (to see unknown users cost one)."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=256, parallelism=1)
        self.verifies = 0

    def verify(self, hash, password):
        self.verifies += 1
        return super().verify(hash, password)


def storedHash(platformDb, name):
    """The password_hash column of user ``name``."""
    with platformDb.dbEngine.connect() as conn:
        return conn.execute(
            sa.select(userTable.c.password_hash).where(userTable.c.name == name)
        ).scalar_one()


def test_login_gives_principal_with_roles_and_permissions(store):
    """authenticate returns local:<name>, the user's roles and the union of their grants."""
    store.setRolePermissions("admins", ["admin"], "Platform admins")
    store.setRolePermissions("editors", ["peek_plugin_noop.edit", "peek_plugin_noop.view"])
    store.setRolePermissions("viewers", ["peek_plugin_noop.view"])
    store.addUser("alice", PASSWORD, ["editors", "viewers"])
    principal = store.authenticate("alice", PASSWORD)
    assert principal == Principal(
        userId="local:alice",
        userName="alice",
        roles=frozenset({"editors", "viewers"}),
        permissions=frozenset({"peek_plugin_noop.edit", "peek_plugin_noop.view"}),
    )
    assert not principal.has("admin")


def test_refusals_share_one_message_and_cost_one_hash_check(platformDb):
    """Unknown user, wrong password, no password and disabled all say the same, each after
    exactly one argon2 verification (an unknown name is checked against a dummy hash)."""
    hasher = CountingHasher()
    store = IdentityStore(platformDb.dbEngine, hasher=hasher)
    store.addUser("alice", PASSWORD)
    store.addUser("nopass", None)
    store.addUser("dora", PASSWORD)
    store.setEnabled("dora", False)
    for name, password in [
        ("nobody", PASSWORD),
        ("alice", "wrong horse"),
        ("nopass", PASSWORD),
        ("dora", PASSWORD),
    ]:
        before = hasher.verifies
        with pytest.raises(LoginRefused) as raised:
            store.authenticate(name, password)
        assert str(raised.value) == LOGIN_REFUSED_MESSAGE == "wrong user name or password"
        assert hasher.verifies == before + 1, name


def test_disable_and_enable(store):
    """A disabled user is refused; enabled again it logs in; list shows the state."""
    store.addUser("alice", PASSWORD)
    store.setEnabled("alice", False)
    assert [u.enabled for u in store.listUsers()] == [False]
    with pytest.raises(LoginRefused):
        store.authenticate("alice", PASSWORD)
    store.setEnabled("alice", True)
    assert store.authenticate("alice", PASSWORD).userName == "alice"


def test_outdated_hash_is_replaced_at_login(platformDb, fastHasher):
    """A login whose stored hash has older argon2 parameters stores a current hash."""
    IdentityStore(platformDb.dbEngine, hasher=fastHasher).addUser("alice", PASSWORD)
    old = storedHash(platformDb, "alice")
    stronger = PasswordHasher(time_cost=2, memory_cost=512, parallelism=1)
    store = IdentityStore(platformDb.dbEngine, hasher=stronger)
    store.authenticate("alice", PASSWORD)
    new = storedHash(platformDb, "alice")
    assert new != old
    assert not needsRehash(new, hasher=stronger)
    store.authenticate("alice", PASSWORD)
    assert storedHash(platformDb, "alice") == new


def test_password_is_stored_only_as_argon2id_hash(store, platformDb):
    """The user table holds an Argon2id hash, never the password."""
    store.addUser("alice", PASSWORD)
    stored = storedHash(platformDb, "alice")
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_set_password(store):
    """After setPassword the new password logs in and the old one is refused."""
    store.addUser("alice", PASSWORD)
    store.setPassword("alice", "battery staple")
    assert store.authenticate("alice", "battery staple").userId == "local:alice"
    with pytest.raises(LoginRefused):
        store.authenticate("alice", PASSWORD)


def test_short_password_changes_nothing(store):
    """A too-short password is a PasswordPolicyError for add and set; nothing is stored."""
    with pytest.raises(PasswordPolicyError, match="too short"):
        store.addUser("alice", "short")
    assert store.listUsers() == []
    store.addUser("bob", PASSWORD)
    with pytest.raises(PasswordPolicyError, match="at least 8"):
        store.setPassword("bob", "short")
    store.authenticate("bob", PASSWORD)


def test_user_without_password(store):
    """addUser(name, None) makes a user with no local password that cannot log in locally."""
    record = store.addUser("dirk", None)
    assert record.hasPassword is False
    assert store.getUser("dirk").hasPassword is False
    with pytest.raises(LoginRefused):
        store.authenticate("dirk", "")


def test_duplicate_user_is_refused(store):
    """Adding an existing name is a UserExistsError naming it; the first user is kept."""
    store.addUser("alice", PASSWORD)
    with pytest.raises(UserExistsError, match="user 'alice' exists already"):
        store.addUser("alice", "other password")
    store.authenticate("alice", PASSWORD)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "must not be empty"),
        ("x" * 65, "at most 64"),
        ("a b", "whitespace"),
        ("a\tb", "whitespace"),
        ("a\x07b", "U+0007"),
        ("a\u200bb", "U+200B"),
    ],
)
def test_invalid_user_names_are_refused(store, name, message):
    """User names are 1-64 characters without whitespace or control characters."""
    with pytest.raises(InvalidNameError, match=re.escape(message)):
        store.addUser(name, PASSWORD)
    assert store.listUsers() == []


def test_unusual_but_valid_names(store):
    """Dots, dashes, @ and non-ASCII letters are fine, up to 64 characters."""
    for name in ["jo.smith@example.com", "Zoë-1", "x" * 64]:
        store.addUser(name, PASSWORD)
    assert sorted(u.name for u in store.listUsers()) == sorted(
        ["jo.smith@example.com", "Zoë-1", "x" * 64]
    )


def test_user_roles_are_set_exactly(store):
    """setUserRoles replaces the roles; an empty list clears them."""
    for role in ("a", "b", "c"):
        store.setRolePermissions(role, ["admin"])
    store.addUser("alice", PASSWORD, ["a", "b"])
    assert store.setUserRoles("alice", ["c", "b"]) == ("b", "c")
    assert store.getUser("alice").roles == ("b", "c")
    store.setUserRoles("alice", [])
    assert store.getUser("alice").roles == ()


def test_unknown_role_lists_the_known_roles(store):
    """An unknown role is an UnknownRoleError naming it and the existing roles; no change."""
    store.setRolePermissions("admins", ["admin"])
    store.setRolePermissions("editors", ["admin"])
    with pytest.raises(UnknownRoleError) as raised:
        store.addUser("alice", PASSWORD, ["admins", "ghosts"])
    assert str(raised.value) == "unknown role 'ghosts'; known roles: admins, editors"
    assert store.listUsers() == []
    store.addUser("alice", PASSWORD, ["admins"])
    with pytest.raises(UnknownRoleError, match="'ghosts'"):
        store.setUserRoles("alice", ["ghosts"])
    assert store.getUser("alice").roles == ("admins",)


def test_unknown_user_is_named(store):
    """Changing a user that does not exist is an UnknownUserError naming it."""
    for change in (
        lambda: store.setEnabled("ghost", False),
        lambda: store.setPassword("ghost", PASSWORD),
        lambda: store.setUserRoles("ghost", []),
        lambda: store.getUser("ghost"),
        lambda: store.deleteUser("ghost"),
    ):
        with pytest.raises(UnknownUserError, match="no user is named 'ghost'"):
            change()


def test_role_permissions_are_set_exactly_and_description_kept(store):
    """setRolePermissions creates the role, replaces its grants and keeps the description
    unless a new one is given."""
    created = store.setRolePermissions("ops", ["admin", "peek_plugin_x.run"], "Operators")
    assert created == RoleRecord("ops", "Operators", ("admin", "peek_plugin_x.run"))
    store.setRolePermissions("ops", ["peek_plugin_x.view"])
    assert store.listRoles() == [RoleRecord("ops", "Operators", ("peek_plugin_x.view",))]
    store.setRolePermissions("ops", ["peek_plugin_x.view"], description="Watchers")
    assert store.listRoles()[0].description == "Watchers"


def test_known_permissions_are_enforced(platformDb, fastHasher):
    """With knownPermissions a role may only grant those; the error lists the known ones."""
    store = IdentityStore(
        platformDb.dbEngine, hasher=fastHasher, knownPermissions=knownPermissions()
    )
    store.setRolePermissions("admins", ["admin"])
    with pytest.raises(UnknownPermissionError, match=r"'peek_plugin_x\.run'.*: admin$"):
        store.setRolePermissions("ops", ["peek_plugin_x.run"])
    assert [role.name for role in store.listRoles()] == ["admins"]


@pytest.mark.parametrize("permission", ["Admin", "peek_plugin_x.", "a b", "x.y.z", ""])
def test_malformed_permission_is_refused(store, permission):
    """A name not shaped like ``admin`` or ``<plugin>.<word>`` is refused even without a
    known list."""
    with pytest.raises(UnknownPermissionError, match="is not a permission name"):
        store.setRolePermissions("ops", [permission])


def test_delete_role_takes_it_from_users(store):
    """deleteRole removes the role and its grants and returns who held it."""
    store.setRolePermissions("admins", ["admin"])
    store.setRolePermissions("viewers", ["peek_plugin_x.view"])
    store.addUser("bob", PASSWORD, ["admins", "viewers"])
    store.addUser("alice", PASSWORD, ["admins"])
    assert store.deleteRole("admins") == ("alice", "bob")
    assert [role.name for role in store.listRoles()] == ["viewers"]
    assert store.getUser("bob").roles == ("viewers",)
    assert store.authenticate("alice", PASSWORD).permissions == frozenset()
    with pytest.raises(UnknownRoleError, match="unknown role 'admins'"):
        store.deleteRole("admins")


def test_list_users_sorted_with_creation_time(store):
    """listUsers gives every user by name, with roles and an aware UTC creation time."""
    store.setRolePermissions("admins", ["admin"])
    before = datetime.now(UTC) - timedelta(seconds=1)
    store.addUser("bob", PASSWORD)
    store.addUser("alice", PASSWORD, ["admins"])
    users = store.listUsers()
    assert [(u.name, u.enabled, u.roles) for u in users] == [
        ("alice", True, ("admins",)),
        ("bob", True, ()),
    ]
    for user in users:
        assert user.created.tzinfo is not None
        assert before <= user.created <= datetime.now(UTC) + timedelta(seconds=1)


def test_delete_user(store):
    """deleteUser removes the user; its name can be used again."""
    store.addUser("alice", PASSWORD)
    store.deleteUser("alice")
    assert store.listUsers() == []
    store.addUser("alice", "battery staple")
    store.authenticate("alice", "battery staple")


def test_errors_are_identity_value_errors():
    """Every store error is an IdentityError, so a ValueError."""
    for error in (InvalidNameError, UnknownRoleError, UnknownUserError, UserExistsError):
        assert issubclass(error, IdentityError)
        assert issubclass(error, ValueError)


def test_migration_downgrades_and_upgrades(platformDb):
    """The users-and-roles revision drops its tables on downgrade and recreates them."""
    tables = {"user", "role", "role_permission", "user_role"}

    def present() -> set[str]:
        names = sa.inspect(platformDb.dbEngine).get_table_names(schema="peek_platform")
        return set(names) & tables

    assert present() == tables
    platformDb.downgrade("a1c0de5e7701")
    assert present() == set()
    assert platformDb.currentRevisions() == ("a1c0de5e7701",)
    platformDb.migrate()
    assert present() == tables

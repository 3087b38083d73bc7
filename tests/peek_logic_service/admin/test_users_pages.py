"""The admin Users and Roles API (``/api/users``, ``/api/roles``, ``/api/permissions``) on a
real identity store: guard, CSRF, the admin permission, validation, changes and their log."""

from __future__ import annotations

import json
import logging

import pytest
from argon2 import PasswordHasher
from twisted.internet.defer import maybeDeferred

from peek_logic_service.admin.users_pages import IdentityAdmin
from peek_platform.identity.authenticator import Authenticator
from peek_platform.identity.permissions import Permission, knownPermissions
from peek_platform.identity.principal import Principal
from peek_platform.identity.recovery import RecoveryCredentials
from peek_platform.identity.store import IdentityStore
from peek_platform.testing.InMemoryBrowser import InMemoryBrowser, Response
from peek_platform.web.site_auth import SiteAuth

#: A password the policy accepts, and another for resets.
PASSWORD, NEW_PASSWORD = "alice-password-1", "alice-password-2"
#: What roles may grant here: the platform's and one plugin's permission.
PERMISSIONS = {
    **knownPermissions(),
    "peek_plugin_noop.edit": Permission("peek_plugin_noop.edit", "Edit the noop items"),
}


@pytest.fixture
def store(sqlitePlatformDb) -> IdentityStore:
    """An identity store on a fresh, migrated SQLite platform schema (cheap hashing)."""
    return IdentityStore(
        sqlitePlatformDb.dbEngine, hasher=PasswordHasher(time_cost=1, memory_cost=256)
    )


@pytest.fixture
def site(admin, store):
    """The admin test site with the identity API on ``store``; logins and session
    re-checks go through the real authenticator (recovery admin, then local users)."""
    authenticator = Authenticator(
        RecoveryCredentials(admin.user, admin.password),
        store,
        allPermissions=lambda: frozenset(PERMISSIONS),
    )
    admin.auth = SiteAuth(
        "admin",
        lambda user, password, siteName: maybeDeferred(
            authenticator.authenticate, user, password, siteName
        ),
        admin.clock,
        idleSeconds=admin.idleSeconds,
        requiredPermission="admin",
        revalidate=lambda userIds: maybeDeferred(authenticator.stillAllowed, userIds),
    )
    identity = IdentityAdmin(store, inThread=maybeDeferred, permissions=lambda: PERMISSIONS)
    return admin.serveApi(identity.resources(admin.auth))


def logInAs(site, browser: InMemoryBrowser, user: str, password: str) -> Response:
    """Submit the login form as ``user``."""
    form = {"username": user, "password": password, "csrfToken": site.loginFormToken(browser)}
    return browser.post("/login", form=form, headers={"Origin": site.origin})


def call(
    site, browser: InMemoryBrowser, path: str, body: object = None, *, token: str | None = ""
) -> tuple[int, dict]:
    """GET ``path``, or POST ``body`` as JSON with the session's token (``token=None``: no
    token; a string: that token); the status and the JSON answer."""
    if body is None:
        response = browser.get(path)
    else:
        headers = {"Origin": site.origin, "Content-Type": "application/json"}
        if token is not None:
            headers["X-CSRF-Token"] = token or site.shellToken(browser)
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = browser.post(path, headers=headers, body=raw)
    return response.code, json.loads(response.body)


def addAlice(site, browser, roles=("admins",)) -> None:
    """Create role ``admins`` (admin) and user alice holding ``roles``, through the API."""
    assert call(site, browser, "/api/roles", {"name": "admins", "permissions": ["admin"]})[0] == 200
    body = {"name": "alice", "password": PASSWORD, "roles": list(roles)}
    assert call(site, browser, "/api/users", body)[0] == 201


# ---- who may call ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/users"),
        ("POST", "/api/users"),
        ("GET", "/api/roles"),
        ("GET", "/api/permissions"),
    ],
)
def test_api_needs_a_session(site, method, path):
    """Without a session every path of the API answers 401."""
    assert site.browser().request(method, path).code == 401


@pytest.mark.parametrize(
    ("token", "origin"), [(None, None), ("forged", None), ("", "http://evil.test")]
)
def test_change_without_token_or_from_another_site_is_refused(site, browser, store, token, origin):
    """A change without the session's CSRF token, or sent from another origin, is 403 and
    changes nothing."""
    headers = {"Origin": origin or site.origin, "Content-Type": "application/json"}
    if token is not None:
        headers["X-CSRF-Token"] = token or site.shellToken(browser)
    body = json.dumps({"name": "mallory", "password": PASSWORD}).encode()
    response = browser.post("/api/users", headers=headers, body=body)
    assert response.code == 403
    assert store.listUsers() == []


def test_user_without_admin_cannot_log_in_or_call(site, browser, store):
    """A local user whose roles lack ``admin`` is refused at login and so gets 401."""
    call(site, browser, "/api/roles", {"name": "editors", "permissions": ["peek_plugin_noop.edit"]})
    call(site, browser, "/api/users", {"name": "bob", "password": PASSWORD, "roles": ["editors"]})
    bob = site.browser()
    refused = logInAs(site, bob, "bob", PASSWORD)
    assert refused.code == 401
    assert "does not have the &#x27;admin&#x27; permission" in refused.text
    assert bob.get("/api/users").code == 401


def test_session_without_admin_permission_is_refused(site, store):
    """A session whose user no longer holds ``admin`` (not yet re-checked) gets 403 for
    reads and changes alike, and changes nothing."""
    session = site.auth.sessions.create(
        Principal("local:bob", "bob", frozenset({"editors"}), frozenset({"peek_plugin_noop.edit"}))
    )
    bob = site.browser()
    bob.cookies["peekAdminSession"] = session.sessionId
    assert call(site, bob, "/api/users") == (403, {"error": "this needs the 'admin' permission"})
    code, _ = call(
        site, bob, "/api/users", {"name": "x", "password": PASSWORD}, token=session.csrfToken
    )
    assert code == 403
    assert store.listUsers() == []


# ---- users ----------------------------------------------------------------------------


def test_added_user_is_listed_and_can_log_in(site, browser):
    """A user added with a role is listed (enabled, its roles, source local, never a
    password) and logs in with the password given."""
    assert call(site, browser, "/api/roles", {"name": "admins", "permissions": ["admin"]})[0] == 200
    body = {"name": "alice", "password": PASSWORD, "roles": ["admins"]}
    code, answer = call(site, browser, "/api/users", body)
    assert (code, answer["message"]) == (201, "added user alice with roles admins")
    code, users = call(site, browser, "/api/users")
    assert code == 200
    [alice] = users
    assert {k: alice[k] for k in ("name", "enabled", "roles", "source", "hasPassword")} == {
        "name": "alice",
        "enabled": True,
        "roles": ["admins"],
        "source": "local",
        "hasPassword": True,
    }
    assert PASSWORD not in json.dumps([answer, users])
    assert logInAs(site, site.browser(), "alice", PASSWORD).code == 303


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "name", "name is missing"),
        (
            {"name": "a b", "password": PASSWORD},
            "name",
            "user name 'a b' must not contain whitespace",
        ),
        ({"name": 7}, "name", "name must be a string"),
        ({"name": "carol"}, "password", "password is missing"),
        (
            {"name": "carol", "password": "short"},
            "password",
            "password too short: it has 5 characters, at least 8 are required",
        ),
        (
            {"name": "carol", "password": PASSWORD, "roles": "admins"},
            "roles",
            "roles must be a list",
        ),
        (
            {"name": "carol", "password": PASSWORD, "roles": [1]},
            "roles",
            "roles must be a list of strings",
        ),
        (
            {"name": "carol", "password": PASSWORD, "roles": ["nosuch"]},
            "roles",
            "unknown role 'nosuch'; known roles: admins",
        ),
    ],
)
def test_bad_user_input_is_400_naming_the_field(site, browser, store, body, field, message):
    """Bad input to add a user answers 400 with the message and the field; nothing is added."""
    call(site, browser, "/api/roles", {"name": "admins", "permissions": ["admin"]})
    assert call(site, browser, "/api/users", body) == (400, {"error": message, "field": field})
    assert store.listUsers() == []


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]"])
def test_body_that_is_not_a_json_object_is_400(site, browser, raw):
    """A change whose body is not a JSON object answers 400 saying so."""
    code, answer = call(site, browser, "/api/users", raw)
    assert code == 400
    assert answer["error"].startswith("the request body ")


def test_existing_user_is_409(site, browser):
    """Adding a name that is taken answers 409 naming the name field."""
    addAlice(site, browser)
    body = {"name": "alice", "password": PASSWORD}
    assert call(site, browser, "/api/users", body) == (
        409,
        {"error": "user 'alice' exists already", "field": "name"},
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/users/enabled", {"enabled": False}),
        ("/api/users/password", {"password": PASSWORD}),
        ("/api/users/roles", {"roles": []}),
        ("/api/users/delete", {}),
    ],
)
def test_change_of_unknown_user_is_404(site, browser, path, body):
    """Changing a user that does not exist answers 404 naming it."""
    assert call(site, browser, path, {"name": "nobody", **body}) == (
        404,
        {"error": "no user is named 'nobody'"},
    )


def test_disabling_a_user_refuses_its_logins_and_ends_its_sessions(site, browser):
    """Disabling alice ends her live admin session at once and refuses her logins;
    enabling her lets her in again."""
    addAlice(site, browser)
    alice = site.browser()
    assert logInAs(site, alice, "alice", PASSWORD).code == 303
    assert call(site, browser, "/api/users/enabled", {"name": "alice", "enabled": False}) == (
        200,
        {"message": "user alice disabled: its logins are refused"},
    )
    assert alice.get("/api/session").code == 401
    assert logInAs(site, site.browser(), "alice", PASSWORD).code == 401
    call(site, browser, "/api/users/enabled", {"name": "alice", "enabled": True})
    assert logInAs(site, site.browser(), "alice", PASSWORD).code == 303


def test_enabled_must_be_a_boolean(site, browser):
    """``enabled`` other than true or false is 400 naming it."""
    addAlice(site, browser)
    assert call(site, browser, "/api/users/enabled", {"name": "alice", "enabled": "no"}) == (
        400,
        {"error": "enabled must be true or false", "field": "enabled"},
    )


def test_password_reset_replaces_the_password(site, browser):
    """After a reset the new password logs in and the old one no longer does."""
    addAlice(site, browser)
    body = {"name": "alice", "password": NEW_PASSWORD}
    assert call(site, browser, "/api/users/password", body) == (
        200,
        {"message": "password of user alice changed"},
    )
    assert logInAs(site, site.browser(), "alice", PASSWORD).code == 401
    assert logInAs(site, site.browser(), "alice", NEW_PASSWORD).code == 303


def test_roles_are_replaced_exactly(site, browser, store):
    """Setting roles makes them exactly the user's roles; none is allowed."""
    addAlice(site, browser)
    call(site, browser, "/api/roles", {"name": "editors", "permissions": ["peek_plugin_noop.edit"]})
    body = {"name": "alice", "roles": ["editors"]}
    assert call(site, browser, "/api/users/roles", body) == (
        200,
        {"message": "user alice now holds roles editors"},
    )
    assert store.getUser("alice").roles == ("editors",)
    call(site, browser, "/api/users/roles", {"name": "alice", "roles": []})
    assert store.getUser("alice").roles == ()


def test_deleted_user_is_gone(site, browser):
    """A deleted user is no longer listed; deleting it again is 404."""
    addAlice(site, browser)
    assert call(site, browser, "/api/users/delete", {"name": "alice"}) == (
        200,
        {"message": "deleted user alice"},
    )
    assert call(site, browser, "/api/users") == (200, [])
    assert call(site, browser, "/api/users/delete", {"name": "alice"})[0] == 404


def test_changes_are_logged_with_the_admin_and_never_the_password(site, browser, caplog):
    """Each change is one INFO line naming the admin who made it; no password is logged."""
    caplog.set_level(logging.INFO, logger="peek_logic_service.admin.users_pages")
    addAlice(site, browser)
    call(site, browser, "/api/users/password", {"name": "alice", "password": NEW_PASSWORD})
    call(site, browser, "/api/users/password", {"name": "alice", "password": "short"})
    lines = [r.getMessage() for r in caplog.records if r.name.endswith("users_pages")]
    assert lines == [
        "role admins grants admin (by recovery:admin on the admin site)",
        "added user alice with roles admins (by recovery:admin on the admin site)",
        "password of user alice changed (by recovery:admin on the admin site)",
    ]
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert PASSWORD not in everything
    assert NEW_PASSWORD not in everything


# ---- roles and permissions ------------------------------------------------------------


def test_permissions_are_listed_with_descriptions(site, browser):
    """/api/permissions lists the platform's and the plugins' permissions with meanings."""
    assert call(site, browser, "/api/permissions") == (
        200,
        [
            {"name": "admin", "description": "Use the admin site and change the platform"},
            {"name": "peek_plugin_noop.edit", "description": "Edit the noop items"},
        ],
    )


def test_role_is_created_then_its_permissions_replaced(site, browser):
    """Setting a role creates it; setting it again replaces its permissions and, without
    a description, keeps the one it had."""
    body = {"name": "editors", "permissions": ["peek_plugin_noop.edit"], "description": "Edit"}
    code, answer = call(site, browser, "/api/roles", body)
    assert (code, answer["message"]) == (200, "role editors grants peek_plugin_noop.edit")
    call(
        site,
        browser,
        "/api/roles",
        {"name": "editors", "permissions": ["admin", "peek_plugin_noop.edit"]},
    )
    assert call(site, browser, "/api/roles") == (
        200,
        [
            {
                "name": "editors",
                "description": "Edit",
                "permissions": ["admin", "peek_plugin_noop.edit"],
            }
        ],
    )


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"permissions": ["admin"]}, "name", "name is missing"),
        ({"name": "", "permissions": ["admin"]}, "name", "role name must not be empty"),
        ({"name": "r"}, "permissions", "a role must grant at least one permission"),
        (
            {"name": "r", "permissions": ["peek_plugin_x.view"]},
            "permissions",
            "unknown permission 'peek_plugin_x.view'; known permissions (the platform's and "
            "those of the plugins enabled on logic): admin, peek_plugin_noop.edit",
        ),
        (
            {"name": "r", "permissions": ["admin"], "description": 1},
            "description",
            "description must be a string",
        ),
    ],
)
def test_bad_role_input_is_400_naming_the_field(site, browser, body, field, message):
    """Bad input to set a role answers 400 with the message and the field; no role is made."""
    assert call(site, browser, "/api/roles", body) == (400, {"error": message, "field": field})
    assert call(site, browser, "/api/roles") == (200, [])


def test_deleting_a_role_takes_it_from_its_users(site, browser, store):
    """A deleted role is gone and its users no longer hold it; the answer names them.
    Deleting a role that does not exist is 404."""
    addAlice(site, browser)
    assert call(site, browser, "/api/roles/delete", {"name": "admins"}) == (
        200,
        {"message": "deleted role admins; taken from users alice", "takenFrom": ["alice"]},
    )
    assert store.getUser("alice").roles == ()
    code, answer = call(site, browser, "/api/roles/delete", {"name": "admins"})
    assert (code, answer["error"]) == (
        404,
        "unknown role 'admins'; known roles: none yet; create one with 'peek role set'",
    )


# ---- paths and the shell --------------------------------------------------------------


def test_unknown_path_is_404_and_wrong_method_405(site, browser):
    """A path the API lacks is 404; a known path with the wrong method is 405 with Allow."""
    assert call(site, browser, "/api/users/nosuch") == (404, {"error": "no such path"})
    response = browser.get("/api/users/delete")
    assert (response.code, response.header("Allow")) == (405, "POST")


def test_store_failure_is_500_and_logged(site, browser, store, monkeypatch, caplog):
    """A store call that fails unexpectedly answers 500 pointing at the log, which has the
    error with its traceback."""

    def broken() -> None:
        raise RuntimeError("database is gone")

    monkeypatch.setattr(store, "listUsers", broken)
    assert call(site, browser, "/api/users") == (
        500,
        {"error": "the request failed unexpectedly; see the logic service's log"},
    )
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage() == "admin site: GET /api/users failed"
    assert record.exc_info is not None and "database is gone" in str(record.exc_info[1])


def test_shell_links_the_users_and_roles_pages(site, browser):
    """The navigation links both pages and their scripts are served as modules."""
    shell = browser.get("/").text
    assert '<a href="#/users" data-page="users">Users</a>' in shell
    assert '<a href="#/roles" data-page="roles">Roles</a>' in shell
    for page in ("users", "roles", "identity"):
        script = browser.get(f"/static/pages/{page}.mjs")
        assert (script.code, script.header("Content-Type")) == (200, "text/javascript")

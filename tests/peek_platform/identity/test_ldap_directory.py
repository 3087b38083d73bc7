"""Tests of peek_platform/identity/ldap_directory.py against a real OpenLDAP slapd.

The directory under test holds people and groups in a subtree of the session's
``peekSlapd``; logins run in bind mode (groupOfNames, ``member``) and search mode (posixGroup,
``memberUid``). Unreachable servers are a port nobody listens on and a socket that accepts
connections but never answers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from peek_logic_service.admin.config_view import MASKED, configTuple
from peek_platform.config import ConfigError, loadServiceConfig
from peek_platform.config.keys import configKeyByPath
from peek_platform.identity.authenticator import Authenticator
from peek_platform.identity.ldap_directory import (
    MASK,
    LdapDirectory,
    LdapDirectorySettings,
    directoriesFromConfig,
)
from peek_platform.identity.principal import DirectoryUnavailable, LoginRefused, Principal
from peek_platform.services import LOGIC
from peek_plugin_base.testing.FreePort import heldTcpPort
from peek_plugin_base.testing.SlapdTestServer import SUFFIX, SlapdTestServer
from peek_plugin_base.testing.TestCertificates import TestPki, makeTestPki

#: The search account's password: it must never show in a repr, an error or the admin view.
READER_PASSWORD = "reader-S3cret-pw"
#: The user whose DN needs escaping (``,`` and ``+``) and the one whose filter does.
COMMA_USER = "smith, j+r"
STAR_USER = "o*brien(x)"

#: Extra seconds a down directory may take beyond its timeout on a loaded CI machine.
SLACK_SECONDS = 5.0


def _ldif(base: str) -> str:
    """People, a search account and groups under ``base``."""
    people, groups = f"ou=people,{base}", f"ou=groups,{base}"
    entries = [
        f"dn: {people}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: {groups}\nobjectClass: organizationalUnit\nou: groups\n",
        f"dn: cn=reader,{base}\nobjectClass: organizationalRole\n"
        f"objectClass: simpleSecurityObject\ncn: reader\nuserPassword: {READER_PASSWORD}\n",
    ]
    for uid, rdn, password in [
        ("alice", "alice", "alice-pw"),
        ("bob", "bob", "bob-pw"),
        ("carol", "carol", "carol-pw"),
        (COMMA_USER, r"smith\, j\+r", "smith-pw"),
        (STAR_USER, STAR_USER, "obrien-pw"),
    ]:
        entries.append(
            f"dn: uid={rdn},{people}\nobjectClass: inetOrgPerson\nuid: {uid}\n"
            f"cn: {uid}\nsn: {uid}\nuserPassword: {password}\n"
        )
    entries += [
        f"dn: cn=operators,{groups}\nobjectClass: groupOfNames\ncn: operators\n"
        f"member: uid=alice,{people}\nmember: uid=smith\\, j\\+r,{people}\n",
        f"dn: cn=viewers,{groups}\nobjectClass: groupOfNames\ncn: viewers\n"
        f"member: uid=bob,{people}\n",
        f"dn: cn=unmapped,{groups}\nobjectClass: groupOfNames\ncn: unmapped\n"
        f"member: uid=carol,{people}\n",
        f"dn: cn=ops-posix,{groups}\nobjectClass: posixGroup\ncn: ops-posix\n"
        f"gidNumber: 1001\nmemberUid: alice\n",
        f"dn: cn=special,{groups}\nobjectClass: posixGroup\ncn: special\n"
        f"gidNumber: 1002\nmemberUid: {STAR_USER}\n",
    ]
    return "\n".join(entries)


@dataclass
class Tree:
    """Where the test entries are on the LDAP server."""

    url: str
    base: str

    @property
    def people(self) -> str:
        return f"ou=people,{self.base}"

    @property
    def groups(self) -> str:
        return f"ou=groups,{self.base}"

    def bindMode(self, **overrides: Any) -> dict[str, Any]:
        """A bind-mode directory object mapping ``operators`` (by CN) and ``viewers`` (by DN)."""
        return {
            "name": "corp",
            "url": self.url,
            "mode": "bind",
            "userDnTemplate": f"uid={{user}},{self.people}",
            "groupSearchBase": self.groups,
            "groupMemberAttribute": "member",
            "groupRoles": {
                "Operators": ["operator"],
                # A DN in another spelling than the server's still matches.
                f"CN=Viewers, OU=groups, {self.base}": ["viewer"],
            },
            "timeoutSeconds": 5,
            **overrides,
        }

    def searchMode(self, **overrides: Any) -> dict[str, Any]:
        """A search-mode directory object reading posixGroup ``memberUid``."""
        return {
            "name": "corp-search",
            "url": self.url,
            "mode": "search",
            "bindDn": f"cn=reader,{self.base}",
            "bindPassword": READER_PASSWORD,
            "userSearchBase": self.people,
            "userSearchFilter": "(&(objectClass=inetOrgPerson)(uid={user}))",
            "groupSearchBase": self.groups,
            "groupMemberAttribute": "memberUid",
            "groupRoles": {"ops-posix": ["operator", "field-user"], "special": ["special"]},
            "timeoutSeconds": 5,
            **overrides,
        }


@pytest.fixture(scope="module")
def tree(peekSlapd: SlapdTestServer) -> Tree:
    """This module's people and groups on the session's slapd."""
    base = peekSlapd.createSubtree()
    peekSlapd.add(_ldif(base))
    return Tree(peekSlapd.url, base)


def _config(tmp_path: Path, directories: list[Any]):
    """Logic's config with ``ldap.directories`` set, loaded as the service loads it."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    document = {"ldap": {"directories": directories}}
    (home / "config.json").write_text(json.dumps(document), encoding="utf-8")
    return loadServiceConfig(LOGIC, home)


def _settings(tmp_path: Path, directory: dict[str, Any]) -> LdapDirectorySettings:
    """One directory object validated by ``directoriesFromConfig``."""
    [settings] = directoriesFromConfig(_config(tmp_path, [directory]))
    return settings


def _directory(tmp_path: Path, directory: dict[str, Any]) -> LdapDirectory:
    return LdapDirectory(_settings(tmp_path, directory))


# --- logins ----------------------------------------------------------------------------


def test_bind_mode_user_gets_the_roles_of_mapped_groups(tree: Tree, tmp_path: Path) -> None:
    """A group mapped by CN (any case) or by DN (any spelling) gives its roles; no permissions."""
    directory = _directory(tmp_path, tree.bindMode())
    alice = directory.authenticate("alice", "alice-pw")
    assert (alice.userId, alice.userName, alice.roles) == (
        "ldap:corp:alice",
        "alice",
        frozenset({"operator"}),
    )
    assert alice.permissions == frozenset()
    assert directory.authenticate("bob", "bob-pw").roles == frozenset({"viewer"})
    # In an unmapped group only: logs in, with no roles (the caller grants nothing).
    assert directory.authenticate("carol", "carol-pw").roles == frozenset()


def test_search_mode_user_gets_the_roles_of_mapped_groups(tree: Tree, tmp_path: Path) -> None:
    """The search account finds the user's DN; memberUid groups give their roles."""
    directory = _directory(tmp_path, tree.searchMode())
    alice = directory.authenticate("alice", "alice-pw")
    assert alice.userId == "ldap:corp-search:alice"
    assert alice.roles == frozenset({"operator", "field-user"})
    assert alice.permissions == frozenset()
    assert directory.authenticate("bob", "bob-pw").roles == frozenset()


def test_user_id_is_the_same_however_the_name_is_typed(tree: Tree, tmp_path: Path) -> None:
    """Directories match names regardless of case; the id is lower case, the name as typed."""
    alice = _directory(tmp_path, tree.searchMode()).authenticate("ALICE", "alice-pw")
    assert (alice.userId, alice.userName) == ("ldap:corp-search:alice", "ALICE")


def test_search_mode_works_with_an_anonymous_search(tree: Tree, tmp_path: Path) -> None:
    """Without bindDn the search is anonymous; the user's own bind still checks the password."""
    config = tree.searchMode()
    del config["bindDn"], config["bindPassword"]
    directory = _directory(tmp_path, config)
    assert directory.authenticate("alice", "alice-pw").roles == {"operator", "field-user"}
    with pytest.raises(LoginRefused):
        directory.authenticate("alice", "wrong")


@pytest.mark.parametrize("mode", ["bind", "search"])
@pytest.mark.parametrize(
    ("user", "password"),
    [("alice", "wrong"), ("alice", "bob-pw"), ("nobody", "alice-pw"), ("", "alice-pw")],
)
def test_bad_credentials_are_refused(
    tree: Tree, tmp_path: Path, mode: str, user: str, password: str
) -> None:
    """A wrong password, another user's password or an unknown user: LoginRefused."""
    config = tree.bindMode() if mode == "bind" else tree.searchMode()
    with pytest.raises(LoginRefused, match=r"^wrong user name or password$"):
        _directory(tmp_path, config).authenticate(user, password)


@pytest.fixture(scope="module")
def permissiveSlapd() -> Iterator[SlapdTestServer]:
    """A slapd that takes a DN with an empty password as a successful anonymous bind."""
    server = SlapdTestServer(allowUnauthenticatedBind=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("mode", ["bind", "search"])
def test_an_empty_password_is_refused_even_where_the_server_would_accept_it(
    permissiveSlapd: SlapdTestServer, tmp_path: Path, mode: str
) -> None:
    """An unauthenticated bind "succeeds" on this server, yet the login is refused."""
    base = permissiveSlapd.createSubtree()
    permissiveSlapd.add(_ldif(base))
    tree = Tree(permissiveSlapd.url, base)
    directory = _directory(tmp_path, tree.bindMode() if mode == "bind" else tree.searchMode())
    assert directory.authenticate("alice", "alice-pw").roles  # the directory works
    with pytest.raises(LoginRefused):
        directory.authenticate("alice", "")


def test_an_empty_password_is_refused_without_asking_the_server(tmp_path: Path) -> None:
    """No server is contacted for an empty password: refused, not unavailable."""
    with heldTcpPort() as port:
        config = Tree(f"ldap://127.0.0.1:{port}", "dc=example,dc=org").bindMode()
        with pytest.raises(LoginRefused):
            _directory(tmp_path, config).authenticate("alice", "")


def test_dn_special_characters_in_the_user_name_are_escaped(tree: Tree, tmp_path: Path) -> None:
    """A user named 'smith, j+r' binds as uid=smith\\, j\\+r (and is found as a member)."""
    principal = _directory(tmp_path, tree.bindMode()).authenticate(COMMA_USER, "smith-pw")
    assert principal.roles == frozenset({"operator"})
    assert principal.userId == f"ldap:corp:{COMMA_USER}"


def test_filter_special_characters_in_the_user_name_are_escaped(tree: Tree, tmp_path: Path) -> None:
    """A user named 'o*brien(x)' is found by an exact filter (and as a memberUid)."""
    directory = _directory(tmp_path, tree.searchMode())
    assert directory.authenticate(STAR_USER, "obrien-pw").roles == frozenset({"special"})


@pytest.mark.parametrize("mode", ["bind", "search"])
@pytest.mark.parametrize(
    "user", ["*", "ali*", "*)(uid=*", "alice)(|(uid=*", "alice,ou=people", "alice\\"]
)
def test_filter_and_dn_injection_is_refused(
    tree: Tree, tmp_path: Path, mode: str, user: str
) -> None:
    """Wildcards and filter or DN syntax in a user name match nothing, even with a real
    password: 'ali*' unescaped would find alice and log in as her."""
    config = tree.bindMode() if mode == "bind" else tree.searchMode()
    with pytest.raises(LoginRefused):
        _directory(tmp_path, config).authenticate(user, "alice-pw")


# --- ldaps:// -------------------------------------------------------------------------


def _tlsServer(pki: TestPki) -> SlapdTestServer:
    server = SlapdTestServer(tlsCertPath=pki.serverCert, tlsKeyPath=pki.serverKey)
    server.start()
    return server


@pytest.fixture(scope="module")
def tlsTree(peekTestPki: TestPki) -> Iterator[Tree]:
    """This module's entries on a slapd that also serves ldaps:// (certificate for 127.0.0.1)."""
    server = _tlsServer(peekTestPki)
    try:
        base = server.createSubtree()
        server.add(_ldif(base))
        yield Tree(server.ldapsUrl, base)
    finally:
        server.stop()


def test_ldaps_logs_in_when_the_certificate_chains_to_tls_ca_path(
    tlsTree: Tree, tmp_path: Path, peekTestPki: TestPki
) -> None:
    """Over ldaps:// with the server's CA as tlsCaPath the login works as over ldap://."""
    config = tlsTree.searchMode(tlsCaPath=str(peekTestPki.caCert))
    alice = _directory(tmp_path, config).authenticate("alice", "alice-pw")
    assert alice.roles == frozenset({"operator", "field-user"})


@pytest.mark.parametrize("trusted", ["other CA", "system store"])
def test_ldaps_refuses_a_certificate_it_does_not_trust(
    tlsTree: Tree, tmp_path: Path, peekTestPki: TestPki, trusted: str
) -> None:
    """A certificate from a CA that is not trusted: unavailable, no password sent."""
    config = tlsTree.bindMode()
    if trusted == "other CA":
        config["tlsCaPath"] = str(peekTestPki.otherCaCert)
    with pytest.raises(DirectoryUnavailable, match="certificate verify failed"):
        _directory(tmp_path, config).authenticate("alice", "alice-pw")


def test_ldaps_refuses_a_certificate_for_another_host(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A certificate from the trusted CA but for another name: unavailable."""
    pki = makeTestPki(tmp_path_factory.mktemp("other-name-pki"), serverHosts=("peek.invalid",))
    server = _tlsServer(pki)
    try:
        config = Tree(server.ldapsUrl, SUFFIX).bindMode(tlsCaPath=str(pki.caCert))
        with pytest.raises(DirectoryUnavailable, match=r"not valid for '127\.0\.0\.1'"):
            _directory(tmp_path, config).authenticate("alice", "alice-pw")
    finally:
        server.stop()


# --- unreachable directories -----------------------------------------------------------


@pytest.mark.parametrize("mode", ["bind", "search"])
def test_a_directory_that_is_down_is_unavailable_quickly(tmp_path: Path, mode: str) -> None:
    """Nothing listens on the port: DirectoryUnavailable naming the directory and URL."""
    with heldTcpPort() as port:
        tree = Tree(f"ldap://127.0.0.1:{port}", "dc=example,dc=org")
        config = (
            tree.bindMode(timeoutSeconds=2) if mode == "bind" else tree.searchMode(timeoutSeconds=2)
        )
        directory = _directory(tmp_path, config)
        started = time.monotonic()
        with pytest.raises(DirectoryUnavailable) as raised:
            directory.authenticate("alice", "alice-pw")
        elapsed = time.monotonic() - started
    name = config["name"]
    assert str(raised.value).startswith(
        f"LDAP directory {name} at ldap://127.0.0.1:{port} is unreachable: "
    )
    assert "refused" in str(raised.value)
    assert elapsed < 2 + SLACK_SECONDS


@pytest.mark.parametrize(
    ("scheme", "mode"), [("ldap", "bind"), ("ldap", "search"), ("ldaps", "bind")]
)
def test_a_server_that_never_answers_is_unavailable_after_the_timeout(
    tmp_path: Path, scheme: str, mode: str
) -> None:
    """A socket that accepts connections and never replies (not even to a TLS handshake):
    unavailable, not a hang."""
    with heldTcpPort(listen=True) as port:
        tree = Tree(f"{scheme}://127.0.0.1:{port}", "dc=example,dc=org")
        config = (
            tree.bindMode(timeoutSeconds=1) if mode == "bind" else tree.searchMode(timeoutSeconds=1)
        )
        directory = _directory(tmp_path, config)
        started = time.monotonic()
        with pytest.raises(DirectoryUnavailable, match=r"is unreachable: no answer within 1 s"):
            directory.authenticate("alice", "alice-pw")
        elapsed = time.monotonic() - started
    assert elapsed < 1 + SLACK_SECONDS


def test_a_refused_search_account_is_a_directory_fault_without_its_password(
    tree: Tree, tmp_path: Path
) -> None:
    """A wrong bindPassword is the directory's problem (unavailable), not the user's."""
    directory = _directory(tmp_path, tree.searchMode(bindPassword="not-the-password"))
    with pytest.raises(DirectoryUnavailable, match="search account cn=reader") as raised:
        directory.authenticate("alice", "alice-pw")
    assert "not-the-password" not in str(raised.value)


# --- configuration ---------------------------------------------------------------------


def test_the_config_key_is_a_list_of_objects_for_logic_only() -> None:
    """``ldap.directories`` is declared for logic, empty by default."""
    key = configKeyByPath("ldap.directories")
    assert (key.typeName, key.default, key.services, key.secret) == (
        "list of objects",
        [],
        frozenset({"logic"}),
        False,
    )


def test_no_directories_by_default(tmp_path: Path) -> None:
    """A config without the key has no directories."""
    home = tmp_path / "home"
    assert directoriesFromConfig(loadServiceConfig(LOGIC, home)) == []


def test_optional_fields_have_their_defaults(tmp_path: Path) -> None:
    """Sites default to all three, the timeout to 5 s, the member attribute to member."""
    settings = _settings(
        tmp_path,
        {
            "name": "d",
            "url": "ldap://ldap.example.org",
            "mode": "bind",
            "userDnTemplate": "uid={user},dc=example,dc=org",
        },
    )
    assert settings.sites == frozenset({"admin", "field", "office"})
    assert (settings.timeoutSeconds, settings.groupMemberAttribute) == (5.0, "member")
    assert (settings.groupSearchBase, dict(settings.groupRoles)) == ("", {})


def test_a_relative_tls_ca_path_is_relative_to_the_home(tmp_path: Path) -> None:
    """tlsCaPath is found in the service's home; only for ldaps://."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "ca.pem").write_text("x", encoding="utf-8")
    settings = _settings(
        tmp_path,
        {
            "name": "d",
            "url": "ldaps://ldap.example.org",
            "mode": "bind",
            "userDnTemplate": "uid={user},dc=example,dc=org",
            "tlsCaPath": "ca.pem",
        },
    )
    assert settings.tlsCaPath == str(home / "ca.pem")
    assert settings.useTls


_BIND = {"name": "d", "url": "ldap://h", "mode": "bind", "userDnTemplate": "uid={user},dc=x"}
_SEARCH = {
    "name": "d",
    "url": "ldap://h",
    "mode": "search",
    "bindDn": "cn=reader,dc=x",
    "bindPassword": READER_PASSWORD,
    "userSearchBase": "ou=people,dc=x",
    "userSearchFilter": "(uid={user})",
}


def _without(directory: dict[str, Any], field: str) -> dict[str, Any]:
    return {name: value for name, value in directory.items() if name != field}


@pytest.mark.parametrize(
    ("directory", "message"),
    [
        ({**_BIND, "bindPasword": "x"}, r"\.bindPasword: unknown field; the fields are name"),
        (_without(_BIND, "name"), r"\.name: is required"),
        ({**_BIND, "name": "a:b"}, r"\.name: must be letters, digits"),
        ({**_BIND, "url": "http://h"}, r"\.url: must start with ldap:// or ldaps://"),
        ({**_BIND, "url": "ldap://"}, r"\.url: has no host name"),
        ({**_BIND, "url": "ldap://h/dc=x?uid"}, r"\.url: must be only ldap\[s\]://host"),
        ({**_BIND, "url": "ldap://h:99999"}, r"\.url: Port out of range"),
        ({**_BIND, "url": 389}, r"\.url: expected a string, got an integer \(389\)"),
        ({**_BIND, "sites": ["admin", "kiosk"]}, r"\.sites: 'kiosk' is not one of admin"),
        ({**_BIND, "sites": []}, r"\.sites: expected a non-empty list"),
        (_without(_BIND, "mode"), r"\.mode: is required \(bind or search\)"),
        ({**_BIND, "mode": "sasl"}, r"\.mode: must be one of bind, search, got 'sasl'"),
        (_without(_BIND, "userDnTemplate"), r"\.userDnTemplate: is required"),
        ({**_BIND, "userDnTemplate": "uid=x,dc=x"}, r"\.userDnTemplate: must contain \{user\}"),
        ({**_BIND, "userDnTemplate": "{user}"}, r"\.userDnTemplate: is not a valid DN"),
        ({**_BIND, "bindDn": "cn=r,dc=x"}, r"\.bindDn: is not used in bind mode"),
        ({**_SEARCH, "userDnTemplate": "uid={user}"}, r"\.userDnTemplate: is not used in search"),
        (_without(_SEARCH, "bindPassword"), r"\.bindPassword: is required with bindDn"),
        (_without(_SEARCH, "bindDn"), r"\.bindPassword: is set but bindDn is not"),
        ({**_SEARCH, "bindDn": "reader"}, r"\.bindDn: is not a valid DN"),
        (_without(_SEARCH, "userSearchBase"), r"\.userSearchBase: is required"),
        ({**_SEARCH, "userSearchFilter": "(uid=alice)"}, r"\.userSearchFilter: must contain"),
        ({**_SEARCH, "userSearchFilter": "uid={user}"}, r"\.userSearchFilter: must be one paren"),
        ({**_SEARCH, "userSearchFilter": "(uid={user}))("}, r"\.userSearchFilter: must be one"),
        ({**_BIND, "groupRoles": {"ops": ["op"]}}, r"\.groupSearchBase: is required when"),
        (
            {**_BIND, "groupSearchBase": "dc=x", "groupRoles": {"ops": "op"}},
            r"\.groupRoles\['ops'\]: expected a list of role names",
        ),
        (
            {**_BIND, "groupSearchBase": "dc=x", "groupRoles": {"cn=,=x": ["op"]}},
            r"\.groupRoles\['cn=,=x'\]: is not a valid group DN",
        ),
        ({**_BIND, "groupMemberAttribute": "member)(x"}, r"\.groupMemberAttribute: must be an"),
        ({**_BIND, "timeoutSeconds": 0}, r"\.timeoutSeconds: must be greater than 0"),
        ({**_BIND, "timeoutSeconds": "5"}, r"\.timeoutSeconds: expected a number, got a string"),
        ({**_BIND, "timeoutSeconds": True}, r"\.timeoutSeconds: expected a number, got a bool"),
        ({**_BIND, "tlsCaPath": "ca.pem"}, r"\.tlsCaPath: is only used with an ldaps:// url"),
        ({**_BIND, "url": "ldaps://h", "tlsCaPath": "ca.pem"}, r"\.tlsCaPath: no such file: "),
    ],
)
def test_config_errors_name_the_field_and_the_file(
    tmp_path: Path, directory: Any, message: str
) -> None:
    """Each mistake is a ConfigError for config.json naming ldap.directories[i].field."""
    config = _config(tmp_path, [directory])
    with pytest.raises(ConfigError, match=r"ldap\.directories\[0\]" + message) as raised:
        directoriesFromConfig(config)
    assert raised.value.path == config.path
    assert str(raised.value).startswith(f"{config.path}: ldap.directories[0]")
    assert READER_PASSWORD not in str(raised.value)


def test_directory_names_are_unique(tmp_path: Path) -> None:
    """A second directory of the same name is an error naming its index."""
    config = _config(tmp_path, [_BIND, {**_SEARCH, "name": "d"}])
    with pytest.raises(ConfigError, match=r"ldap\.directories\[1\]\.name: 'd' is already"):
        directoriesFromConfig(config)


def test_a_mistyped_bind_password_is_not_echoed(tmp_path: Path) -> None:
    """A bindPassword of the wrong type is reported without its value."""
    config = _config(tmp_path, [{**_SEARCH, "bindPassword": 987654321}])
    with pytest.raises(ConfigError, match=r"\.bindPassword: expected a string") as raised:
        directoriesFromConfig(config)
    assert "987654321" not in str(raised.value)


def test_the_key_must_be_a_list_of_objects(tmp_path: Path) -> None:
    """The loader itself rejects a key that is not a list of objects, at its location."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text('{"ldap": {"directories": {"name": "d"}}}')
    with pytest.raises(ConfigError, match=r"ldap\.directories: expected a list of objects"):
        loadServiceConfig(LOGIC, home)
    (home / "config.json").write_text('{"ldap": {"directories": [\n  "d"]}}')
    with pytest.raises(ConfigError, match=r":2:3: ldap\.directories: item 0: expected an object"):
        loadServiceConfig(LOGIC, home)


# --- the bind password stays secret ----------------------------------------------------


def test_bind_password_is_masked_in_reprs(tree: Tree, tmp_path: Path) -> None:
    """Settings and the directory show that a password is set, never which."""
    settings = _settings(tmp_path, tree.searchMode())
    assert settings.bindPassword == READER_PASSWORD
    for text in (repr(settings), str(settings), repr(LdapDirectory(settings))):
        assert READER_PASSWORD not in text
        assert f"bindPassword={MASK!r}" in text
        assert f"bindDn='cn=reader,{tree.base}'" in text
    unset = _settings(tmp_path, _without(_without(_SEARCH, "bindDn"), "bindPassword"))
    assert "bindPassword=''" in repr(unset)


def test_bind_password_is_masked_in_the_admin_config_view(tmp_path: Path) -> None:
    """The Config page shows the directories with bindPassword hidden, the rest as set."""
    anonymous = {**_without(_without(_SEARCH, "bindDn"), "bindPassword"), "name": "anon"}
    config = _config(tmp_path, [_SEARCH, anonymous, {**_BIND, "name": "b"}])
    entries = {entry.key: entry for entry in configTuple(config).entries}
    entry = entries["ldap.directories"]
    assert (entry.secret, entry.isSet) == (False, True)
    withAccount, withoutAccount, bindMode = entry.value
    assert withAccount == {**_SEARCH, "bindPassword": MASKED}
    assert withoutAccount == anonymous
    assert bindMode == {**_BIND, "name": "b"}
    assert READER_PASSWORD not in repr([vars(e) for e in entries.values()])
    # The stored config itself is untouched.
    assert config["ldap.directories"][0]["bindPassword"] == READER_PASSWORD


def test_a_missing_search_base_is_a_directory_fault(tree: Tree, tmp_path: Path) -> None:
    """A userSearchBase that does not exist is not "no such user" for everyone."""
    directory = _directory(tmp_path, tree.searchMode(userSearchBase=f"ou=gone,{tree.base}"))
    with pytest.raises(DirectoryUnavailable, match=r"searching ou=gone,.* noSuchObject"):
        directory.authenticate("alice", "alice-pw")


# --- behind the authenticator ----------------------------------------------------------


class _NoRecovery:
    user = "admin"

    def matches(self, user: str, password: str) -> bool:
        return False


class _NoLocalUsers:
    """No local users; each role grants ``<role>.use``."""

    def hasUser(self, name: str) -> bool:
        return False

    def authenticate(self, name: str, password: str) -> Principal:
        raise AssertionError("no local user exists")

    def permissionsOfRoles(self, roles: Iterable[str]) -> frozenset[str]:
        return frozenset(f"{role}.use" for role in roles)


def test_the_authenticator_grants_the_permissions_of_the_directory_roles(
    tree: Tree, tmp_path: Path
) -> None:
    """Through the Authenticator a directory user holds their roles' permissions, on the
    directory's sites only."""
    directory = _directory(tmp_path, tree.searchMode(sites=["field"]))
    authenticator = Authenticator(
        _NoRecovery(), _NoLocalUsers(), [directory], allPermissions=frozenset
    )
    alice = authenticator.authenticate("alice", "alice-pw", "field")
    assert alice.permissions == frozenset({"operator.use", "field-user.use"})
    with pytest.raises(LoginRefused):
        authenticator.authenticate("alice", "alice-pw", "office")

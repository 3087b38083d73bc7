"""``peek user`` and ``peek role``: the installed console command against a logic home.

Every test runs the real ``peek`` script in a subprocess, on a logic home using the embedded
SQLite database and on one using PostgreSQL (``sqlalchemy.connectUrl``). Passwords go in
through stdin (piped, or a pseudo-terminal), never through argv.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from peek_platform.identity.principal import LoginRefused
from peek_platform.identity.store import IdentityStore
from peek_platform.storage.platform_schema import (
    PLATFORM_ALEMBIC_DIR,
    platformMetadata,
    userTable,
)
from peek_plugin_base.storage.DbConnection import DbConnection

#: The installed ``peek`` console script of the interpreter running the tests.
PEEK = Path(sys.executable).parent / "peek"

PASSWORD = "Tr0ub4dor&3-secret"
NEW_PASSWORD = "correct-horse-battery"

#: A plugin declaring two permissions, enabled on logic.
PLUGIN = "peek_plugin_permcli"
PLUGIN_PACKAGE = {
    "plugin": {"title": "Permissions", "packageName": PLUGIN, "version": "1.0.0"},
    "requiresServices": ["logic"],
    "permissions": [
        {"name": f"{PLUGIN}.edit", "description": "Change items"},
        {"name": f"{PLUGIN}.view", "description": "See items"},
    ],
}

# Runs ARGV on a pseudo-terminal, answering each password prompt with one line of stdin.
PTY_DRIVER = r"""
import os, pty, select, sys, time
answers = sys.stdin.read().splitlines()
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
output = b""
deadline = time.monotonic() + 60
def readSome():
    global output
    ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
    if not ready:
        raise SystemExit("timed out; output so far: %r" % output)
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        chunk = b""
    output += chunk
    return chunk
for prompt, answer in zip([b"New password", b"Repeat the password"], answers):
    while prompt not in output:
        if not readSome():
            break
    os.write(fd, answer.encode() + b"\n")
while readSome():
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.write(output.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"""


@dataclass
class LogicHome:
    """A logic home and how the tests reach it and its database."""

    home: Path
    url: str
    env: dict[str, str]
    #: Every argv the tests ran, to check no password was ever on a command line.
    argvs: list[list[str]] = field(default_factory=list)

    def peek(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``peek ARGS --home HOME`` with ``stdin`` piped in (empty when None)."""
        argv = [str(PEEK), *args, "--home", str(self.home)]
        self.argvs.append(argv)
        return subprocess.run(
            argv,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            check=False,
        )

    def peekOnTerminal(self, *args: str, answers: list[str]) -> subprocess.CompletedProcess[str]:
        """Run ``peek ARGS`` on a pseudo-terminal, typing ``answers`` at its prompts."""
        argv = [str(PEEK), *args, "--home", str(self.home)]
        self.argvs.append(argv)
        return subprocess.run(
            [sys.executable, "-c", PTY_DRIVER, *argv],
            input="\n".join(answers) + "\n",
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            check=False,
        )

    @contextlib.contextmanager
    def store(self) -> Iterator[IdentityStore]:
        """The identity store of this home's database, for checking what the command did."""
        db = DbConnection(self.url, platformMetadata, str(PLATFORM_ALEMBIC_DIR))
        try:
            yield IdentityStore(db.dbEngine, hasher=PasswordHasher())
        finally:
            db.dispose()

    def storedHashes(self) -> list[str]:
        """Every password hash in the user table."""
        db = DbConnection(self.url, platformMetadata, str(PLATFORM_ALEMBIC_DIR))
        try:
            with db.dbEngine.connect() as conn:
                return list(conn.execute(sa.select(userTable.c.password_hash)).scalars())
        finally:
            db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def logic(request: pytest.FixtureRequest, tmp_path: Path) -> LogicHome:
    """A logic home enabling a plugin that declares permissions, on SQLite or PostgreSQL."""
    plugins = tmp_path / "plugins"
    (plugins / PLUGIN).mkdir(parents=True)
    (plugins / PLUGIN / "__init__.py").write_text('"""Declares permissions."""\n')
    (plugins / PLUGIN / "plugin_package.json").write_text(json.dumps(PLUGIN_PACKAGE))
    home = tmp_path / "peek-logic-service.home"
    home.mkdir()
    config: dict = {"plugin": {"enabled": [PLUGIN]}}
    if request.param == "sqlite":
        url = f"sqlite:///{home / 'peek.sqlite'}"
    else:
        url = request.getfixturevalue("peekPostgresUrl")
        config["sqlalchemy"] = {"connectUrl": url}
    (home / "config.json").write_text(json.dumps(config))
    env = {key: value for key, value in os.environ.items() if key != "PEEK_HOME_ROOT"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugins), env.get("PYTHONPATH")]))
    env["HOME"] = str(tmp_path)
    return LogicHome(home, url, env)


def authenticate(logic: LogicHome, name: str, password: str) -> bool:
    """True when ``name`` logs in with ``password`` on the home's database."""
    with logic.store() as store:
        try:
            store.authenticate(name, password)
        except LoginRefused:
            return False
        return True


def assertSecretNowhere(logic: LogicHome, *results: subprocess.CompletedProcess[str]) -> None:
    """No password is in any argv, any output, or in the user table."""
    for secret in (PASSWORD, NEW_PASSWORD):
        for argv in logic.argvs:
            assert not any(secret in arg for arg in argv), argv
        for result in results:
            assert secret not in result.stdout and secret not in result.stderr
        for stored in logic.storedHashes():
            assert stored is None or (stored.startswith("$argon2id$") and secret not in stored)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """Assert exit status 0 and nothing on stderr."""
    assert (result.returncode, result.stderr) == (0, ""), result
    return result


def test_add_list_and_login(logic: LogicHome) -> None:
    """role set + user add (password piped) make a user that logs in with its roles; list
    shows it as a table and as JSON; the password appears in no argv, output or table."""
    setRole = ok(logic.peek("role", "set", "admins", "admin", "--description", "Admins"))
    assert setRole.stdout == "role admins grants admin\n"
    added = ok(logic.peek("user", "add", "alice", "--role", "admins", stdin=PASSWORD + "\n"))
    assert added.stdout == "added user alice with roles admins\n"
    ok(logic.peek("user", "add", "bob", stdin=NEW_PASSWORD))

    table = ok(logic.peek("user", "list"))
    assert table.stdout.splitlines() == [
        "NAME   ENABLED  ROLES",
        "alice  yes      admins",
        "bob    yes      -",
    ]
    listed = json.loads(ok(logic.peek("user", "list", "--json")).stdout)
    assert [(u["name"], u["enabled"], u["roles"]) for u in listed] == [
        ("alice", True, ["admins"]),
        ("bob", True, []),
    ]
    assert all(u["hasPassword"] and u["created"] for u in listed)

    assert authenticate(logic, "alice", PASSWORD)
    assert authenticate(logic, "bob", NEW_PASSWORD)
    with logic.store() as store:
        assert store.authenticate("alice", PASSWORD).permissions == frozenset({"admin"})
    assertSecretNowhere(logic, setRole, added, table)


def test_disable_and_enable(logic: LogicHome) -> None:
    """disable stops a user's logins and list shows it; enable lets it log in again."""
    ok(logic.peek("user", "add", "alice", stdin=PASSWORD + "\n"))
    assert ok(logic.peek("user", "disable", "alice")).stdout.startswith("user alice disabled")
    assert "alice  no" in ok(logic.peek("user", "list")).stdout
    assert not authenticate(logic, "alice", PASSWORD)
    assert ok(logic.peek("user", "enable", "alice")).stdout == "user alice enabled\n"
    assert authenticate(logic, "alice", PASSWORD)


def test_passwd_from_stdin(logic: LogicHome) -> None:
    """passwd reads one stdin line: the new password logs in, the old one no longer does."""
    ok(logic.peek("user", "add", "alice", stdin=PASSWORD + "\n"))
    changed = ok(logic.peek("user", "passwd", "alice", stdin=NEW_PASSWORD + "\r\nignored\n"))
    assert changed.stdout == "password of user alice changed\n"
    assert authenticate(logic, "alice", NEW_PASSWORD)
    assert not authenticate(logic, "alice", PASSWORD)
    assertSecretNowhere(logic, changed)


def test_passwd_on_a_terminal_asks_twice(logic: LogicHome) -> None:
    """On a terminal passwd asks twice without echo; matching entries set the password."""
    ok(logic.peek("user", "add", "alice", stdin=PASSWORD + "\n"))
    result = logic.peekOnTerminal("user", "passwd", "alice", answers=[NEW_PASSWORD] * 2)
    assert result.returncode == 0, result
    assert "New password for alice:" in result.stdout
    assert "Repeat the password:" in result.stdout
    assert "password of user alice changed" in result.stdout
    assert authenticate(logic, "alice", NEW_PASSWORD)
    assertSecretNowhere(logic, result)


def test_terminal_entries_that_differ_exit_two(logic: LogicHome) -> None:
    """Two different entries on a terminal exit 2 saying so, and nothing changes."""
    ok(logic.peek("user", "add", "alice", stdin=PASSWORD + "\n"))
    result = logic.peekOnTerminal("user", "passwd", "alice", answers=[NEW_PASSWORD, "other-pass"])
    assert result.returncode == 2, result
    assert "the two passwords differ; nothing was changed" in result.stdout
    assert authenticate(logic, "alice", PASSWORD)
    assertSecretNowhere(logic, result)


def test_short_or_missing_password_exits_two(logic: LogicHome) -> None:
    """A too-short password, or none on stdin, exits 2 with the reason; no user is added
    and an existing password is kept."""
    short = logic.peek("user", "add", "alice", stdin="short\n")
    assert short.returncode == 2
    assert "password too short: it has 5 characters, at least 8 are required" in short.stderr
    empty = logic.peek("user", "add", "alice", stdin="")
    assert empty.returncode == 2
    assert "no password given: stdin is not a terminal and is empty" in empty.stderr
    assert ok(logic.peek("user", "list")).stdout.startswith("No users yet")

    ok(logic.peek("user", "add", "alice", stdin=PASSWORD + "\n"))
    refused = logic.peek("user", "passwd", "alice", stdin="1234567\n")
    assert refused.returncode == 2
    assert "too short" in refused.stderr
    assert authenticate(logic, "alice", PASSWORD)


def test_roles_are_set_exactly(logic: LogicHome) -> None:
    """user roles NAME ROLE... makes those exactly the user's roles; no ROLE clears them."""
    ok(logic.peek("role", "set", "admins", "admin"))
    ok(logic.peek("role", "set", "editors", f"{PLUGIN}.edit", f"{PLUGIN}.view"))
    ok(logic.peek("user", "add", "alice", "--role", "admins", stdin=PASSWORD + "\n"))
    result = ok(logic.peek("user", "roles", "alice", "editors", "admins"))
    assert result.stdout == "user alice now holds roles admins, editors\n"
    with logic.store() as store:
        principal = store.authenticate("alice", PASSWORD)
        assert principal.permissions == {"admin", f"{PLUGIN}.edit", f"{PLUGIN}.view"}
    assert ok(logic.peek("user", "roles", "alice")).stdout == (
        "user alice now holds roles (none)\n"
    )
    assert "alice  yes      -" in ok(logic.peek("user", "list")).stdout


def test_unknown_role_exits_two_naming_known_roles(logic: LogicHome) -> None:
    """An unknown role for add or roles exits 2 naming it and the known roles; the
    password is not even asked for by add."""
    ok(logic.peek("role", "set", "admins", "admin"))
    added = logic.peek("user", "add", "alice", "--role", "ghosts", stdin=PASSWORD + "\n")
    assert added.returncode == 2
    assert added.stderr == "peek: error: unknown role 'ghosts'; known roles: admins\n"
    ok(logic.peek("user", "add", "alice", stdin=PASSWORD + "\n"))
    roles = logic.peek("user", "roles", "alice", "ghosts")
    assert roles.returncode == 2
    assert "unknown role 'ghosts'; known roles: admins" in roles.stderr


def test_unknown_user_and_bad_name_exit_two(logic: LogicHome) -> None:
    """Changing a user that does not exist, or adding a bad name, exits 2 saying which."""
    for args in (("disable", "ghost"), ("enable", "ghost"), ("roles", "ghost")):
        result = logic.peek("user", *args)
        assert (result.returncode, result.stderr) == (
            2,
            "peek: error: no user is named 'ghost'\n",
        )
    passwd = logic.peek("user", "passwd", "ghost", stdin=PASSWORD + "\n")
    assert passwd.returncode == 2 and "no user is named 'ghost'" in passwd.stderr
    bad = logic.peek("user", "add", "two words", stdin=PASSWORD + "\n")
    assert bad.returncode == 2
    assert "user name 'two words' must not contain whitespace" in bad.stderr
    ok(logic.peek("user", "add", "alice", stdin=PASSWORD + "\n"))
    again = logic.peek("user", "add", "alice", stdin=PASSWORD + "\n")
    assert again.returncode == 2 and "user 'alice' exists already" in again.stderr


def test_role_set_list_and_delete(logic: LogicHome) -> None:
    """role set accepts the platform's and the enabled plugin's permissions, replaces them
    on a second set, list shows them and delete takes the role from its holders."""
    ok(logic.peek("role", "set", "editors", f"{PLUGIN}.edit", "--description", "Edit stuff"))
    ok(logic.peek("role", "set", "editors", f"{PLUGIN}.view", f"{PLUGIN}.edit"))
    ok(logic.peek("role", "set", "admins", "admin"))
    granted = f"{PLUGIN}.edit,{PLUGIN}.view"
    assert ok(logic.peek("role", "list")).stdout.splitlines() == [
        f"NAME     {'PERMISSIONS'.ljust(len(granted))}  DESCRIPTION",
        f"admins   {'admin'.ljust(len(granted))}  -",
        f"editors  {granted}  Edit stuff",
    ]
    listed = json.loads(ok(logic.peek("role", "list", "--json")).stdout)
    assert listed[1] == {
        "name": "editors",
        "description": "Edit stuff",
        "permissions": [f"{PLUGIN}.edit", f"{PLUGIN}.view"],
    }
    ok(logic.peek("user", "add", "alice", "--role", "editors", stdin=PASSWORD + "\n"))
    deleted = ok(logic.peek("role", "delete", "editors"))
    assert deleted.stdout == "deleted role editors; taken from users alice\n"
    assert "alice  yes      -" in ok(logic.peek("user", "list")).stdout
    missing = logic.peek("role", "delete", "editors")
    assert missing.returncode == 2 and "unknown role 'editors'" in missing.stderr


def test_unknown_permission_exits_two_naming_known_ones(logic: LogicHome) -> None:
    """A permission neither the platform nor an enabled plugin declares exits 2, listing
    the known ones; no role is created."""
    result = logic.peek("role", "set", "ops", "admin", f"{PLUGIN}.delete")
    assert result.returncode == 2
    assert f"unknown permission '{PLUGIN}.delete'" in result.stderr
    assert f"admin, {PLUGIN}.edit, {PLUGIN}.view" in result.stderr
    assert ok(logic.peek("role", "list")).stdout.startswith("No roles yet")


def test_every_subcommand_has_help(peek, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each subcommand's --help (in-process, the same parser) exits 0, names its arguments
    and says passwords are never taken from the command line where one is asked for."""
    monkeypatch.setenv("COLUMNS", "200")
    for command, words in [
        (("user",), ["add", "list", "disable", "enable", "passwd", "roles"]),
        (("user", "add"), ["NAME", "--role", "--home", "never taken from the command line"]),
        (("user", "list"), ["--json", "--home"]),
        (("user", "disable"), ["NAME"]),
        (("user", "enable"), ["NAME"]),
        (("user", "passwd"), ["NAME", "asked twice"]),
        (("user", "roles"), ["NAME", "ROLE"]),
        (("role",), ["set", "list", "delete"]),
        (("role", "set"), ["NAME", "PERMISSION", "--description"]),
        (("role", "list"), ["--json"]),
        (("role", "delete"), ["NAME"]),
    ]:
        code, out, _ = peek(*command, "--help")
        assert code == 0, command
        assert out.startswith(f"usage: peek {' '.join(command)} ")
        for word in words:
            assert word in out, (command, word)


def test_missing_home_exits_two_creating_nothing(tmp_path: Path) -> None:
    """A --home that does not exist exits 2 naming it, and no database is created there."""
    missing = tmp_path / "typo.home"
    result = subprocess.run(
        [str(PEEK), "user", "list", "--home", str(missing)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert f"the logic home {missing} does not exist" in result.stderr
    assert not missing.exists()


def test_fresh_home_is_migrated(tmp_path: Path) -> None:
    """On an empty logic home (no config.json, no database) the first command creates the
    embedded database with the platform schema at head."""
    home = tmp_path / "peek-logic-service.home"
    home.mkdir()
    result = ok(LogicHome(home, "", dict(os.environ)).peek("role", "list"))
    assert result.stdout.startswith("No roles yet")
    db = DbConnection(
        f"sqlite:///{home / 'peek.sqlite'}", platformMetadata, str(PLATFORM_ALEMBIC_DIR)
    )
    try:
        assert db.currentRevisions() == db.headRevisions()
    finally:
        db.dispose()

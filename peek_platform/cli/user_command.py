"""``peek user``: add, list, enable, disable local users, set their password and roles.

The users live in the platform schema of the logic service's database, found from logic's
``config.json`` like ``peek db`` does; the schema is migrated to its newest revision first,
so the command works on a fresh installation. Passwords are never taken from the command
line: they are asked twice on a terminal, or read as one line from a piped stdin.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from peek_platform.cli.base import EXIT_OK, CommandFailed, UsageError, setHandler
from peek_platform.config import ConfigError, ServiceConfig, loadServiceConfig
from peek_platform.identity.passwords import MIN_PASSWORD_LENGTH, checkPasswordPolicy
from peek_platform.identity.permissions import IdentityError, Permission
from peek_platform.identity.store import (
    IdentityStore,
    UnknownUserError,
    UserExistsError,
    UserRecord,
    checkName,
)
from peek_platform.services import LOGIC
from peek_platform.storage.db_config import dbSettingsFromConfig
from peek_platform.storage.platform_schema import (
    PLATFORM_ALEMBIC_DIR,
    PLATFORM_SCHEMA,
    platformMetadata,
)
from peek_plugin_base.storage.DbConnection import DbConnection, MigrationError

#: Help of the ``--home`` option shared by ``peek user`` and ``peek role``.
HOME_HELP = (
    "the logic service's home, which must exist; its config.json's sqlalchemy.connectUrl "
    "names the database, empty for peek.sqlite in the home (default: "
    "$PEEK_HOME_ROOT/peek-logic-service.home, else ~/peek-logic-service.home)"
)

#: How ``--help`` describes where a password comes from.
PASSWORD_SOURCE_HELP = (
    "The password is never taken from the command line: on a terminal it is asked twice "
    "(both entries must match); otherwise the first line of stdin is the password (a pipe "
    f"or a file). It must have at least {MIN_PASSWORD_LENGTH} characters."
)

#: The exit status sentence of every ``peek user``/``peek role`` subcommand.
EXIT_STATUS_HELP = (
    "Exit status: 0 on success; 2 for a bad name, unknown user, role or permission, an "
    "unacceptable password or an invalid config; 1 when the database fails."
)

_TABLE_HEADER = ("NAME", "ENABLED", "ROLES")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``peek user`` and its subcommands."""
    userParser = subparsers.add_parser(
        "user",
        help="add and change the platform's local users",
        description="Manage the local users of the platform, kept in the logic service's "
        f"database (schema {PLATFORM_SCHEMA}). A user logs in with a name and password and "
        "holds roles; roles grant permissions (see 'peek role').",
    )
    commands = userParser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    def addCommand(name: str, helpText: str, description: str) -> argparse.ArgumentParser:
        parser = commands.add_parser(
            name, help=helpText, description=f"{description} {EXIT_STATUS_HELP}"
        )
        addHomeOption(parser)
        return parser

    add = addCommand(
        "add",
        "add a user, asking for its password",
        "Add an enabled user NAME with the given roles. " + PASSWORD_SOURCE_HELP,
    )
    add.add_argument("name", metavar="NAME", help=NAME_HELP)
    add.add_argument(
        "--role",
        metavar="ROLE",
        dest="roles",
        action="append",
        default=[],
        help="a role the user holds (repeat for several); it must exist ('peek role set')",
    )
    setHandler(add, addUser)

    listParser = addCommand(
        "list",
        "list the users with their roles",
        "List every local user: name, whether it is enabled and its roles.",
    )
    listParser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON array of objects (name, enabled, roles, created, hasPassword) "
        "instead of a table",
    )
    setHandler(listParser, listUsers)

    disable = addCommand(
        "disable",
        "stop a user from logging in",
        "Disable user NAME: its logins are refused until it is enabled again. Its password "
        "and roles are kept.",
    )
    disable.add_argument("name", metavar="NAME", help="the user to disable")
    setHandler(disable, disableUser)

    enable = addCommand("enable", "let a disabled user log in again", "Enable user NAME again.")
    enable.add_argument("name", metavar="NAME", help="the user to enable")
    setHandler(enable, enableUser)

    passwd = addCommand(
        "passwd",
        "set a user's password",
        "Set a new password for user NAME. " + PASSWORD_SOURCE_HELP,
    )
    passwd.add_argument("name", metavar="NAME", help="the user whose password to set")
    setHandler(passwd, setPassword)

    roles = addCommand(
        "roles",
        "set exactly which roles a user holds",
        "Make the given ROLEs exactly the roles user NAME holds, replacing the ones it has; "
        "with no ROLE the user holds no role.",
    )
    roles.add_argument("name", metavar="NAME", help="the user whose roles to set")
    roles.add_argument(
        "roles",
        metavar="ROLE",
        nargs="*",
        help="a role the user holds from now on; each must exist ('peek role list')",
    )
    setHandler(roles, setRoles)


#: Help of a new user's NAME.
NAME_HELP = "the user's login name: 1 to 64 characters, no whitespace or control characters"


def addHomeOption(parser: argparse.ArgumentParser) -> None:
    """Add the ``--home DIR`` option naming the logic service's home."""
    parser.add_argument("--home", metavar="DIR", type=Path, default=None, help=HOME_HELP)


def loadLogicConfig(home: Path | None) -> tuple[ServiceConfig, Path]:
    """Logic's config (not written back) and its resolved home; ``UsageError`` if invalid."""
    home = (home or LOGIC.defaultHome()).expanduser().resolve()
    try:
        return loadServiceConfig(LOGIC, home, writeBack=False), home
    except ConfigError as e:
        raise UsageError(str(e)) from e


@contextlib.contextmanager
def openIdentityStore(
    home: Path | None, *, knownPermissions: Mapping[str, Permission] | None = None
) -> Iterator[IdentityStore]:
    """The identity store of logic's database, its platform schema migrated to head.

    An ``IdentityError`` inside becomes a ``UsageError`` (exit 2); a failed migration or
    database error a ``CommandFailed`` (exit 1).
    """
    config, home = loadLogicConfig(home)
    if not home.is_dir():
        # Never create a database, with users in it, in a mistyped directory.
        raise UsageError(
            f"the logic home {home} does not exist; give the right --home, or create the "
            "directory (or start the logic service once) for a new installation"
        )
    url, engineArgs = dbSettingsFromConfig(config, LOGIC, home)
    db = DbConnection(
        url, platformMetadata, str(PLATFORM_ALEMBIC_DIR), engineArgs, enableCreateAll=False
    )
    try:
        try:
            db.migrate()
        except MigrationError as e:
            raise CommandFailed(f"{PLATFORM_SCHEMA}: {e}") from e
        yield IdentityStore(db.dbEngine, knownPermissions=knownPermissions)
    except IdentityError as e:
        raise UsageError(str(e)) from e
    except SQLAlchemyError as e:
        raise CommandFailed(f"database error: {type(e).__name__}: {e}") from e
    finally:
        db.dispose()


def readNewPassword(userName: str) -> str:
    """A new password for ``userName``: asked twice on a terminal, else one stdin line.

    Raises ``UsageError`` when the two entries differ, stdin gives no line, or the password
    breaks the policy (too short or too long).
    """
    if sys.stdin is not None and sys.stdin.isatty():
        try:
            password = getpass.getpass(f"New password for {userName}: ")
            repeated = getpass.getpass("Repeat the password: ")
        except (EOFError, KeyboardInterrupt):
            raise UsageError("no password entered; nothing was changed") from None
        if repeated != password:
            raise UsageError("the two passwords differ; nothing was changed")
    else:
        line = sys.stdin.readline() if sys.stdin is not None else ""
        if not line:
            raise UsageError(
                "no password given: stdin is not a terminal and is empty; pipe the password "
                "as one line, or run the command on a terminal to be asked for it"
            )
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
    try:
        checkPasswordPolicy(password)
    except IdentityError as e:
        raise UsageError(f"{e}; nothing was changed") from e
    return password


def _rolesText(roles: Sequence[str]) -> str:
    return ", ".join(roles) if roles else "(none)"


def addUser(args: argparse.Namespace) -> int:
    """Add the user: name and roles are checked before the password is asked for."""
    with openIdentityStore(args.home) as store:
        checkName("user", args.name)
        try:
            store.getUser(args.name)
        except UnknownUserError:
            pass
        else:
            raise UserExistsError(f"user {args.name!r} exists already")
        store.checkRolesExist(args.roles)
        password = readNewPassword(args.name)
        user = store.addUser(args.name, password, args.roles)
    print(f"added user {user.name} with roles {_rolesText(user.roles)}")
    return EXIT_OK


def listUsers(args: argparse.Namespace) -> int:
    """Print the users as a table or JSON."""
    with openIdentityStore(args.home) as store:
        users = store.listUsers()
    if args.json:
        print(json.dumps([_userAsJson(user) for user in users], indent=2))
    elif users:
        printTable(_TABLE_HEADER, [_userRow(user) for user in users])
    else:
        print("No users yet; add one with 'peek user add NAME --role ROLE'.")
    return EXIT_OK


def _userAsJson(user: UserRecord) -> dict:
    return {
        "name": user.name,
        "enabled": user.enabled,
        "roles": list(user.roles),
        "created": user.created.isoformat(),
        "hasPassword": user.hasPassword,
    }


def _userRow(user: UserRecord) -> tuple[str, ...]:
    return (user.name, "yes" if user.enabled else "no", ",".join(user.roles) or "-")


def printTable(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Print ``rows`` under ``header``, every column left-aligned, the last one unpadded."""
    table = [header, *rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(header) - 1)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]))


def disableUser(args: argparse.Namespace) -> int:
    """Disable the user."""
    with openIdentityStore(args.home) as store:
        store.setEnabled(args.name, False)
    print(f"user {args.name} disabled: its logins are refused")
    return EXIT_OK


def enableUser(args: argparse.Namespace) -> int:
    """Enable the user."""
    with openIdentityStore(args.home) as store:
        store.setEnabled(args.name, True)
    print(f"user {args.name} enabled")
    return EXIT_OK


def setPassword(args: argparse.Namespace) -> int:
    """Check the user exists, read the new password and store its hash."""
    with openIdentityStore(args.home) as store:
        store.getUser(args.name)
        password = readNewPassword(args.name)
        store.setPassword(args.name, password)
    print(f"password of user {args.name} changed")
    return EXIT_OK


def setRoles(args: argparse.Namespace) -> int:
    """Replace the user's roles."""
    with openIdentityStore(args.home) as store:
        roles = store.setUserRoles(args.name, args.roles)
    print(f"user {args.name} now holds roles {_rolesText(roles)}")
    return EXIT_OK

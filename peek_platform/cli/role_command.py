"""``peek role``: set, list and delete roles, the named sets of permissions users hold.

A role may grant the platform's permissions (``admin``) and those declared in the
``plugin_package.json`` of the plugins the logic service enables (``plugin.enabled`` of
logic's ``config.json``); any other name is refused, listing the known ones.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from peek_platform.cli.base import EXIT_OK, UsageError, setHandler
from peek_platform.cli.user_command import (
    EXIT_STATUS_HELP,
    addHomeOption,
    loadLogicConfig,
    openIdentityStore,
    printTable,
)
from peek_platform.identity.permissions import (
    IdentityError,
    checkPermissionNames,
    knownPermissions,
)
from peek_platform.identity.store import RoleRecord
from peek_platform.plugin.discovery import packageDirectory
from peek_platform.plugin.errors import PluginError
from peek_platform.plugin.metadata import PluginMetadata, readPluginMetadata

_TABLE_HEADER = ("NAME", "PERMISSIONS", "DESCRIPTION")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``peek role`` and its subcommands."""
    roleParser = subparsers.add_parser(
        "role",
        help="define the roles users hold and the permissions they grant",
        description="Manage roles, kept in the logic service's database. A role is a named "
        "set of permissions; users hold roles ('peek user roles'). Permissions are the "
        "platform's (admin) and those the plugins enabled on logic declare in their "
        "plugin_package.json.",
    )
    commands = roleParser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    def addCommand(name: str, helpText: str, description: str) -> argparse.ArgumentParser:
        parser = commands.add_parser(
            name, help=helpText, description=f"{description} {EXIT_STATUS_HELP}"
        )
        addHomeOption(parser)
        return parser

    setParser = addCommand(
        "set",
        "create a role or set exactly which permissions it grants",
        "Make the given PERMISSIONs exactly what role NAME grants, creating the role when "
        "it does not exist. An unknown permission is refused, listing the known ones.",
    )
    setParser.add_argument(
        "name",
        metavar="NAME",
        help="the role's name: 1 to 64 characters, no whitespace or control characters",
    )
    setParser.add_argument(
        "permissions",
        metavar="PERMISSION",
        nargs="+",
        help="a permission the role grants: 'admin', or PLUGIN.WORD as a plugin enabled on "
        "logic declares it (e.g. peek_plugin_noop.edit)",
    )
    setParser.add_argument(
        "--description",
        metavar="TEXT",
        default=None,
        help="what the role is for (default: keep the current description; empty for a new role)",
    )
    setHandler(setParser, setRole)

    listParser = addCommand(
        "list",
        "list the roles with their permissions",
        "List every role: name, the permissions it grants and its description.",
    )
    listParser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON array of objects (name, description, permissions) instead of a table",
    )
    setHandler(listParser, listRoles)

    deleteParser = addCommand(
        "delete",
        "delete a role, taking it from the users holding it",
        "Delete role NAME. Users holding it no longer do; the command names them.",
    )
    deleteParser.add_argument("name", metavar="NAME", help="the role to delete")
    setHandler(deleteParser, deleteRole)


def enabledPluginMetadata(home: Path | None) -> tuple[list[PluginMetadata], list[str]]:
    """Metadata of the installed plugins logic enables, and why others could not be read.

    Plugins are located, never imported (as ``peek db`` and ``peek plugin list`` do).
    """
    config, _ = loadLogicConfig(home)
    found: list[PluginMetadata] = []
    problems: list[str] = []
    for name in config["plugin.enabled"]:
        rootDir = packageDirectory(name)
        if rootDir is None:
            problems.append(f"{name}: enabled on logic but not installed")
            continue
        try:
            found.append(readPluginMetadata(name, rootDir))
        except PluginError as e:
            problems.append(str(e))
    return found, problems


def setRole(args: argparse.Namespace) -> int:
    """Create or update the role after checking every permission is known."""
    plugins, problems = enabledPluginMetadata(args.home)
    known = knownPermissions(plugins)
    try:
        checkPermissionNames(args.permissions, known)
    except IdentityError as e:
        # Say why a plugin's permissions may be missing from the known ones.
        notes = "".join(f"\n  not read: {problem}" for problem in problems)
        raise UsageError(f"{e}{notes}") from e
    with openIdentityStore(args.home, knownPermissions=known) as store:
        role = store.setRolePermissions(args.name, args.permissions, args.description)
    print(f"role {role.name} grants {', '.join(role.permissions)}")
    return EXIT_OK


def listRoles(args: argparse.Namespace) -> int:
    """Print the roles as a table or JSON."""
    with openIdentityStore(args.home) as store:
        roles = store.listRoles()
    if args.json:
        print(json.dumps([_roleAsJson(role) for role in roles], indent=2))
    elif roles:
        printTable(_TABLE_HEADER, [_roleRow(role) for role in roles])
    else:
        print("No roles yet; create one with 'peek role set NAME PERMISSION...'.")
    return EXIT_OK


def _roleAsJson(role: RoleRecord) -> dict:
    return {
        "name": role.name,
        "description": role.description,
        "permissions": list(role.permissions),
    }


def _roleRow(role: RoleRecord) -> tuple[str, ...]:
    return (role.name, ",".join(role.permissions) or "-", role.description or "-")


def deleteRole(args: argparse.Namespace) -> int:
    """Delete the role and name the users who lost it."""
    with openIdentityStore(args.home) as store:
        holders = store.deleteRole(args.name)
    taken = f"; taken from users {', '.join(holders)}" if holders else ""
    print(f"deleted role {args.name}{taken}")
    return EXIT_OK

"""``peek plugin install WHEEL_OR_DIR`` and ``peek plugin upgrade NAME WHEEL_OR_DIR``.

pip installs into this environment (the one ``peek`` and the services run from); the
running platform is then asked, over the logic link, to enable or restart the plugin, and
an upgrade whose migration fails on logic is rolled back
(:mod:`peek_platform.plugin.package_manager`, docs/admin/plugin-install.rst).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from twisted.internet import defer, threads
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from peek_platform.cli.base import EXIT_FAILURE, EXIT_OK, CommandFailed, UsageError, setHandler
from peek_platform.cli.logic_link import (
    LogicLink,
    LogicUnavailable,
    addLogicLinkArguments,
    logicLinkFromArgs,
    runOnce,
    runOnPlatform,
)
from peek_platform.cli.plugin_install_command import PluginData
from peek_platform.cli.status_command import fetchStatus
from peek_platform.plugin.package_manager import PackageOutcome, PluginPackageManager
from peek_platform.plugin.packages import PackageRefused, Pip, PluginPackageError
from peek_platform.scaffold.names import PluginNameError, PluginNaming
from peek_platform.services import LOGIC

#: Seconds each service gets to answer by default: a restart may migrate a schema.
_DEFAULT_TIMEOUT = 120.0
#: Seconds to wait for logic's status when finding out whether the platform runs.
_PROBE_TIMEOUT = 5.0

_EXIT_TEXT = (
    "Exit status: 0 when done, 1 when pip fails, the new version fails (an upgrade is then "
    "rolled back) or logic stops answering, 2 for invalid arguments, such as a file that is "
    "not a Peek plugin wheel or project directory (nothing is installed then)."
)


def registerInstall(commands: argparse._SubParsersAction) -> None:
    """Add ``install`` and ``upgrade`` under ``peek plugin``."""
    install = commands.add_parser(
        "install",
        help="install a plugin wheel or project directory into this environment",
        description="Install the plugin(s) of a wheel (.whl) or a project directory into "
        "this environment with pip, after checking that it holds a peek_plugin_* or "
        "peek_core_* package with a valid plugin_package.json. With --enable, the running "
        "platform then enables it on every service it runs on; without, the command prints "
        f"how to. A plugin that is installed already is refused: use upgrade. {_EXIT_TEXT}",
    )
    install.add_argument("source", metavar="WHEEL_OR_DIR", type=Path, help="the wheel or directory")
    install.add_argument(
        "--enable",
        action="store_true",
        help="enable the plugin on every service of the running platform (and in their "
        "plugin.enabled)",
    )
    _addCommonArguments(install)
    setHandler(install, installPlugin)

    upgrade = commands.add_parser(
        "upgrade",
        help="upgrade an installed plugin, migrate its schema and restart it",
        description="Replace installed plugin NAME by the version in a wheel or project "
        "directory. A copy of the installed version is kept in <logic home>/plugin_packages "
        "first. When the platform runs, the plugin is restarted on logic, which migrates its "
        "schema before loading it; if that fails, the migration is rolled back, the previous "
        "version reinstalled and restarted, and the command exits 1. Once logic runs the new "
        "version, the other services that run the plugin restart it too. When logic does not "
        "answer, the schema is migrated here with logic's config.json (rolled back the same "
        f"way), and the services load the new version when they start. {_EXIT_TEXT}",
    )
    upgrade.add_argument(
        "name",
        metavar="NAME",
        help="the installed plugin: its short name ('noop') or package name ('peek_plugin_noop')",
    )
    upgrade.add_argument("source", metavar="WHEEL_OR_DIR", type=Path, help="the new version")
    upgrade.add_argument(
        "--force",
        action="store_true",
        help="reinstall even when the wheel's version is the installed one",
    )
    _addCommonArguments(upgrade)
    setHandler(upgrade, upgradePlugin)


def _addCommonArguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pip-option",
        action="append",
        default=[],
        metavar="OPTION",
        help="an option for 'pip install', e.g. --pip-option=--no-index or "
        "--pip-option=--find-links=DIR (repeatable)",
    )
    addLogicLinkArguments(parser, timeout=_DEFAULT_TIMEOUT)


class LinkedPlatform:
    """The running platform reached over the logic link (``PlatformAccess``)."""

    def __init__(self, args: argparse.Namespace, reactor: Any) -> None:
        self._args = args
        self._reactor = reactor
        self._link: LogicLink | None = None

    def running(self) -> Deferred[bool]:
        """Whether logic answers its status query."""
        try:
            self._link = logicLinkFromArgs(self._args)
        except CommandFailed:  # no config or no secret: logic has never run there
            return defer.succeed(False)
        link = self._link
        d = fetchStatus(
            link.url,
            link.secret,
            tls=link.tls,
            reactor=self._reactor,
            timeout=min(self._args.timeout, _PROBE_TIMEOUT),
        )

        def down(failure: Failure) -> bool:
            failure.trap(LogicUnavailable)
            return False

        return d.addCallbacks(lambda _: True, down)

    def run(
        self, command: str, args: dict[str, Any], serviceKey: str | None
    ) -> Deferred[list[dict[str, Any]]]:
        """Run ``command`` through logic; logic going away is a ``PluginPackageError``."""
        if self._link is None:
            raise PluginPackageError("logic was not reached")
        d = runOnPlatform(
            self._link,
            command,
            args,
            reactor=self._reactor,
            service=serviceKey,
            timeout=self._args.timeout,
        )

        def lost(failure: Failure) -> list[dict[str, Any]]:
            failure.trap(LogicUnavailable)
            raise PluginPackageError(
                f"{failure.getErrorMessage()}; what the services did is unknown: check "
                f"'peek status'"
            )

        return d.addErrback(lost)


def migrateWithLogicConfig(home: Path | None) -> Any:
    """``migrateOffline`` for the package manager: migrate a plugin enabled on logic and
    run its install hooks, as logic does before load, with logic's config.json."""

    def migrate(pluginName: str) -> str | None:
        logicHome = (home or LOGIC.defaultHome()).expanduser().resolve()
        if not (logicHome / "config.json").exists():
            return f"no logic config at {logicHome}: logic migrates {pluginName} when it starts"
        data = PluginData.open(logicHome, pluginName)
        try:
            if pluginName not in data.config["plugin.enabled"]:
                return f"{pluginName} is not enabled on logic, which migrates it once it is"
            data.prepare()
        finally:
            data.dispose()
        return f"{pluginName}: migrated with {logicHome / 'config.json'}"

    return migrate


def _manager(args: argparse.Namespace, reactor: Any, by: str) -> PluginPackageManager:
    home = (args.home or LOGIC.defaultHome()).expanduser().resolve()
    return PluginPackageManager(
        home=home,
        pip=Pip(say=lambda line: print(line, flush=True), options=args.pip_option),
        platform=LinkedPlatform(args, reactor),
        inThread=lambda fn, *a, **kw: threads.deferToThreadPool(
            reactor, reactor.getThreadPool(), fn, *a, **kw
        ),
        by=by,
        migrateOffline=migrateWithLogicConfig(args.home),
    )


def _finish(outcome: PackageOutcome) -> int:
    print(outcome.summary)
    return EXIT_OK if outcome.ok else EXIT_FAILURE


def _run(work: Any) -> PackageOutcome:
    """Run the manager's coroutine on the reactor; refusals exit 2, failures 1."""
    try:
        outcome: PackageOutcome = runOnce(lambda reactor: Deferred.fromCoroutine(work(reactor)))
    except PackageRefused as e:
        raise UsageError(str(e)) from None
    except PluginPackageError as e:
        raise CommandFailed(str(e)) from None
    return outcome


def installPlugin(args: argparse.Namespace) -> int:
    """Install the plugin(s) of WHEEL_OR_DIR, and enable them with --enable."""
    outcome = _run(
        lambda reactor: _manager(args, reactor, "peek plugin install").install(
            args.source.resolve(), enable=args.enable
        )
    )
    return _finish(outcome)


def upgradePlugin(args: argparse.Namespace) -> int:
    """Upgrade NAME from WHEEL_OR_DIR, rolling back when logic cannot run the new version."""
    try:
        pluginName = PluginNaming.fromArgument(args.name).packageName
    except PluginNameError as e:
        raise UsageError(str(e)) from None
    outcome = _run(
        lambda reactor: _manager(args, reactor, "peek plugin upgrade").upgrade(
            pluginName, args.source.resolve(), force=args.force
        )
    )
    return _finish(outcome)

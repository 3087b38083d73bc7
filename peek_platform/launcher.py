"""``run_peek_platform``: run all five services on one host as supervised child processes."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred, fail

from peek_platform import __version__
from peek_platform.cli.base import CommandFailed, UsageError
from peek_platform.cli.logic_link import LogicLink, logicEndpoint, runOnPlatform
from peek_platform.config import (
    CONFIG_FILE_NAME,
    ConfigError,
    ServiceConfig,
    loadServiceConfig,
    setDotted,
    writeConfigFile,
)
from peek_platform.config.keys import keysForService
from peek_platform.dev_reload import DevReloader, Restart, enabledPlugins
from peek_platform.logging_setup import routeTwistedLogging
from peek_platform.process.context import ServiceReactor
from peek_platform.process.signals import StopSignalHandler, signalName
from peek_platform.process.supervisor import (
    ChildCommand,
    RestartPolicy,
    Supervisor,
    reactorSpawner,
)
from peek_platform.services import (
    ALL_SERVICES,
    DATA_EXCHANGE_DEFAULT_PORT,
    DEFAULT_BASE_PORT,
    HOME_ROOT_ENV,
    LOGIC,
    ServiceSpec,
    allSites,
    homeRoot,
)
from peek_platform.vortex.settings import (
    SECRET_KEY,
    DataExchangeConfigError,
    generateSecret,
    writeSecret,
)

logger = logging.getLogger(__name__)

#: Plugins enabled on every service by the first-run configuration.
FIRST_RUN_PLUGINS: tuple[str, ...] = ("peek_plugin_noop",)
#: Where the services find each other on a single host.
DATA_EXCHANGE_HOST = "127.0.0.1"
#: Each port setting of the first-run configuration as an offset from the base port, from
#: the service descriptions: from 8000 they are the documented defaults (field 8000,
#: office 8002, admin 8010, data exchange 8011), so ``--base-port 9000`` moves the whole
#: platform to 9000, 9002, 9010 and 9011.
PORT_OFFSETS: dict[str, int] = {
    **{site.portKey: site.defaultPort - DEFAULT_BASE_PORT for _, site in allSites()},
    "dataExchange.port": DATA_EXCHANGE_DEFAULT_PORT - DEFAULT_BASE_PORT,
}
#: The bind address settings of the web sites, set by ``--bind-address``.
SITE_BIND_ADDRESS_KEYS: tuple[str, ...] = tuple(site.bindKey for _, site in allSites())
#: Seconds a child may take to exit after SIGTERM before it gets SIGKILL.
STOP_GRACE_SECONDS = 15.0
#: Signals that stop the launcher (SIGHUP too: the children are not in the terminal's group).
LAUNCHER_STOP_SIGNALS: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def firstRunConfig(
    spec: ServiceSpec,
    secret: str = "",
    *,
    basePort: int = DEFAULT_BASE_PORT,
    bindAddress: str | None = None,
) -> dict[str, Any]:
    """The single-host settings ``spec``'s service starts with; every service agrees on where
    logic listens and, with ``secret``, on the data exchange secret.

    Ports come from ``basePort`` (see ``PORT_OFFSETS``); ``bindAddress``, when given, is
    where the service's web site listens.
    """
    document: dict[str, Any] = {"plugin": {"enabled": list(FIRST_RUN_PLUGINS)}}
    settings: dict[str, Any] = {"dataExchange.host": DATA_EXCHANGE_HOST}
    if secret:
        settings[SECRET_KEY] = secret
    settings.update({path: basePort + offset for path, offset in PORT_OFFSETS.items()})
    if bindAddress is not None:
        settings.update(dict.fromkeys(SITE_BIND_ADDRESS_KEYS, bindAddress))
    appliesToSpec = {key.path for key in keysForService(spec)}
    for path, value in settings.items():
        if path in appliesToSpec:
            setDotted(document, path, value)
    return document


def basePortArgument(text: str) -> int:
    """Parse ``--base-port``: an integer that leaves room for the whole port block."""
    highest = 65535 - max(PORT_OFFSETS.values())
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 1 <= port <= highest:
        raise argparse.ArgumentTypeError(f"must be between 1 and {highest}, got {port}")
    return port


def _readConfig(root: Path, spec: ServiceSpec) -> ServiceConfig | None:
    """The service's config as it is on disk, or None when it is missing or unreadable."""
    home = root / spec.homeDirName
    if not (home / CONFIG_FILE_NAME).exists():
        return None
    try:
        return loadServiceConfig(spec, home, writeBack=False)
    except ConfigError as e:
        logger.warning("cannot share the data exchange secret with %s: %s", spec.key, e)
        return None


def writeFirstRunConfigs(
    root: Path,
    specs: Sequence[ServiceSpec] = ALL_SERVICES,
    *,
    secret: str | None = None,
    basePort: int = DEFAULT_BASE_PORT,
    bindAddress: str | None = None,
) -> list[Path]:
    """Write ``config.json`` for each service that has none; never touch an existing one.

    Every file written carries the same data exchange secret: ``secret``, else the one in
    logic's existing config, else a new random one; ports and site bind addresses come from
    ``basePort`` and ``bindAddress`` (see ``firstRunConfig``). Returns the paths written. The
    services fill in every other default themselves.
    """
    if secret is None:
        logic = _readConfig(root, LOGIC)
        secret = (logic[SECRET_KEY] if logic is not None else "") or generateSecret()
    written = []
    for spec in specs:
        path = root / spec.homeDirName / CONFIG_FILE_NAME
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        writeConfigFile(
            path, firstRunConfig(spec, secret, basePort=basePort, bindAddress=bindAddress)
        )
        written.append(path)
    return written


def shareDataExchangeSecret(root: Path, specs: Sequence[ServiceSpec] = ALL_SERVICES) -> list[Path]:
    """Give every existing config logic's data exchange secret where it has none.

    Logic without a secret gets one (another service's, else a new one) so the services
    started together agree. A config that already has a different secret is left alone
    with a WARNING; one that cannot be rewritten (comments) is reported as an ERROR and
    that service then refuses to start, naming the key. Returns the paths changed.
    """
    read = {spec.key: _readConfig(root, spec) for spec in specs}
    configs = {key: config for key, config in read.items() if config is not None}
    logic = configs.pop(LOGIC.key, None)
    if logic is None:
        return []
    changed: list[Path] = []
    secret = logic[SECRET_KEY]
    if not secret:
        others = [c[SECRET_KEY] for c in configs.values() if c[SECRET_KEY]]
        secret = others[0] if others else generateSecret()
        if not _writeSecret(logic, secret, changed):
            return changed
    for key, config in configs.items():
        if not config[SECRET_KEY]:
            _writeSecret(config, secret, changed)
        elif config[SECRET_KEY] != secret:
            logger.warning(
                "%s: %s differs from logic's (%s); the %s service cannot link to logic until "
                "they match",
                config.path,
                SECRET_KEY,
                logic.path,
                key,
            )
    return changed


def _writeSecret(config: ServiceConfig, secret: str, changed: list[Path]) -> bool:
    try:
        writeSecret(config, secret)
    except DataExchangeConfigError as e:
        logger.error("%s", e)
        return False
    changed.append(config.path)
    return True


def childCommands(
    root: Path,
    *,
    python: str = sys.executable,
    environ: Mapping[str, str] | None = None,
    specs: Sequence[ServiceSpec] = ALL_SERVICES,
) -> list[ChildCommand]:
    """The command of each service, logic first, each in its own process group."""
    env = dict(os.environ if environ is None else environ)
    env[HOME_ROOT_ENV] = str(root)
    env["PYTHONUNBUFFERED"] = "1"
    return [
        ChildCommand(
            key=spec.key,
            argv=(
                python,
                "-m",
                "peek_platform.process.own_group",
                "-m",
                f"peek_{spec.key}_service",
                "--home",
                str(root / spec.homeDirName),
            ),
            env=env,
        )
        for spec in specs
    ]


def buildArgumentParser() -> argparse.ArgumentParser:
    """The command line of ``run_peek_platform``."""
    parser = argparse.ArgumentParser(
        prog="run_peek_platform",
        description=(
            "Run the five Peek services (logic, field, office, agent, worker) on this host, "
            "restart any that crashes (backoff 1 s doubling to 30 s), and stop them all on "
            "Ctrl-C or SIGTERM. On first run, each service's config.json is written with "
            "one shared single-host configuration; existing files are never overwritten."
        ),
        epilog=(
            f"Each service's home is HOME_ROOT/peek-<service>-service.home. HOME_ROOT "
            f"defaults to ${HOME_ROOT_ENV} when set, else your home directory."
        ),
    )
    parser.add_argument(
        "--home-root",
        metavar="DIR",
        type=Path,
        default=None,
        help="directory holding the five service homes",
    )
    parser.add_argument(
        "--base-port",
        metavar="PORT",
        type=basePortArgument,
        default=None,
        help=(
            f"first port of the block the first-run configuration uses: field site PORT, "
            f"office site PORT+2, admin site PORT+10, data exchange PORT+11 (default "
            f"{DEFAULT_BASE_PORT}); lets a second platform run beside the first. Existing "
            f"config.json files keep their ports"
        ),
    )
    parser.add_argument(
        "--bind-address",
        metavar="ADDRESS",
        default=None,
        help=(
            "address the admin, field and office sites listen on in the first-run "
            "configuration (default 0.0.0.0, every interface; 127.0.0.1 keeps them to this "
            "host). Existing config.json files keep theirs"
        ),
    )
    parser.add_argument(
        "--dev",
        action="store_true",
        help=(
            "while developing plugins: watch the source directories of the enabled plugins "
            "and restart a plugin on every service that runs it when its files change "
            "(a change that does not compile is logged and the plugin keeps running)"
        ),
    )
    parser.add_argument("--version", action="version", version=f"run_peek_platform {__version__}")
    return parser


def relayLine(write: Callable[[str], Any]) -> Callable[[str, str], None]:
    """A relay that writes each child line to ``write`` prefixed with the service key."""
    width = max(len(spec.key) for spec in ALL_SERVICES)

    def relay(key: str, line: str) -> None:
        write(f"{key:<{width}} | {line}\n")

    return relay


def runLauncher(argv: list[str] | None = None, *, reactor: ServiceReactor = None) -> int:
    """Write first-run configs, run the services until stopped, return the exit status."""
    args = buildArgumentParser().parse_args(argv)
    root = (args.home_root or homeRoot()).expanduser().resolve()
    if reactor is None:
        from twisted.internet import reactor

    written = writeFirstRunConfigs(
        root,
        basePort=args.base_port or DEFAULT_BASE_PORT,
        bindAddress=args.bind_address,
    )
    for path in written:
        logger.info("wrote first-run configuration %s", path)
    if args.base_port is not None or args.bind_address is not None:
        for spec in ALL_SERVICES:
            path = root / spec.homeDirName / CONFIG_FILE_NAME
            if path not in written:
                logger.warning(
                    "%s already exists; --base-port and --bind-address only shape new "
                    "configurations, so the %s service keeps the ports and addresses in it",
                    path,
                    spec.key,
                )
    for path in shareDataExchangeSecret(root):
        logger.info("wrote the shared data exchange secret into %s", path)

    def writeOut(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    supervisor = Supervisor(
        childCommands(root),
        clock=reactor,
        spawn=reactorSpawner(reactor),
        relay=relayLine(writeOut),
        policy=RestartPolicy(),
        graceSeconds=STOP_GRACE_SECONDS,
    )

    def requestStop(signum: int) -> None:
        logger.info(
            "received %s; stopping every service (send it again to kill them at once)",
            signalName(signum),
        )
        reactor.stop()

    signals = StopSignalHandler(
        onGraceful=lambda signum: reactor.callFromThread(requestStop, signum),
        onForced=lambda signum: reactor.callFromThread(supervisor.killAll),
        signals=LAUNCHER_STOP_SIGNALS,
    )

    reloader = DevReloader(partial(enabledPlugins, root), devRestart(root, reactor), clock=reactor)

    def begin() -> None:
        signals.install()
        logger.info("starting Peek %s services under %s (pid %d)", __version__, root, os.getpid())
        supervisor.start()
        if args.dev:
            reloader.start()

    def beginStop() -> Deferred[None]:
        signals.markStopping()
        reloader.stop()
        return supervisor.stop()

    reactor.addSystemEventTrigger("before", "shutdown", beginStop)
    reactor.callWhenRunning(begin)
    reactor.run(installSignalHandlers=True)
    logger.info("every service has stopped")
    return 0


def devRestart(root: Path, reactor: ServiceReactor) -> Restart:
    """``--dev``'s restart: ask the running platform (logic in ``root``) to restart a plugin
    on every service that runs it."""

    def restart(pluginName: str, changed: list[str]) -> Deferred[list[dict[str, Any]]]:
        try:
            url, secret, _ = logicEndpoint(root / LOGIC.homeDirName)
        except (UsageError, CommandFailed) as e:
            return fail(e)
        args = {"plugin": pluginName, "by": "run_peek_platform --dev"}
        link = LogicLink(url, secret)
        return runOnPlatform(link, "plugin.restart", args, reactor=reactor, timeout=60.0)

    return restart


def main() -> None:
    """Console entry point of ``run_peek_platform``."""
    logging.basicConfig(
        stream=sys.stdout,
        level=logging.INFO,
        format="%(asctime)s launcher %(levelname)s %(message)s",
    )
    routeTwistedLogging()
    sys.exit(runLauncher())

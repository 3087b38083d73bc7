"""The generic entry point every Peek service command runs (``run_peek_<svc>_service``)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from twisted.internet.defer import Deferred

from peek_platform import __version__
from peek_platform.config import CONFIG_FILE_NAME, ConfigError, loadServiceConfig
from peek_platform.exit_codes import EXIT_CONFIG_ERROR
from peek_platform.logging_setup import routeTwistedLogging, setupLogging
from peek_platform.process.assembly import Composer, assemble, siteTrees
from peek_platform.process.context import ServiceReactor
from peek_platform.process.lifecycle import ServiceLifecycle
from peek_platform.process.signals import StopSignalHandler
from peek_platform.services import HOME_ROOT_ENV, ServiceSpec

logger = logging.getLogger(__name__)


def buildArgumentParser(spec: ServiceSpec) -> argparse.ArgumentParser:
    """The command line of ``spec.command``: ``--home``, ``--version`` and ``--help``."""
    defaultHome = spec.defaultHome()
    parser = argparse.ArgumentParser(
        prog=spec.command,
        description=(
            f"Run the Peek {spec.key} service ({spec.vortexName}): load the plugins enabled "
            f"in its config.json and run them until SIGTERM or Ctrl-C (a second signal "
            f"exits at once)."
        ),
        epilog=(
            f"Files live in the home directory: HOME/{CONFIG_FILE_NAME} (created with "
            f"defaults on first run; missing settings are written back) and the log file "
            f"HOME/{spec.logFileName}. The default home is ${HOME_ROOT_ENV}/{spec.homeDirName} "
            f"when the {HOME_ROOT_ENV} environment variable is set, else ~/{spec.homeDirName}. "
            f"Exit status: 0 after a clean stop, 2 when {CONFIG_FILE_NAME} is invalid, 1 on "
            f"other failures."
        ),
    )
    parser.add_argument(
        "--home",
        metavar="DIR",
        type=Path,
        default=defaultHome,
        help=f"home directory of this service (default: {defaultHome})",
    )
    parser.add_argument("--version", action="version", version=f"{spec.command} {__version__}")
    return parser


def runService(
    spec: ServiceSpec,
    argv: list[str] | None = None,
    *,
    compose: Composer,
    reactor: ServiceReactor = None,
) -> int:
    """Run one service process until it is stopped; return its exit status.

    Resolves the home and loads config (an invalid file prints ``path:line:col: message``
    on stderr), sets up logging, assembles the service from ``compose(spec, sites)`` (every
    extension's ``configure`` runs here; a ``ConfigError`` is logged), starts the extensions
    and plugins, and runs the reactor. A config error in either step returns
    ``EXIT_CONFIG_ERROR`` before anything listens. SIGTERM/SIGINT stop the service
    gracefully; a repeated signal exits at once.
    """
    args = buildArgumentParser(spec).parse_args(argv)
    home: Path = args.home.expanduser().resolve()
    try:
        config = loadServiceConfig(spec, home)
    except ConfigError as err:
        print(str(err), file=sys.stderr)
        return EXIT_CONFIG_ERROR

    if reactor is None:
        from twisted.internet import reactor

    loggingHandle = setupLogging(spec, home, config)
    routeTwistedLogging()
    composition = compose(spec, siteTrees(spec))
    try:
        ctx = assemble(spec, home, config, composition, reactor=reactor)
    except ConfigError as err:
        logger.error("%s", err)
        loggingHandle.close()
        return EXIT_CONFIG_ERROR
    deadlineSeconds = float(ctx.config["plugin.lifecycleDeadlineSeconds"])

    def forcedExit(status: int) -> None:
        """End the process now, after flushing the log."""
        loggingHandle.close()
        os._exit(status)

    lifecycle = ServiceLifecycle(
        ctx, composition.extensions, deadlineSeconds=deadlineSeconds, exit=forcedExit
    )
    signals = StopSignalHandler(
        onGraceful=lambda signum: reactor.callFromThread(lifecycle.requestStop, signum),
        onForced=lifecycle.kill,
    )

    # From here on a stop signal takes the graceful path (or, repeated, the forced one),
    # even if it arrives before the reactor runs.
    signals.install()
    logger.info("Starting %s %s (pid %d, home %s)", spec.vortexName, __version__, os.getpid(), home)
    if ctx.config.unwrittenKeys:
        logger.warning(
            "%s has comments, so these defaults were not written back to it: %s",
            home / CONFIG_FILE_NAME,
            ", ".join(ctx.config.unwrittenKeys),
        )

    def beginStop() -> Deferred[None]:
        """Shutdown trigger: from now on a stop signal forces the exit."""
        signals.markStopping()
        return lifecycle.stop()

    def begin() -> None:
        """Take the stop signals back from Twisted's startup, then start everything."""
        signals.install()
        lifecycle.start()

    reactor.addSystemEventTrigger("before", "shutdown", beginStop)
    reactor.callWhenRunning(begin)
    reactor.run(installSignalHandlers=True)
    logger.info("%s exits with status %d", spec.vortexName, lifecycle.exitStatus)
    loggingHandle.close()
    return lifecycle.exitStatus

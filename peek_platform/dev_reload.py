"""``run_peek_platform --dev``: restart a plugin on every service when its source changes.

The launcher polls the source directories of the plugins enabled on any service (once a
second, comparing file sizes and modification times; plugin trees are small, and polling
works on every filesystem, network mounts and container volumes included). When a plugin's
files changed and then stayed unchanged for one more poll, its changed Python files are
compiled first: a syntax error is logged and the running plugin is left as it is. Otherwise
the running platform is asked to restart the plugin on every service that runs it (the
``plugin.restart`` service command, docs/admin/plugin-control.rst), and each service's
answer is logged with how long the restart took. A plugin that fails to restart stays
failed with its error in ``peek status`` and the admin; its service keeps running.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from peek_platform.config import ConfigError, loadServiceConfig
from peek_platform.plugin.discovery import packageDirectory
from peek_platform.services import ALL_SERVICES, ServiceSpec

logger = logging.getLogger(__name__)

#: Seconds between two looks at the plugins' files.
POLL_SECONDS = 1.0
#: Directory names never looked into.
IGNORED_DIRECTORIES = frozenset(
    {"__pycache__", ".git", ".mypy_cache", ".pytest_cache", "node_modules"}
)
#: File name endings never counted as a change (compiled files, editor droppings).
IGNORED_SUFFIXES = (".pyc", ".pyo", ".swp", ".swx", "~", ".tmp")

#: ``(relative path -> (size, mtime_ns))`` of one plugin's files.
Snapshot = dict[str, tuple[int, int]]
#: ``restart(pluginName, changedFiles)``: a Deferred of the services' answer documents.
Restart = Callable[[str, list[str]], Deferred[list[dict[str, Any]]]]


def snapshot(root: Path) -> Snapshot:
    """Size and modification time of every file under ``root`` that counts as source."""
    found: Snapshot = {}
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if d not in IGNORED_DIRECTORIES]
        for name in files:
            if name.endswith(IGNORED_SUFFIXES):
                continue
            path = Path(directory) / name
            try:
                stat = path.stat()
            except OSError:
                continue  # removed while we looked; the next poll sees it gone
            found[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return found


def changedFiles(before: Snapshot, after: Snapshot) -> list[str]:
    """The files added, removed or modified between two snapshots, sorted."""
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )


def syntaxErrors(root: Path, names: Iterable[str]) -> list[str]:
    """``file:line: message`` for each of the Python files ``names`` that does not compile."""
    errors = []
    for name in names:
        if not name.endswith(".py"):
            continue
        path = root / name
        try:
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        except SyntaxError as e:
            errors.append(f"{name}:{e.lineno}: {e.msg}")
        except (OSError, ValueError):
            continue  # removed, or not text: the import will say more than we can
    return errors


def enabledPlugins(root: Path, specs: Iterable[ServiceSpec] = ALL_SERVICES) -> list[str]:
    """The plugins enabled on any service under home root ``root``, first seen first."""
    names: dict[str, None] = {}
    for spec in specs:
        try:
            config = loadServiceConfig(spec, root / spec.homeDirName, writeBack=False)
            names.update(dict.fromkeys(config["plugin.enabled"]))
        except ConfigError as e:
            logger.warning("dev: cannot read the %s service's plugins: %s", spec.key, e)
    return list(names)


@dataclass
class _Watched:
    """One plugin being watched: its directory and what its files looked like."""

    directory: Path
    #: The files as last acted on (or first seen).
    settled: Snapshot
    #: The files as seen by the last poll, while they are still changing.
    pending: Snapshot | None = None
    restarting: bool = False
    #: Files that changed while a restart ran: the plugin restarts again after it.
    changedDuringRestart: set[str] = field(default_factory=set)


class DevReloader:
    """Polls the enabled plugins' sources on ``clock`` and restarts a changed plugin."""

    def __init__(
        self,
        plugins: Callable[[], list[str]],
        restart: Restart,
        *,
        clock: Any,
        pollSeconds: float = POLL_SECONDS,
    ) -> None:
        self._plugins = plugins
        self._restart = restart
        self._watched: dict[str, _Watched] = {}
        self._loop = task.LoopingCall(self.poll)
        self._loop.clock = clock
        self._clock = clock
        self._pollSeconds = pollSeconds

    def start(self) -> None:
        """Take the first look now, then one every ``pollSeconds``."""
        self._loop.start(self._pollSeconds, now=True)
        logger.info(
            "dev: watching %s for changes",
            ", ".join(f"{name} ({w.directory})" for name, w in self._watched.items()) or "nothing",
        )

    def stop(self) -> None:
        """Stop looking."""
        if self._loop.running:
            self._loop.stop()

    def poll(self) -> None:
        """Look at every enabled plugin's files once; restart those that changed and settled."""
        for name in self._plugins():
            watched = self._watched.get(name)
            if watched is None:
                directory = packageDirectory(name)
                if directory is not None:
                    self._watched[name] = _Watched(directory, snapshot(directory))
                continue
            now = snapshot(watched.directory)
            if now == watched.settled:
                watched.pending = None
            elif watched.pending != now:
                watched.pending = now  # still changing: wait for one quiet poll
            else:
                changed = changedFiles(watched.settled, now)
                watched.settled, watched.pending = now, None
                self._changed(name, watched, changed)

    def _changed(self, name: str, watched: _Watched, changed: list[str]) -> None:
        if watched.restarting:
            watched.changedDuringRestart.update(changed)
            return
        errors = syntaxErrors(watched.directory, changed)
        if errors:
            logger.error(
                "dev: %s changed (%s) but does not compile, so it keeps running as it was: %s",
                name,
                ", ".join(changed),
                "; ".join(errors),
            )
            return
        logger.info("dev: %s changed (%s); restarting it on its services", name, ", ".join(changed))
        watched.restarting = True
        began = self._clock.seconds()
        d = self._restart(name, changed)
        d.addCallbacks(
            lambda answers: self._report(name, answers, self._clock.seconds() - began),
            lambda failure: self._failed(name, failure),
        )
        d.addBoth(lambda _: self._restarted(name, watched))

    def _report(self, name: str, answers: list[dict[str, Any]], seconds: float) -> None:
        for answer in answers:
            where = f"{answer['service']} (pid {answer.get('pid', '?')})"
            result = answer.get("result") or {}
            if not answer["ok"]:
                logger.error("dev: %s was not restarted on %s: %s", name, where, answer["error"])
            elif result.get("state") == "started":
                logger.info(
                    "dev: %s restarted on %s in %.0f ms", name, where, result["seconds"] * 1000
                )
            elif result.get("state") != "absent":
                logger.error(
                    "dev: %s is %s on %s after the restart: %s",
                    name,
                    result.get("state"),
                    where,
                    result.get("reason"),
                )
        logger.info("dev: %s reload took %.0f ms in all", name, seconds * 1000)

    def _failed(self, name: str, failure: Failure) -> None:
        logger.error(
            "dev: could not ask the platform to restart %s: %s (it restarts on the next change)",
            name,
            failure.getErrorMessage(),
        )

    def _restarted(self, name: str, watched: _Watched) -> None:
        watched.restarting = False
        if watched.changedDuringRestart:
            changed = sorted(watched.changedDuringRestart)
            watched.changedDuringRestart.clear()
            self._changed(name, watched, changed)

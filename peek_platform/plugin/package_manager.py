"""Install and upgrade plugins in this environment and bring the running platform along.

``peek plugin install|upgrade`` and the admin site's wheel upload share this sequence
(docs/admin/plugin-install.rst). An upgrade keeps a copy of the installed version, installs
the new one and restarts the plugin on logic first, where its schema is migrated before it
loads; when that fails the copy is reinstalled and the plugin restarted again, so the old
version runs on the database the failed migration left untouched. Only once logic runs the
new version are the other services restarted. With the platform stopped, the migration
runs here with logic's config instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from twisted.internet.defer import Deferred

from peek_platform.plugin.discovery import packageDirectory
from peek_platform.plugin.metadata import PluginMetadata, readPluginMetadata, runsOnService
from peek_platform.plugin.packages import (
    PACKAGE_CACHE_DIR,
    InstalledDistribution,
    PackageRefused,
    PackageSource,
    Pip,
    PluginPackageError,
    RollbackArtefact,
    canonicalName,
    inspectSource,
    installedDistribution,
    makeRollbackArtefact,
)
from peek_platform.services import ALL_SERVICES, LOGIC

#: The answer ``state`` of a service the plugin does not run on (``control_commands.ABSENT``).
_ABSENT = "absent"
#: ``inThread(fn, *args)``: run blocking ``fn`` off the reactor; a Deferred of its result.
InThread = Callable[..., Deferred[Any]]


class PlatformAccess(Protocol):
    """The running platform as the package manager needs it."""

    def running(self) -> Deferred[bool]:
        """Whether logic answers (decided before anything is installed)."""

    def run(
        self, command: str, args: dict[str, Any], serviceKey: str | None
    ) -> Deferred[list[dict[str, Any]]]:
        """Run a service command on logic and the linked services (or ``serviceKey``'s)."""


@dataclass
class PackageOutcome:
    """What an install or upgrade did: ``ok``, and one line per thing worth reading."""

    ok: bool = True
    lines: list[str] = field(default_factory=list)
    #: The one sentence summing it up (the last of ``lines``).
    summary: str = ""

    def finish(self, ok: bool, summary: str) -> PackageOutcome:
        """Record the outcome and its summary line."""
        self.ok = ok
        self.summary = summary
        self.lines.append(summary)
        return self


def answerLine(answer: dict[str, Any]) -> str:
    """One service's answer to a plugin command as one line."""
    where = answer["service"] + (f" pid {answer['pid']}" if answer.get("pid") else "")
    if not answer["ok"]:
        return f"{where}: refused: {answer['error']}"
    result = answer["result"]
    if result["state"] == _ABSENT:
        return f"{where}: nothing to do, {result['reason']}"
    reason = f" ({result['reason']})" if result.get("reason") else ""
    return f"{where}: {result['action']} {result['plugin']}: {result['state']}{reason}"


def failedAnswers(answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The answers of services that refused, or where the plugin ended failed."""
    return [a for a in answers if not a["ok"] or a["result"]["state"] == "failed"]


def failureReason(answers: list[dict[str, Any]]) -> str:
    """Why the failed ``answers`` failed, one clause per service."""
    parts = []
    for answer in failedAnswers(answers):
        why = answer["error"] if not answer["ok"] else answer["result"]["reason"]
        parts.append(f"{why}" if answer["service"] == LOGIC.key else f"{answer['service']}: {why}")
    return "; ".join(parts)


class PluginPackageManager:
    """Installs and upgrades plugin distributions with ``pip`` and restarts them.

    ``home`` is logic's home (replaced versions are kept in ``<home>/plugin_packages``);
    ``migrateOffline(pluginName)`` migrates a plugin's schema with logic's config when the
    platform is not running and returns what it did (``None``: not here).
    """

    def __init__(
        self,
        *,
        home: Path,
        pip: Pip,
        platform: PlatformAccess,
        inThread: InThread,
        by: str,
        migrateOffline: Callable[[str], str | None] | None = None,
    ) -> None:
        self._home = home
        self._pip = pip
        self._platform = platform
        self._inThread = inThread
        self._by = by
        self._migrateOffline = migrateOffline

    @property
    def cacheDir(self) -> Path:
        """Where the copies of replaced versions are kept."""
        return self._home / PACKAGE_CACHE_DIR

    def _say(self, outcome: PackageOutcome, line: str) -> None:
        outcome.lines.append(line)
        self._pip.say(line)

    async def install(self, source: Path, *, enable: bool = False) -> PackageOutcome:
        """Install the plugin(s) of ``source``; with ``enable`` enable them on every service
        of the running platform. Raises ``PluginPackageError`` before installing anything
        when ``source`` is not a plugin or a plugin of it is installed already."""
        outcome = PackageOutcome()
        found: PackageSource = await self._inThread(inspectSource, source)
        for name in found.pluginNames:
            present = await self._inThread(installedDistribution, name)
            if present is not None:
                raise PackageRefused(
                    f"{name} is installed already (version {present.version}); use "
                    f"'peek plugin upgrade {name} {source}'"
                )
        running = await self._platform.running() if enable else False
        if enable and not running:
            raise PluginPackageError(
                "--enable needs the running platform and logic does not answer; install "
                "without it and enable the plugin once the platform runs"
            )
        await self._inThread(self._pip.install, source)
        versions = []
        for name in found.pluginNames:
            present = await self._inThread(installedDistribution, name)
            if present is None:
                return outcome.finish(False, f"pip finished but {name} is not installed")
            versions.append(f"{name} {present.version}")
        self._say(outcome, f"installed {', '.join(versions)}")
        if not enable:
            hints = " and ".join(f"'peek plugin enable {n}'" for n in found.pluginNames)
            return outcome.finish(True, f"installed; run {hints} to load it on every service")
        ok = True
        for name in found.pluginNames:
            answers = await self._platform.run("plugin.enable", self._args(name), None)
            for answer in answers:
                self._say(outcome, answerLine(answer))
            ok = ok and bool(answers) and not failedAnswers(answers)
        if ok:
            return outcome.finish(True, f"installed and enabled {', '.join(versions)}")
        return outcome.finish(False, f"installed {', '.join(versions)}, but enabling failed")

    async def upgrade(
        self, pluginName: str, source: Path, *, force: bool = False
    ) -> PackageOutcome:
        """Replace installed ``pluginName`` by the version in ``source``, migrate and restart
        it; reinstall the previous version when logic cannot run the new one."""
        outcome = PackageOutcome()
        old: InstalledDistribution | None = await self._inThread(installedDistribution, pluginName)
        if old is None:
            raise PackageRefused(
                f"{pluginName} is not installed; use 'peek plugin install {source}'"
            )
        found: PackageSource = await self._inThread(inspectSource, source)
        if pluginName not in found.plugins:
            raise PackageRefused(
                f"{source} does not provide {pluginName} (it provides "
                f"{', '.join(found.pluginNames)})"
            )
        if found.distName is not None and canonicalName(found.distName) != canonicalName(
            old.distName
        ):
            raise PackageRefused(
                f"{source} is distribution {found.distName} but {pluginName} is installed "
                f"from {old.distName}; uninstall {old.distName} with pip first"
            )
        if found.version == old.version and not force:
            raise PackageRefused(
                f"{pluginName} {old.version} is installed already; --force reinstalls it"
            )
        running = await self._platform.running()
        artefact = await self._inThread(makeRollbackArtefact, old, self.cacheDir)
        self._say(outcome, f"kept {artefact} to roll back to")
        report = await self._inThread(self._pip.install, source, force=force)
        new = await self._inThread(installedDistribution, pluginName)
        if new is None or (not report and not force):
            await self._rollback(outcome, artefact)
            why = "it no longer provides the plugin" if new is None else "pip installed nothing"
            return outcome.finish(
                False, f"upgrade of {pluginName} failed: {why}; version {old.version} reinstalled"
            )
        self._say(outcome, f"installed {pluginName} {new.version} (was {old.version})")
        if running:
            return await self._restartEverywhere(outcome, pluginName, old, new, artefact)
        return await self._migrateHere(outcome, pluginName, old, new, artefact)

    async def _restartEverywhere(
        self,
        outcome: PackageOutcome,
        name: str,
        old: InstalledDistribution,
        new: InstalledDistribution,
        artefact: RollbackArtefact,
    ) -> PackageOutcome:
        """Restart on logic (which migrates), then on the other services that run it."""
        logicAnswers = await self._restart(outcome, name, LOGIC.key)
        if failedAnswers(logicAnswers):
            reason = failureReason(logicAnswers)
            await self._rollback(outcome, artefact)
            again = await self._restart(outcome, name, LOGIC.key)
            state = (
                "running"
                if not failedAnswers(again)
                else f"logic still reports: {failureReason(again)}"
            )
            return outcome.finish(
                False,
                f"upgrade of {name} to {new.version} failed on logic: {reason}; version "
                f"{old.version} reinstalled and {state}",
            )
        metadata = await self._inThread(_installedMetadata, name)
        others = [s.key for s in ALL_SERVICES if s is not LOGIC and runsOnService(metadata, s)]
        failed: list[dict[str, Any]] = []
        for key in others:
            failed += failedAnswers(await self._restart(outcome, name, key))
        if failed:
            return outcome.finish(
                False,
                f"{name} {new.version} runs on logic (its schema is migrated, so the previous "
                f"version was not put back), but not on: {failureReason(failed)}; fix that "
                f"and run 'peek plugin restart {name}'",
            )
        return outcome.finish(
            True, f"upgraded {name} from {old.version} to {new.version} on every service"
        )

    async def _migrateHere(
        self,
        outcome: PackageOutcome,
        name: str,
        old: InstalledDistribution,
        new: InstalledDistribution,
        artefact: RollbackArtefact,
    ) -> PackageOutcome:
        """The platform is stopped: migrate with logic's config, roll back when that fails."""
        self._say(outcome, "logic does not answer: migrating here with logic's config")
        if self._migrateOffline is not None:
            try:
                done = await self._inThread(self._migrateOffline, name)
            except Exception as e:
                await self._rollback(outcome, artefact)
                return outcome.finish(
                    False,
                    f"upgrade of {name} to {new.version} failed: {e}; version {old.version} "
                    f"reinstalled",
                )
            if done:
                self._say(outcome, done)
        return outcome.finish(
            True,
            f"upgraded {name} from {old.version} to {new.version}; the services load it when "
            f"they start",
        )

    async def _restart(
        self, outcome: PackageOutcome, name: str, serviceKey: str
    ) -> list[dict[str, Any]]:
        answers = await self._platform.run("plugin.restart", self._args(name), serviceKey)
        for answer in answers:
            self._say(outcome, answerLine(answer))
        return answers

    async def _rollback(self, outcome: PackageOutcome, artefact: RollbackArtefact) -> None:
        self._say(outcome, f"reinstalling {artefact}")
        await self._inThread(self._pip.reinstall, artefact)

    def _args(self, name: str) -> dict[str, Any]:
        return {"plugin": name, "by": self._by}


def _installedMetadata(pluginName: str) -> PluginMetadata:
    """The ``plugin_package.json`` of installed ``pluginName``, read from its directory."""
    rootDir = packageDirectory(pluginName)
    if rootDir is None:
        raise PluginPackageError(f"{pluginName} is not importable after installing it")
    return readPluginMetadata(pluginName, rootDir)

"""Run a plugin's install and upgrade hooks once per installation and version step.

The record is ``peek_platform.plugin_install`` (the data version of each plugin) and
``peek_platform.plugin_install_step`` (every hook that ran). One transaction holds the
cross-process migration lock, reads the record, runs the pending hooks in version order on
a session of the same connection and writes the record: a failure leaves data and record
as they were, and two processes never run the same step (docs/plugins/install-hooks.rst).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from packaging.version import InvalidVersion, Version
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from twisted.python import threadable

from peek_platform.plugin.errors import PluginValidationError
from peek_platform.plugin.references import importReference
from peek_platform.storage.platform_schema import (
    PLATFORM_ALEMBIC_DIR,
    PLATFORM_SCHEMA,
    platformMetadata,
    pluginInstallStepTable,
    pluginInstallTable,
)
from peek_platform.storage.plugin_storage import PluginStorage, PluginStorageError
from peek_plugin_base.logic.PluginLogicInstallHooksABC import (
    PluginInstallContext,
    PluginLogicInstallHooksABC,
)
from peek_plugin_base.storage.DbConnection import DbConnection

logger = logging.getLogger(__name__)

#: The ``plugin_package.json`` key naming the hooks class, inside the ``logic`` section.
INSTALL_HOOKS_KEY = "logic.installHooks"

#: ``plugin_install_step.step`` values.
STEP_INSTALL = "install"
STEP_UPGRADE = "upgrade"
STEP_UNINSTALL = "uninstall"


class PluginInstallError(PluginStorageError):
    """A plugin's install hooks are declared wrongly or one failed; nothing was changed."""


@dataclass(frozen=True)
class InstallStep:
    """One hook to run: ``install`` or an ``upgrade`` to ``toVersion``."""

    step: str
    fromVersion: str | None
    toVersion: str
    run: Callable[[PluginInstallContext], None] | None

    def describe(self) -> str:
        """``install 0.1.0`` or ``upgrade 0.1.0 -> 0.2.0``, for logs and errors."""
        if self.fromVersion is None:
            return f"{self.step} {self.toVersion}"
        return f"{self.step} {self.fromVersion} -> {self.toVersion}"


def loadInstallHooks(pluginName: str, packageJson: Mapping[str, Any]) -> Any:
    """An instance of the declared hooks class, or ``None`` when the plugin declares none."""
    section = packageJson.get("logic")
    reference = section.get("installHooks") if isinstance(section, dict) else None
    if reference is None:
        return None
    try:
        hooksClass = importReference(pluginName, INSTALL_HOOKS_KEY, reference)
    except PluginValidationError as e:
        raise PluginInstallError(pluginName, e.message) from e
    if not (isinstance(hooksClass, type) and issubclass(hooksClass, PluginLogicInstallHooksABC)):
        raise PluginInstallError(
            pluginName,
            f'"{INSTALL_HOOKS_KEY}" {reference!r} must name a subclass of '
            "peek_plugin_base.logic.PluginLogicInstallHooksABC.PluginLogicInstallHooksABC",
        )
    return hooksClass()


def installDbConnection(
    url: str,
    engineArgs: Mapping[str, Any],
    storage: PluginStorage | None,
    *,
    isReactorThread: Callable[[], bool] = threadable.isInIOThread,
    engine: Engine | None = None,
) -> DbConnection:
    """A connection seeing the plugin's schema (if any) and the platform's, for the hooks;
    ``engine`` is a shared engine to use (PostgreSQL, where every schema is visible)."""
    if storage is None:
        return DbConnection(
            url,
            platformMetadata,
            str(PLATFORM_ALEMBIC_DIR),
            dict(engineArgs),
            enableCreateAll=False,
            isReactorThread=isReactorThread,
            engine=engine,
        )
    return DbConnection(
        url,
        sa.MetaData(schema=storage.schema),
        str(storage.alembicDir),
        dict(engineArgs),
        enableCreateAll=False,
        isReactorThread=isReactorThread,
        attachSchemas=[PLATFORM_SCHEMA],
        engine=engine,
    )


def _version(pluginName: str, value: str, what: str) -> Version:
    try:
        return Version(value)
    except InvalidVersion:
        raise PluginInstallError(
            pluginName, f"{what} {value!r} is not a PEP 440 version like '1.2.0'"
        ) from None


def planInstallSteps(
    pluginName: str, recorded: str | None, current: str, hooks: Any
) -> list[InstallStep]:
    """The hooks to run to bring data at ``recorded`` (``None``: not installed) to ``current``.

    ``install`` alone for a fresh install; otherwise every upgrade step whose version is
    above ``recorded`` and at most ``current``, in version order. Data newer than the
    installed code is refused.
    """
    currentVersion = _version(pluginName, current, "the plugin version")
    if recorded is None:
        return [InstallStep(STEP_INSTALL, None, current, hooks.install if hooks else None)]
    recordedVersion = _version(pluginName, recorded, "the recorded data version")
    if recordedVersion == currentVersion:
        return []
    if recordedVersion > currentVersion:
        raise PluginInstallError(
            pluginName,
            f"its data is at version {recorded}, newer than the installed plugin {current}; "
            f"install {pluginName} {recorded} or newer",
        )
    declared = hooks.upgradeSteps() if hooks is not None else {}
    steps = sorted(
        (_version(pluginName, target, "the upgrade step"), target, run)
        for target, run in declared.items()
    )
    plan: list[InstallStep] = []
    fromVersion = recorded
    for version, target, run in steps:
        if recordedVersion < version <= currentVersion:
            plan.append(InstallStep(STEP_UPGRADE, fromVersion, target, run))
            fromVersion = target
    return plan


def recordedVersion(conn: Connection, pluginName: str) -> str | None:
    """The data version recorded for ``pluginName``; ``None`` when it is not installed."""
    return conn.execute(
        sa.select(pluginInstallTable.c.version).where(
            pluginInstallTable.c.plugin_name == pluginName
        )
    ).scalar_one_or_none()


def recordedVersions(db: DbConnection) -> dict[str, str]:
    """The data version of every installed plugin, in one read (blocking; no lock)."""
    db.checkNotReactorThread("install record read")
    table = pluginInstallTable
    with db.dbEngine.connect() as conn:
        rows = conn.execute(sa.select(table.c.plugin_name, table.c.version)).all()
    return {name: version for name, version in rows}


def isSameVersion(recorded: str | None, version: str) -> bool:
    """Whether a recorded data version is ``version`` (so no install hook is pending)."""
    try:
        return recorded is not None and Version(recorded) == Version(version)
    except InvalidVersion:
        return False


def isRecordedAt(db: DbConnection, pluginName: str, version: str) -> bool:
    """Whether the record already holds ``version``, so no hook is pending (blocking).

    Read without the migration lock: it only says yes when the committed record is at
    ``version``, which is what ``runInstallSteps`` would find under the lock too.
    """
    db.checkNotReactorThread("install record read")
    with db.dbEngine.connect() as conn:
        recorded = recordedVersion(conn, pluginName)
    return isSameVersion(recorded, version)


def runInstallSteps(
    db: DbConnection,
    pluginName: str,
    version: str,
    hooks: Any,
    storageDirectory: Path,
) -> list[InstallStep]:
    """Run the pending hooks and record ``version``, all in one transaction (blocking).

    Returns the steps that ran (empty when the record is already at ``version``).
    """
    with db.migrationConnection() as conn:
        recorded = recordedVersion(conn, pluginName)
        steps = planInstallSteps(pluginName, recorded, version, hooks)
        if recorded is not None and not steps and Version(recorded) == Version(version):
            return []
        now = datetime.now(UTC)
        session = Session(bind=conn)
        try:
            for step in steps:
                _runStep(session, pluginName, step, recorded, storageDirectory)
                conn.execute(
                    pluginInstallStepTable.insert().values(
                        plugin_name=pluginName,
                        step=step.step,
                        from_version=step.fromVersion,
                        to_version=step.toVersion,
                        done=now,
                    )
                )
        finally:
            session.close()
        if recorded is None:
            conn.execute(
                pluginInstallTable.insert().values(
                    plugin_name=pluginName, version=version, installed=now, updated=now
                )
            )
        else:
            conn.execute(
                pluginInstallTable.update()
                .where(pluginInstallTable.c.plugin_name == pluginName)
                .values(version=version, updated=now)
            )
    return steps


def _runStep(
    session: Session,
    pluginName: str,
    step: InstallStep,
    recorded: str | None,
    storageDirectory: Path,
) -> None:
    """Run one hook and flush its changes; wrap its failure in ``PluginInstallError``."""
    if step.run is None:
        return
    context = PluginInstallContext(
        pluginName, session, step.fromVersion, step.toVersion, storageDirectory
    )
    try:
        step.run(context)
        session.flush()
    except Exception as e:
        state = f"at {recorded}" if recorded else "not installed"
        raise PluginInstallError(
            pluginName,
            f"the {step.describe()} hook failed and was rolled back (its data stays "
            f"{state}): {type(e).__name__}: {e}",
        ) from e
    logger.info("%s: ran the %s hook", pluginName, step.describe())


def runUninstall(db: DbConnection, pluginName: str, hooks: Any, storageDirectory: Path) -> str:
    """Run the ``uninstall`` hook and drop the record in one transaction; the removed version.

    ``PluginInstallError`` when the plugin is not installed (no record).
    """
    with db.migrationConnection() as conn:
        recorded = recordedVersion(conn, pluginName)
        if recorded is None:
            raise PluginInstallError(
                pluginName, "is not installed (the platform has no record of it); nothing to do"
            )
        step = InstallStep(STEP_UNINSTALL, recorded, "", hooks.uninstall if hooks else None)
        session = Session(bind=conn)
        try:
            if step.run is not None:
                context = PluginInstallContext(
                    pluginName, session, recorded, None, storageDirectory
                )
                try:
                    step.run(context)
                    session.flush()
                except Exception as e:
                    raise PluginInstallError(
                        pluginName,
                        f"the uninstall hook failed and was rolled back (the plugin stays "
                        f"installed at {recorded}): {type(e).__name__}: {e}",
                    ) from e
        finally:
            session.close()
        conn.execute(
            pluginInstallTable.delete().where(pluginInstallTable.c.plugin_name == pluginName)
        )
        conn.execute(
            pluginInstallStepTable.insert().values(
                plugin_name=pluginName,
                step=STEP_UNINSTALL,
                from_version=recorded,
                to_version=None,
                done=datetime.now(UTC),
            )
        )
    return recorded

"""Plugin start-up at scale: N copies of the plugin template on each service, start and stop.

It generates N copies of the noop template with the scaffold generator (``peek plugin
new``'s code), named ``peek_plugin_scale<i>``, into one temporary directory put on
``PYTHONPATH`` (nothing is pip-installed: the loader finds packages on ``sys.path``), writes
a config.json enabling them, and runs the service as a real process. Reported are the
seconds from process start to its "<service> started:" line and from SIGTERM to exit.

Logic runs on its embedded SQLite and on a throwaway PostgreSQL; for each, "first" is a
fresh database (every plugin's migrations run) and "warm" the next start on the same one.
Field, office, agent and worker run alone (no logic): they log "started" once their plugins
have started, whether or not logic is up. "ms/plugin" is ``(t(N) - t(1)) / (N - 1)``.
Each configuration runs ``--rounds`` times; the best is printed.

The children write bytecode to ``PYTHONPYCACHEPREFIX`` in the bench's temporary directory
(as an installed plugin's modules are byte-compiled): the generated plugins are compiled
first and each service is started once with one plugin, unmeasured, so no run pays for
compiling. ``--repo DIR`` runs the services of another checkout (e.g. a copy of an older
tree, for before/after figures).

    python bench/plugin_scale.py [--counts 1,100,300] [--rounds 2] [--quick] [--repo DIR]
        [--services logic,field,office,agent,worker] [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import harness

REPO_ROOT = harness.REPO_ROOT
sys.path.insert(0, str(REPO_ROOT))

from peek_platform.scaffold.generator import createPluginProject  # noqa: E402
from peek_platform.scaffold.names import PluginNaming  # noqa: E402
from peek_platform.services import ALL_SERVICES, LOGIC, WORKER, ServiceSpec  # noqa: E402
from peek_platform.testing.ServiceProcess import ServiceProcess  # noqa: E402

SECRET = "plugin-scale-bench-secret-0123456789"
#: Seconds a start or a stop may take before the run is reported as failed.
WAIT_SECONDS = 600.0


def pluginNames(count: int) -> list[str]:
    """The package names of the first ``count`` generated plugins."""
    return [f"peek_plugin_scale{i:03d}" for i in range(count)]


def generatePlugins(count: int, siteDir: Path) -> list[str]:
    """Generate ``count`` plugin projects from the template; move each package into
    ``siteDir`` (one directory on ``PYTHONPATH``, as one site-packages would be)."""
    projectsDir = siteDir.parent / "projects"
    projectsDir.mkdir(parents=True, exist_ok=True)
    siteDir.mkdir(parents=True, exist_ok=True)
    names = pluginNames(count)
    for name in names:
        naming = PluginNaming(packageName=name, shortName=name.removeprefix("peek_plugin_"))
        projectDir, _ = createPluginProject(naming, projectsDir)
        os.rename(projectDir / name, siteDir / name)
    shutil.rmtree(projectsDir)
    return names


def writeConfig(spec: ServiceSpec, home: Path, plugins: Sequence[str], dbUrl: str) -> None:
    """A config.json for ``spec``: the plugins, loopback sites on port 0, the database."""
    home.mkdir(parents=True, exist_ok=True)
    config: dict = {
        "plugin": {"enabled": list(plugins)},
        "logging": {"level": "INFO"},
        "dataExchange": {"port": harness.freePort(), "secret": SECRET, "host": "127.0.0.1"},
    }
    sites = {site.name: {"sitePort": 0, "bindAddress": "127.0.0.1"} for site in spec.sites}
    if sites:
        config["httpServer"] = sites
    if spec.key == WORKER.key:
        config["celery"] = {"workerConcurrency": 1}
    if dbUrl and spec.key in (LOGIC.key, WORKER.key):
        config["sqlalchemy"] = {"connectUrl": dbUrl}
    (home / "config.json").write_text(json.dumps(config), encoding="utf-8")


def runOnce(spec: ServiceSpec, homeRoot: Path, env: dict[str, str], count: int) -> dict:
    """Start ``spec`` once; seconds to its "started:" line and from SIGTERM to exit."""
    home = homeRoot / spec.homeDirName
    began = time.monotonic()
    service = ServiceProcess.forService(spec, env, home=home, timeout=WAIT_SECONDS)
    try:
        match = service.waitForLine(rf"{spec.vortexName} started: (\d+) plugins started")
        startSeconds = time.monotonic() - began
        started = int(match.group(1))
        stopBegan = time.monotonic()
        status = service.stop()
        stopSeconds = time.monotonic() - stopBegan
    finally:
        service.kill()
    if started != count or status != 0:
        summary = [line for line in service.lines if "started:" in line]
        print(f"WARNING {spec.key} N={count}: exit {status}; {summary[-1:]}", file=sys.stderr)
    return {"start": startSeconds, "stop": stopSeconds, "pluginsStarted": started}


def best(runs: Sequence[dict]) -> dict:
    """The run with the shortest start (the least disturbed by the shared machine)."""
    return min(runs, key=lambda run: run["start"])


def benchLogic(
    counts: Sequence[int], rounds: int, env: dict[str, str], database: str, pg: object
) -> list[dict]:
    """Logic on ``database``: a first run on a fresh database, then a warm start, per count."""
    results = []
    for count in counts:
        firsts, warms = [], []
        for _ in range(rounds):
            homeRoot = Path(tempfile.mkdtemp(prefix="peek-scale-"))
            try:
                dbUrl = pg.createDatabase() if pg is not None else ""  # type: ignore[attr-defined]
                writeConfig(LOGIC, homeRoot / LOGIC.homeDirName, pluginNames(count), dbUrl)
                runEnv = dict(env, PEEK_HOME_ROOT=str(homeRoot))
                firsts.append(runOnce(LOGIC, homeRoot, runEnv, count))
                warms.append(runOnce(LOGIC, homeRoot, runEnv, count))
            finally:
                shutil.rmtree(homeRoot, ignore_errors=True)
        for phase, runs in (("first", firsts), ("warm", warms)):
            results.append(
                {"service": f"logic/{database}", "phase": phase, "n": count, **best(runs)}
            )
            printRow(results[-1])
    return results


def benchService(
    spec: ServiceSpec, counts: Sequence[int], rounds: int, env: dict[str, str]
) -> list[dict]:
    """``spec`` alone (no logic) with each count of plugins; its second start is measured."""
    results = []
    for count in counts:
        runs = []
        homeRoot = Path(tempfile.mkdtemp(prefix="peek-scale-"))
        try:
            writeConfig(spec, homeRoot / spec.homeDirName, pluginNames(count), "")
            runEnv = dict(env, PEEK_HOME_ROOT=str(homeRoot))
            runOnce(spec, homeRoot, runEnv, count)  # bytecode caches, homes: not measured
            for _ in range(rounds):
                runs.append(runOnce(spec, homeRoot, runEnv, count))
        finally:
            shutil.rmtree(homeRoot, ignore_errors=True)
        results.append({"service": spec.key, "phase": "warm", "n": count, **best(runs)})
        printRow(results[-1])
    return results


def warmUp(siteDir: Path, services: Sequence[ServiceSpec], env: dict[str, str]) -> None:
    """Byte-compile the plugins and start each service once with one plugin (unmeasured)."""
    began = time.monotonic()
    compileAll = [sys.executable, "-m", "compileall", "-q", "-j", "0", str(siteDir)]
    subprocess.run(compileAll, env=env, check=True, stdout=subprocess.DEVNULL)
    for spec in services:
        homeRoot = Path(tempfile.mkdtemp(prefix="peek-scale-"))
        try:
            writeConfig(spec, homeRoot / spec.homeDirName, pluginNames(1), "")
            runOnce(spec, homeRoot, dict(env, PEEK_HOME_ROOT=str(homeRoot)), 1)
        finally:
            shutil.rmtree(homeRoot, ignore_errors=True)
    print(f"warmed up in {time.monotonic() - began:.1f} s")


def printRow(row: dict) -> None:
    """One measured configuration, as it finishes."""
    print(
        f"  {row['service']:<18} {row['phase']:<5} N={row['n']:<4} "
        f"start {row['start']:6.2f} s  stop {row['stop']:5.2f} s",
        flush=True,
    )


def printTable(rows: Sequence[dict]) -> None:
    """The figures with, per configuration, milliseconds per plugin over the 1-plugin run."""
    base = {(r["service"], r["phase"]): r for r in rows if r["n"] == 1}
    header = (
        f"{'service':<18} {'phase':<5} {'N':>4} {'start s':>8} {'ms/plugin':>9} {'stop s':>7} "
        f"{'started':>7}"
    )
    print()
    print(header)
    print("-" * len(header))
    for row in rows:
        one = base.get((row["service"], row["phase"]))
        perPlugin = (
            f"{(row['start'] - one['start']) * 1000 / (row['n'] - 1):9.1f}"
            if one is not None and row["n"] > 1
            else f"{'':>9}"
        )
        print(
            f"{row['service']:<18} {row['phase']:<5} {row['n']:>4} {row['start']:8.2f} "
            f"{perPlugin} {row['stop']:7.2f} {row['pluginsStarted']:>7}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,100,300", help="plugin counts, comma separated")
    parser.add_argument("--rounds", type=int, default=2, help="runs per configuration (best)")
    parser.add_argument("--services", default=",".join(spec.key for spec in ALL_SERVICES))
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true", help="N = 1, 50 on SQLite only")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument("--repo", type=Path, default=REPO_ROOT, help="checkout to run")
    args = parser.parse_args()
    counts = [1, 50] if args.quick else sorted({int(c) for c in args.counts.split(",")})
    databases = ["sqlite"] if args.quick else args.databases.split(",")
    services = [spec for spec in ALL_SERVICES if spec.key in args.services.split(",")]

    workDir = Path(tempfile.mkdtemp(prefix="peek-plugin-scale-"))
    pg = None
    try:
        siteDir = workDir / "site"
        began = time.monotonic()
        generatePlugins(max(counts), siteDir)
        print(f"generated {max(counts)} plugins in {time.monotonic() - began:.1f} s")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = os.pathsep.join([str(siteDir), str(args.repo.resolve())])
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(workDir / "pycache")
        warmUp(siteDir, services, env)
        print(f"load average: {os.getloadavg()[0]:.2f}")
        rows: list[dict] = []
        for spec in services:
            if spec.key != LOGIC.key:
                rows += benchService(spec, counts, args.rounds, env)
                continue
            for database in databases:
                if database == "postgresql":
                    from peek_plugin_base.testing.PostgreSQLTestServer import (
                        PostgreSQLTestServer,
                    )

                    # Every plugin's engine keeps a pooled connection: 300 plugins need more
                    # than PostgreSQL's default 100 connections.
                    pg = PostgreSQLTestServer(settings={"max_connections": "1000"})
                    pg.start()
                dbServer = pg if database != "sqlite" else None
                rows += benchLogic(counts, args.rounds, env, database, dbServer)
        print(f"load average: {os.getloadavg()[0]:.2f}")
        printTable(rows)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    finally:
        if pg is not None:
            pg.stop()
        shutil.rmtree(workDir, ignore_errors=True)


if __name__ == "__main__":
    main()

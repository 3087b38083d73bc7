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
Each configuration runs ``--rounds`` times; the best is printed. Beside the wall-clock
seconds, "cpu" is the CPU seconds the service process used until "started" (from
``/proc``): on a shared machine it moves far less with the load than the wall clock.

The children write bytecode to ``PYTHONPYCACHEPREFIX`` in the bench's temporary directory
(as an installed plugin's modules are byte-compiled): the generated plugins are compiled
first and each service is started once with one plugin, unmeasured, so no run pays for
compiling. ``--repo DIR`` runs the services of another checkout; ``--before DIR`` runs each
configuration with DIR's services and then with ``--repo``'s, one after the other, and
prints both with the after/before ratios: a same-run comparison under the same load.

    python bench/plugin_scale.py [--counts 1,100,300] [--rounds 2] [--quick] [--repo DIR]
        [--before DIR] [--services logic,field,office,agent,worker]
        [--databases sqlite,postgresql]
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


def cpuSeconds(pid: int) -> float:
    """User plus system CPU seconds process ``pid`` has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def runOnce(spec: ServiceSpec, homeRoot: Path, env: dict[str, str], count: int) -> dict:
    """Start ``spec`` once; seconds (and CPU seconds) to its "started:" line, and seconds
    from SIGTERM to exit."""
    home = homeRoot / spec.homeDirName
    began = time.monotonic()
    service = ServiceProcess.forService(spec, env, home=home, timeout=WAIT_SECONDS)
    try:
        match = service.waitForLine(rf"{spec.vortexName} started: (\d+) plugins started")
        startSeconds = time.monotonic() - began
        startCpu = cpuSeconds(service.pid)
        started = int(match.group(1))
        stopBegan = time.monotonic()
        status = service.stop()
        stopSeconds = time.monotonic() - stopBegan
    finally:
        service.kill()
    if started != count or status != 0:
        summary = [line for line in service.lines if "started:" in line]
        print(f"WARNING {spec.key} N={count}: exit {status}; {summary[-1:]}", file=sys.stderr)
    return {"start": startSeconds, "cpu": startCpu, "stop": stopSeconds, "pluginsStarted": started}


def best(runs: Sequence[dict]) -> dict:
    """The run with the shortest start (the least disturbed by the shared machine)."""
    return min(runs, key=lambda run: run["start"])


def benchLogic(
    count: int, rounds: int, env: dict[str, str], database: str, pg: object, variant: str
) -> list[dict]:
    """Logic on ``database`` with ``count`` plugins: a first run on a fresh database, then a
    warm start; the best of ``rounds`` each."""
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
    results = []
    for phase, runs in (("first", firsts), ("warm", warms)):
        row = {"service": f"logic/{database}", "phase": phase, "n": count, "variant": variant}
        results.append({**row, **best(runs)})
        printRow(results[-1])
    return results


def benchService(
    spec: ServiceSpec, count: int, rounds: int, env: dict[str, str], variant: str
) -> list[dict]:
    """``spec`` alone (no logic) with ``count`` plugins; its second start is measured."""
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
    row = {"service": spec.key, "phase": "warm", "n": count, "variant": variant}
    result = {**row, **best(runs)}
    printRow(result)
    return [result]


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
    variant = f"{row['variant']:<7}" if row["variant"] else ""
    print(
        f"  {variant}{row['service']:<18} {row['phase']:<5} N={row['n']:<4} "
        f"start {row['start']:6.2f} s  cpu {row['cpu']:6.2f} s  stop {row['stop']:5.2f} s",
        flush=True,
    )


def perPlugin(row: dict, one: dict | None, key: str) -> str:
    """Milliseconds of ``key`` per plugin over the 1-plugin run, or blank."""
    if one is None or row["n"] <= 1:
        return ""
    return f"{(row[key] - one[key]) * 1000 / (row['n'] - 1):.1f}"


def printTable(rows: Sequence[dict], variants: Sequence[str]) -> None:
    """Per configuration and variant: seconds to "started", CPU seconds, ms/plugin (wall and
    CPU) over the 1-plugin run; with two variants also the second's ratios to the first."""
    found = {(r["variant"], r["service"], r["phase"], r["n"]): r for r in rows}
    configs = list(dict.fromkeys((r["service"], r["phase"], r["n"]) for r in rows))
    header = f"{'service':<18} {'phase':<5} {'N':>4}"
    for variant in variants:
        label = f"{variant} " if variant else ""
        header += f" | {label + 'start s':>14} {'cpu s':>6} {'ms/p':>6} {'cpu ms/p':>8}"
    if len(variants) == 2:
        header += f" | {'start x':>7} {'cpu x':>6}"
    print()
    print(header)
    print("-" * len(header))
    for service, phase, n in configs:
        line = f"{service:<18} {phase:<5} {n:>4}"
        for variant in variants:
            row = found.get((variant, service, phase, n))
            one = found.get((variant, service, phase, 1))
            if row is None:
                line += f" | {'':>14} {'':>6} {'':>6} {'':>8}"
                continue
            line += (
                f" | {row['start']:14.2f} {row['cpu']:6.2f} {perPlugin(row, one, 'start'):>6} "
                f"{perPlugin(row, one, 'cpu'):>8}"
            )
        if len(variants) == 2:
            old = found.get((variants[0], service, phase, n))
            new = found.get((variants[1], service, phase, n))
            if old is not None and new is not None:
                line += f" | {new['start'] / old['start']:7.2f} {new['cpu'] / old['cpu']:6.2f}"
        print(line)


def serviceEnv(siteDir: Path, repo: Path, workDir: Path) -> dict[str, str]:
    """The environment of the services of checkout ``repo`` with the generated plugins."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join([str(siteDir), str(repo.resolve())])
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(workDir / "pycache")
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,100,300", help="plugin counts, comma separated")
    parser.add_argument("--rounds", type=int, default=2, help="runs per configuration (best)")
    parser.add_argument("--services", default=",".join(spec.key for spec in ALL_SERVICES))
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true", help="N = 1, 50 on SQLite only")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument("--repo", type=Path, default=REPO_ROOT, help="checkout to run")
    parser.add_argument("--before", type=Path, help="checkout to run first, for comparison")
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
        variants = {"": serviceEnv(siteDir, args.repo, workDir)}
        if args.before is not None:
            variants = {
                "before": serviceEnv(siteDir, args.before, workDir),
                "after": variants[""],
            }
        for env in variants.values():
            warmUp(siteDir, services, env)
        print(f"load average: {os.getloadavg()[0]:.2f}")
        rows: list[dict] = []
        for spec in services:
            for database in databases if spec.key == LOGIC.key else [""]:
                if database == "postgresql" and pg is None:
                    from peek_plugin_base.testing.PostgreSQLTestServer import (
                        PostgreSQLTestServer,
                    )

                    # Before logic shared one engine per database, each plugin kept its own
                    # pooled connection: 300 plugins needed more than the default 100.
                    pg = PostgreSQLTestServer(settings={"max_connections": "1000"})
                    pg.start()
                dbServer = pg if database == "postgresql" else None
                for count in counts:
                    for variant, env in variants.items():
                        if spec.key == LOGIC.key:
                            rows += benchLogic(count, args.rounds, env, database, dbServer, variant)
                        else:
                            rows += benchService(spec, count, args.rounds, env, variant)
        print(f"load average: {os.getloadavg()[0]:.2f}")
        printTable(rows, list(variants))
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    finally:
        if pg is not None:
            pg.stop()
        shutil.rmtree(workDir, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Chaos: the whole platform under load while its processes are SIGKILLed one at a time.

``python bench/chaos.py [--quick] [--devices 500] [--backends postgres,embedded]
[--faults logic,field,...] [--rate 10]``

For each backend (PostgreSQL + Redis, then the embedded SQLite + embedded broker) it starts
``run_peek_platform`` with all five services, device links from ``bench/chaos_devices.py``
(observing noop's items and pushing noop increments through an offline queue), the agent
calling logic's ``noopAddOnLogic`` and logic submitting tasks to the worker (the
``peek_plugin_chaosload`` plugin in ``bench/chaos_plugin``). Then, one at a time and under
that load, it SIGKILLs each fault's process; the supervisor restarts services, the bench
restarts Redis and PostgreSQL itself. Per fault it prints a table row; at the end one JSON
line with the totals. See ``bench/README.rst`` (Chaos) for every column.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import text

from peek_platform.config import setDotted, writeConfigFile
from peek_platform.launcher import PORT_OFFSETS, firstRunConfig
from peek_platform.services import AGENT, ALL_SERVICES, FIELD, LOGIC, WORKER
from peek_platform.storage.db_config import SQLITE_DATABASE_FILE
from peek_platform.testing.ServiceProcess import consoleScript, killProcessGroup
from peek_platform.vortex.settings import generateSecret
from peek_plugin_base.storage.DbEngine import createDbEngine
from peek_plugin_base.testing.FreePort import freeTcpPort, freeTcpPortBlock
from peek_plugin_base.testing.PostgreSQLTestServer import findPostgresBinDir
from peek_plugin_base.testing.RedisTestServer import findRedisServer

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PLUGIN_DIR = BENCH / "chaos_plugin"
DEVICES_SCRIPT = BENCH / "chaos_devices.py"
NOOP = "peek_plugin_noop"
CHAOS_PLUGIN = "peek_plugin_chaosload"
SERVICE_FAULTS = ("logic", "field", "agent", "worker", "worker-pool")
SERVER_FAULTS = ("redis", "postgres")
ALL_FAULTS = SERVICE_FAULTS + SERVER_FAULTS
#: A call that fails sooner than this failed fast; later (a timeout) it hung.
FAST_FAIL_SECONDS = 1.0
#: Target: every device holds the latest state this long after the killed process is back.
CONVERGE_TARGET_SECONDS = 5.0
#: The user every device process logs in as, and the role that lets it change noop items.
#: The password reaches the device processes on stdin, never in argv.
BENCH_USER, BENCH_ROLE = "chaosuser", "chaosnoop"


def log(message: str) -> None:
    """Progress on stderr (the tables and the JSON line go to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def waitUntil(check: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    """Poll ``check()`` until it is truthy and return it; RuntimeError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not reached within {timeout:g} s (last: {value!r})")
        time.sleep(every)


# ---- PostgreSQL and Redis that the bench can kill and restart ------------------------


class KillableServer:
    """A server process in its own session, so SIGKILL takes it with all its children."""

    name = "server"

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = freeTcpPort()
        self.process: subprocess.Popen | None = None

    def argv(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def start(self) -> None:
        """Start (again, on the same port and files); return once it answers."""
        with open(self.dir / f"{self.name}.log", "ab") as logFile:
            self.process = subprocess.Popen(
                self.argv(), stdout=logFile, stderr=subprocess.STDOUT, start_new_session=True
            )
        waitUntil(self.ready, 60, f"{self.name} answers")

    def kill(self) -> None:
        """SIGKILL the server and every process it started."""
        assert self.process is not None
        killProcessGroup(self.process.pid)
        self.process.wait()

    def pids(self) -> list[int]:
        return [self.process.pid] if self.process is not None else []

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()


class RedisServer(KillableServer):
    """Redis with its append-only file fsynced every write: a SIGKILL loses no queued task."""

    name = "redis"

    def argv(self) -> list[str]:
        return [
            str(findRedisServer()),
            "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
            "--save", "", "--appendonly", "yes", "--appendfsync", "always",
        ]  # fmt: skip

    def ready(self) -> bool:
        try:
            import socket

            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


class PostgresServer(KillableServer):
    """A throwaway PostgreSQL cluster (``fsync`` on: a SIGKILL must not lose commits)."""

    name = "postgres"

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self._bin = findPostgresBinDir()
        self._runAs = "postgres" if os.geteuid() == 0 else None
        self.user = "postgres" if self._runAs else os.environ.get("USER", "postgres")
        data = self.dir / "data"
        if self._runAs:
            import pwd

            record = pwd.getpwnam(self._runAs)
            os.chown(self.dir, record.pw_uid, record.pw_gid)
        subprocess.run(
            self._as(str(self._bin / "initdb"), "-D", str(data), "-U", self.user,
                     "--auth=trust", "-E", "UTF8"),
            check=True, capture_output=True,
        )  # fmt: skip

    def _as(self, *argv: str) -> list[str]:
        return ["runuser", "-u", self._runAs, "--", *argv] if self._runAs else list(argv)

    def argv(self) -> list[str]:
        return self._as(
            str(self._bin / "postgres"), "-D", str(self.dir / "data"), "-p", str(self.port),
            "-k", str(self.dir), "-h", "127.0.0.1", "-c", "max_connections=300",
        )  # fmt: skip

    def start(self) -> None:
        """Start as the cluster's owner (its log is written by that user too)."""
        logPath = self.dir / "postgres.log"
        logPath.touch()
        if self._runAs:
            shutil.chown(logPath, self._runAs)
        super().start()

    def ready(self) -> bool:
        import psycopg2

        try:
            psycopg2.connect(self.url("postgres"), connect_timeout=2).close()
            return True
        except psycopg2.OperationalError:
            return False

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def createDatabase(self, name: str) -> str:
        import psycopg2

        conn = psycopg2.connect(self.url("postgres"))
        try:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.url(name)


# ---- the platform under run_peek_platform -------------------------------------------


class Launcher:
    """``run_peek_platform`` as a child: its output goes to a file, and the lines the
    bench waits for (child pids, started summaries, exits) are kept in memory."""

    INTERESTING = re.compile(
        r"launcher INFO (\w+): started \(pid (\d+)\)|^(\w+)\s* \| .*(peek-\w+-service) started: "
        r"|celery\.apps\.worker: \S+ ready"
    )

    def __init__(self, root: Path, env: dict[str, str], logPath: Path) -> None:
        self._log = logPath.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            [consoleScript("run_peek_platform"), "--home-root", str(root)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        self.pids: dict[str, int] = {}
        self.allPids: set[int] = set()
        self.started: Counter[str] = Counter()
        self.lastStarted: dict[str, float] = {}
        self._lock = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._log.write(line)
            match = self.INTERESTING.search(line)
            if match is None:
                continue
            with self._lock:
                if match.group(1):
                    self.pids[match.group(1)] = int(match.group(2))
                    self.allPids.add(int(match.group(2)))
                elif match.group(3):
                    self.started[match.group(3)] += 1
                    self.lastStarted[match.group(3)] = time.time()
                else:
                    self.started["celery"] += 1
                self._lock.notify_all()
        self._log.close()

    def waitStarted(self, key: str, count: int, timeout: float = 120) -> float:
        """Wait until ``key``'s service has logged its started summary ``count`` times; when."""
        with self._lock:
            if not self._lock.wait_for(lambda: self.started[key] >= count, timeout):
                raise RuntimeError(f"{key} did not start (#{count}) within {timeout:g} s")
            return self.lastStarted[key]

    def stop(self) -> None:
        """SIGTERM the launcher (it stops every service); SIGKILL what is left after 40 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                killProcessGroup(self.process.pid)
        for pid in self.allPids:
            killProcessGroup(pid)
        self._reader.join(10)


def childPids(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (from /proc)."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry))
    return children


def rssMb(pids: Iterable[int]) -> float:
    """Resident memory of the processes, in MB."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Devices:
    """The device driver processes; one command at a time, answered by every process."""

    def __init__(
        self, url: str, password: str, count: int, rate: float, procs: int, logDir: Path
    ) -> None:
        self.procs: list[subprocess.Popen] = []
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(PLUGIN_DIR)]))
        share = [count // procs + (1 if n < count % procs else 0) for n in range(procs)]
        first = 0
        for n, size in enumerate(share):
            with open(logDir / f"devices-{n}.log", "w") as errors:
                self.procs.append(
                    subprocess.Popen(
                        [sys.executable, str(DEVICES_SCRIPT), url, str(size),
                         str(rate * size / count), str(first)],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
                        text=True, env=env,
                    )
                )  # fmt: skip
            stdin = self.procs[-1].stdin
            assert stdin is not None
            stdin.write(json.dumps({"user": BENCH_USER, "password": password}) + "\n")
            stdin.flush()
            first += size
        self.count = count

    def ask(self, command: str) -> list[dict]:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(command + "\n")
            proc.stdin.flush()
        answers = []
        for proc in self.procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"a device process exited (status {proc.poll()})")
            answers.append(json.loads(line))
        return answers

    def total(self, command: str, key: str) -> int:
        return sum(answer[key] for answer in self.ask(command))

    def converged(self, atLeast: int) -> int:
        return self.total(f"converged {atLeast}", "converged")

    def stop(self) -> None:
        for proc in self.procs:
            try:
                assert proc.stdin is not None
                proc.stdin.write("quit\n")
                proc.stdin.close()
                proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()


@dataclass
class FaultResult:
    """What one fault did (see the README for each column)."""

    fault: str
    killedAt: float
    backAt: float | None = None
    convergedAt: float | None = None
    windowStart: float = 0.0
    windowEnd: float = 0.0
    rssMb: dict[str, float] = field(default_factory=dict)
    unresponsive: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def backSeconds(self) -> float | None:
        return None if self.backAt is None else self.backAt - self.killedAt

    @property
    def convergeSeconds(self) -> float | None:
        if self.backAt is None or self.convergedAt is None:
            return None
        return max(0.0, self.convergedAt - self.backAt)


class Platform:
    """One backend's platform: servers, configs, launcher, devices, and the fault steps."""

    def __init__(self, backend: str, args: argparse.Namespace, root: Path) -> None:
        self.backend = backend
        self.args = args
        self.root = root
        self.home = root / "homes"
        self.chaosDir = root / "chaos"
        self.chaosDir.mkdir(parents=True)
        self.redis: RedisServer | None = None
        self.postgres: PostgresServer | None = None
        self.launcher: Launcher | None = None
        self.devices: Devices | None = None
        self.databaseUrl = ""
        self.basePort = 0
        self.itemBefore = 0
        #: When the drain began: later actions, calls and tasks are not counted.
        self.loadStoppedAt = float("inf")

    # ---- start ------------------------------------------------------------------

    def start(self) -> None:
        if self.backend == "postgres":
            self.postgres = PostgresServer(self.root / "pg")
            self.postgres.start()
            self.databaseUrl = self.postgres.createDatabase("peek_chaos")
            self.redis = RedisServer(self.root / "redis")
            self.redis.start()
        else:
            self.databaseUrl = f"sqlite:///{self.home / LOGIC.homeDirName / SQLITE_DATABASE_FILE}"
        self.basePort = freeTcpPortBlock(list(PORT_OFFSETS.values()))
        self._writeConfigs()
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join([str(REPO), str(PLUGIN_DIR)]),
            CHAOS_DIR=str(self.chaosDir),
            CHAOS_TASK_RATE=str(self.args.task_rate),
            CHAOS_RPC_RATE=str(self.args.rpc_rate),
        )
        self.launcher = Launcher(self.home, env, self.root / "platform.log")
        for spec in ALL_SERVICES:
            self.launcher.waitStarted(spec.key, 1)
        self.fieldUrl = f"http://127.0.0.1:{self.basePort}"
        self.itemBefore = waitUntil(self.truth, 60, "the Apples item exists", every=0.5)
        self.engineValue0 = self.itemBefore
        password = self._addBenchUser(env)
        log(f"{self.backend}: platform up; Apples = {self.itemBefore}; linking devices")
        devices = self.devices = Devices(
            self.fieldUrl.replace("http://", "ws://") + "/vortexws",
            password,
            self.args.devices,
            self.args.rate,
            self.args.device_procs,
            self.root,
        )
        waitUntil(
            lambda: devices.converged(0) == self.args.devices,
            max(60, self.args.devices / 20),
            "every device linked and observing",
            every=0.5,
        )
        log(f"{self.backend}: {self.args.devices} devices linked and observing")

    def _addBenchUser(self, env: dict[str, str]) -> str:
        """Add the devices' user, whose role holds ``peek_plugin_noop.edit``, with
        ``peek role`` / ``peek user`` on logic's home; its (random) password."""
        password = generateSecret()
        logicHome = str(self.home / LOGIC.homeDirName)
        for argv, stdin in (
            (["role", "set", BENCH_ROLE, f"{NOOP}.edit"], ""),
            (["user", "add", BENCH_USER, "--role", BENCH_ROLE], password + "\n"),
        ):
            done = subprocess.run(
                [consoleScript("peek"), *argv, "--home", logicHome],
                input=stdin, capture_output=True, text=True, env=env, timeout=120, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise RuntimeError(f"peek {argv[0]} {argv[1]}: {done.stdout}{done.stderr}")
        return password

    def _writeConfigs(self) -> None:
        secret = generateSecret()
        for spec in ALL_SERVICES:
            document = firstRunConfig(spec, secret, basePort=self.basePort, bindAddress="127.0.0.1")
            plugins = [NOOP]
            if spec in (LOGIC, AGENT, WORKER):
                plugins.append(CHAOS_PLUGIN)
            document["plugin"]["enabled"] = plugins
            settings: dict[str, Any] = {}
            if spec is FIELD:
                site = FIELD.sites[0]
                # Logins required (the default); many devices on one address.
                settings[site.deviceLinksKey] = 100000
                settings[site.newDeviceLinksPerMinuteKey] = 1000000
            if spec in (LOGIC, WORKER):
                settings["celery.taskTimeLimitSeconds"] = 10
                if self.backend == "postgres":
                    assert self.redis is not None
                    settings["sqlalchemy.connectUrl"] = self.databaseUrl
                    settings["celery.brokerUrl"] = self.redis.url(0)
                    settings["celery.resultUrl"] = self.redis.url(1)
            for key, value in settings.items():
                setDotted(document, key, value)
            configPath = self.home / spec.homeDirName / "config.json"
            configPath.parent.mkdir(parents=True, exist_ok=True)
            writeConfigFile(configPath, document)

    # ---- observations -----------------------------------------------------------

    def truth(self) -> int | None:
        """Apples' value in the database now (None while it cannot be read)."""
        try:
            engine = self._engine()
            with engine.connect() as conn:
                return conn.execute(
                    text('SELECT value FROM pl_noop."NoopItem" WHERE name = :name'),
                    {"name": "Apples"},
                ).scalar()
        except Exception:
            self._dropEngine()
            return None

    _engineCache: Any = None

    def _engine(self) -> Any:
        if self._engineCache is None:
            self._engineCache = createDbEngine(
                self.databaseUrl, {"pool_pre_ping": True}, attachSchemas=["pl_noop"]
            )
        return self._engineCache

    def _dropEngine(self) -> None:
        if self._engineCache is not None:
            self._engineCache.dispose()
            self._engineCache = None

    def servicePids(self) -> dict[str, list[int]]:
        assert self.launcher is not None
        pids = {key: [pid] for key, pid in self.launcher.pids.items()}
        pids["worker"] += childPids(self.launcher.pids["worker"])
        return pids

    def _serviceAlive(self, key: str) -> bool:
        return alive(self.servicePids()[key][0])

    def fieldHealthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.fieldUrl + "/health", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    # ---- faults -----------------------------------------------------------------

    def runFault(self, fault: str, windowStart: float) -> FaultResult:
        assert self.launcher is not None and self.devices is not None
        log(f"{self.backend}: load for {self.args.settle:g} s, then SIGKILL {fault}")
        time.sleep(self.args.settle)
        result = FaultResult(fault, killedAt=0.0, windowStart=windowStart)
        try:
            self._kill(fault, result)
            self._awaitConvergence(result)
        except RuntimeError as e:
            result.error = str(e)
            log(f"{self.backend}: {fault}: {e}")
        time.sleep(self.args.after)
        result.windowEnd = time.time()
        result.rssMb = {key: rssMb(pids) for key, pids in self.servicePids().items()}
        result.unresponsive = self._unresponsive(result)
        return result

    def _kill(self, fault: str, result: FaultResult) -> None:
        launcher = self.launcher
        assert launcher is not None
        if fault in ("logic", "field", "agent", "worker"):
            starts = launcher.started[fault]
            result.killedAt = time.time()
            os.kill(launcher.pids[fault], signal.SIGKILL)
            result.backAt = launcher.waitStarted(fault, starts + 1)
        elif fault == "worker-pool":
            workerPid = launcher.pids["worker"]
            pool = childPids(workerPid)
            if not pool:
                raise RuntimeError("the worker has no pool process")
            result.killedAt = time.time()
            os.kill(pool[0], signal.SIGKILL)
            waitUntil(
                lambda: (
                    len([p for p in childPids(workerPid) if p not in pool]) >= 1
                    and len(childPids(workerPid)) >= len(pool)
                ),
                60,
                "the worker replaces its pool process",
            )
            result.backAt = time.time()
        else:
            server = self.redis if fault == "redis" else self.postgres
            assert server is not None
            result.killedAt = time.time()
            server.kill()
            time.sleep(self.args.server_down)
            server.start()
            result.backAt = time.time()
        log(f"{self.backend}: {fault} back after {result.backSeconds:.2f} s")

    def _awaitConvergence(self, result: FaultResult) -> None:
        """Every device holds a state at least as new as the first change made after the
        killed process was back (so a device that merely kept its old state while the
        data path was broken does not count)."""
        assert result.backAt is not None and self.devices is not None
        atBack = waitUntil(self.truth, 60, "the database answers", every=0.1)
        target = waitUntil(
            lambda: (v := self.truth()) is not None and v > atBack and v,
            60,
            "an action is applied after the process is back",
            every=0.05,
        )
        devices = self.devices
        waitUntil(
            lambda: devices.converged(target) == self.args.devices,
            60,
            f"every device holds Apples >= {target}",
        )
        result.convergedAt = time.time()
        log(
            f"{self.backend}: {result.fault}: every device holds the latest state "
            f"{result.convergeSeconds:.2f} s after it was back"
        )

    def _unresponsive(self, result: FaultResult) -> list[str]:
        """What is still not working ``--responsive`` seconds after the fault's window:
        a service process, field's /health, the devices' data, an agent RPC answered or a
        task run since the killed process was back."""
        since = result.backAt or result.killedAt
        checks: dict[str, Callable[[], bool]] = {
            key: partial(self._serviceAlive, key)
            for key in ("logic", "field", "office", "agent", "worker")
        }
        checks["field /health"] = self.fieldHealthy
        if self.args.rpc_rate > 0:
            checks["agent->logic RPC"] = lambda: any(
                r["ok"] for r in self.rpcRecords() if r["t"] >= since
            )
        if self.args.task_rate > 0:
            checks["logic->worker tasks"] = lambda: any(r["t"] >= since for r in self.ranRecords())
        deadline = time.monotonic() + self.args.responsive
        names = [] if result.convergedAt is not None else ["devices"]
        for name, check in checks.items():
            try:
                waitUntil(check, max(0.0, deadline - time.monotonic()), name, every=0.5)
            except RuntimeError:
                names.append(name)
        return names

    # ---- records ------------------------------------------------------------------

    def _jsonl(self, pattern: str) -> list[dict]:
        records = []
        for path in sorted(self.chaosDir.glob(pattern)):
            for line in path.read_text().splitlines():
                try:
                    records.append(json.loads(line))
                except ValueError:
                    pass  # a line cut short by a SIGKILL
        return records

    def rpcRecords(self) -> list[dict]:
        return self._jsonl("rpc-*.jsonl")

    def ranRecords(self) -> list[dict]:
        return self._jsonl("ran.jsonl")

    def taskRecords(self) -> list[dict]:
        return self._jsonl("tasks-*.jsonl")

    # ---- the end ------------------------------------------------------------------

    def drain(self, results: list[FaultResult]) -> tuple[list, int]:
        """Stop making actions, let the queues empty and the tasks run; the action records."""
        devices = self.devices
        assert devices is not None
        devices.ask("stop")
        self.loadStoppedAt = time.time()
        log(f"{self.backend}: draining the device queues and the task queue")
        try:
            waitUntil(
                lambda: devices.total("status", "queued") == 0,
                90,
                "device queues empty",
                every=0.5,
            )
        except RuntimeError as e:
            log(str(e))
        # Tasks: Redis re-delivers an unacknowledged task after its visibility timeout
        # (task time limit 10 s + 60 s margin), so a killed worker's task may take that long.
        patience = 90 if self.backend == "postgres" else 30
        try:
            waitUntil(lambda: not self._unfinishedTasks(), patience, "every task ran", every=1)
        except RuntimeError:
            pass
        dump = devices.ask("dump")
        actions = [a for answer in dump for a in answer["actions"]]
        queued = sum(answer["queued"] for answer in dump)
        return actions, queued

    def _unfinishedTasks(self) -> list[str]:
        ran = {r["id"] for r in self.ranRecords()}
        done = {r["id"] for r in self.taskRecords() if r["e"] == "err"}
        logicPid = self.launcher.pids["logic"] if self.launcher else 0
        return [
            r["id"]
            for r in self.taskRecords()
            if r["e"] == "sub"
            and r["t"] < self.loadStoppedAt
            and r["id"] not in ran
            and r["id"] not in done
            and r["id"].startswith(f"{logicPid}-")
        ]

    def stop(self) -> None:
        if self.devices is not None:
            self.devices.stop()
        self._dropEngine()
        if self.launcher is not None:
            self.launcher.stop()
        for server in (self.redis, self.postgres):
            if server is not None:
                server.stop()


# ---- accounting and tables ------------------------------------------------------------


def windowOf(t: float, results: list[FaultResult], end: float) -> int | None:
    """The fault whose window holds time ``t`` (None before the first or from ``end`` on)."""
    if t >= end:
        return None
    for n, result in enumerate(results):
        last = n == len(results) - 1
        if result.windowStart <= t and (last or t < results[n + 1].windowStart):
            return n
    return None


def account(
    platform: Platform, results: list[FaultResult], actions: list, queued: int
) -> tuple[list[dict], dict]:
    """Per-fault rows and the backend's totals."""
    rows: list[defaultdict[str, int]] = [defaultdict(int) for _ in results]
    for created, attempts, ok, errors, _, settled, inQueue in actions:
        n = windowOf(created, results, platform.loadStoppedAt)
        if n is None:
            continue
        row = rows[n]
        row["sent"] += 1
        row["answered"] += ok >= 1
        row["twice"] += ok >= 2
        row["errors"] += ok == 0 and errors > 0
        row["lost"] += not settled and not inQueue
        row["queued"] += inQueue
        row["resent"] += attempts > 1
    for record in platform.rpcRecords():
        n = windowOf(record["t"], results, platform.loadStoppedAt)
        if n is None:
            continue
        rows[n]["rpc"] += 1
        if not record["ok"]:
            rows[n]["rpcFast" if record["s"] < FAST_FAIL_SECONDS else "rpcHung"] += 1
    runs = Counter(r["id"] for r in platform.ranRecords())
    tasks = platform.taskRecords()
    failedTasks = {r["id"] for r in tasks if r["e"] == "err"}
    logicPid = platform.launcher.pids["logic"] if platform.launcher else 0
    for record in tasks:
        if record["e"] != "sub":
            continue
        n = windowOf(record["t"], results, platform.loadStoppedAt)
        if n is None:
            continue
        row = rows[n]
        row["tasks"] += 1
        taskId = record["id"]
        if runs[taskId] >= 2:
            row["tasksTwice"] += 1
        if runs[taskId] == 0:
            if taskId in failedTasks:
                row["tasksFailed"] += 1
            elif taskId.startswith(f"{logicPid}-"):
                row["tasksLost"] += 1
            else:
                # Submitted by a logic that was killed: it may have died before the broker
                # had the task, so it is counted apart.
                row["tasksOrphaned"] += 1
    final = platform.truth() or 0
    applied = final - platform.itemBefore
    answered = sum(row["answered"] for row in rows)
    totals = {
        "applied": applied,
        "answered": answered,
        "appliedNotAnswered": max(0, applied - answered),
        "answeredNotApplied": max(0, answered - applied),
        "queuedAtEnd": queued,
    }
    return [dict(row) for row in rows], totals


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def printTable(backend: str, devices: int, results: list[FaultResult], rows: list[dict]) -> None:
    header = (
        f"{'fault':12s} {'back s':>7s} {'conv s':>7s} {'sent':>6s} {'answ':>6s} {'err':>5s} "
        f"{'twice':>5s} {'lost':>5s} {'queue':>5s} {'resent':>6s} {'rpc':>5s} {'fast':>5s} "
        f"{'hung':>5s} "
        f"{'tasks':>6s} {'tlost':>5s} {'twice':>5s} {'orph':>5s} {'tfail':>5s}  "
        f"RSS MB logic/field/office/agent/worker  unresponsive"
    )
    print(f"\n{backend}, {devices} devices")
    print(header)
    print("-" * len(header))
    for result, row in zip(results, rows, strict=True):
        rss = "/".join(
            f"{result.rssMb.get(k, 0):.0f}" for k in ("logic", "field", "office", "agent", "worker")
        )
        print(
            f"{result.fault:12s} {fmt(result.backSeconds):>7s} {fmt(result.convergeSeconds):>7s} "
            f"{row.get('sent', 0):6d} {row.get('answered', 0):6d} {row.get('errors', 0):5d} "
            f"{row.get('twice', 0):5d} {row.get('lost', 0):5d} {row.get('queued', 0):5d} "
            f"{row.get('resent', 0):6d} "
            f"{row.get('rpc', 0):5d} {row.get('rpcFast', 0):5d} {row.get('rpcHung', 0):5d} "
            f"{row.get('tasks', 0):6d} {row.get('tasksLost', 0):5d} "
            f"{row.get('tasksTwice', 0):5d} {row.get('tasksOrphaned', 0):5d} "
            f"{row.get('tasksFailed', 0):5d}  {rss:35s} "
            f"{', '.join(result.unresponsive) or '-'}{'  ' + result.error if result.error else ''}"
        )


def runBackend(backend: str, args: argparse.Namespace) -> dict:
    root = Path(tempfile.mkdtemp(prefix=f"peek-chaos-{backend}-"))
    root.chmod(0o755)  # PostgreSQL runs as its own user when the bench runs as root
    platform = Platform(backend, args, root)
    faults = [f for f in args.faults if backend == "postgres" or f not in SERVER_FAULTS]
    try:
        platform.start()
        results: list[FaultResult] = []
        windowStart = time.time()
        for fault in faults:
            result = platform.runFault(fault, windowStart)
            results.append(result)
            windowStart = result.windowEnd
        actions, queued = platform.drain(results)
        rows, totals = account(platform, results, actions, queued)
    except BaseException:
        log(f"{backend}: failed; files kept in {root}")
        platform.stop()
        raise
    platform.stop()
    printTable(backend, args.devices, results, rows)
    lost = sum(r.get("lost", 0) for r in rows) + totals["answeredNotApplied"]
    duplicated = sum(r.get("twice", 0) for r in rows) + totals["appliedNotAnswered"]
    print(
        f"Apples grew by {totals['applied']} for {totals['answered']} answered actions; "
        f"{totals['queuedAtEnd']} still queued after the drain"
    )
    converge = [r.convergeSeconds for r in results]
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return {
        "backend": backend,
        "actions_sent": sum(r.get("sent", 0) for r in rows),
        "actions_lost": lost,
        "actions_failed": sum(r.get("errors", 0) for r in rows),
        "actions_duplicated": duplicated,
        "actions_queued": queued,
        "tasks_lost": sum(r.get("tasksLost", 0) for r in rows),
        "tasks_run_twice": sum(r.get("tasksTwice", 0) for r in rows),
        "tasks_orphaned": sum(r.get("tasksOrphaned", 0) for r in rows),
        "rpc_hung": sum(r.get("rpcHung", 0) for r in rows),
        "max_converge_s": None
        if any(c is None for c in converge)
        else max((c for c in converge if c is not None), default=0.0),
        "unresponsive": sum(len(r.unresponsive) for r in results),
    }


def parseArgs(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="about 2 minutes: 50 devices, logic and field kills, embedded only",
    )
    parser.add_argument("--devices", type=int, default=500, help="device links (500, 5000)")
    parser.add_argument(
        "--device-procs",
        type=int,
        default=0,
        help="device driver processes (default: one per 100 devices)",
    )
    parser.add_argument(
        "--backends",
        default="postgres,embedded",
        help="comma-separated: postgres (PostgreSQL + Redis), embedded",
    )
    parser.add_argument(
        "--faults",
        default=",".join(ALL_FAULTS),
        help=f"comma-separated, in order, from {','.join(ALL_FAULTS)}",
    )
    parser.add_argument("--rate", type=float, default=10, help="actions per second, all devices")
    parser.add_argument("--rpc-rate", type=float, default=5, help="agent RPCs per second")
    parser.add_argument("--task-rate", type=float, default=5, help="worker tasks per second")
    parser.add_argument("--settle", type=float, default=10, help="seconds of load before a kill")
    parser.add_argument(
        "--after", type=float, default=5, help="seconds of load after the devices converged"
    )
    parser.add_argument(
        "--server-down", type=float, default=2, help="seconds Redis or PostgreSQL stays down"
    )
    parser.add_argument(
        "--responsive",
        type=float,
        default=60,
        help="seconds each service has after a fault to do its part again",
    )
    parser.add_argument("--keep", action="store_true", help="keep the homes and logs")
    args = parser.parse_args(argv)  # fmt: skip
    if args.quick:
        args.devices, args.backends, args.faults = 50, "embedded", "logic,field"
        args.rate, args.settle, args.after = 10, 8, 4
    args.backends = [b for b in args.backends.split(",") if b]
    args.faults = [f for f in args.faults.split(",") if f]
    for fault in args.faults:
        if fault not in ALL_FAULTS:
            parser.error(f"unknown fault {fault!r}")
    if args.device_procs <= 0:
        # Small processes: on a busy machine each gets its own share of the CPU, so the
        # devices keep up with their updates and heartbeats.
        args.device_procs = max(1, (args.devices + 99) // 100)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parseArgs(argv)
    summaries = [runBackend(backend, args) for backend in args.backends]
    converges = [s["max_converge_s"] for s in summaries]
    totals = {
        "devices": args.devices,
        "backends": args.backends,
        "actions_lost": sum(s["actions_lost"] for s in summaries),
        "actions_duplicated": sum(s["actions_duplicated"] for s in summaries),
        "tasks_lost": sum(s["tasks_lost"] for s in summaries),
        "max_converge_s": None
        if any(c is None for c in converges)
        else round(max(c for c in converges if c is not None), 2),
        "per_backend": summaries,
    }
    print(json.dumps(totals))


if __name__ == "__main__":
    main()

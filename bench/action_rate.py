"""Action rate: N logged-in device links push noop's increment action through one field.

A real logic service (storage on a throwaway PostgreSQL, or on its embedded SQLite default)
and one field service run as processes, with the noop plugin. A user holding
``peek_plugin_noop.edit`` is added with ``peek role`` / ``peek user``; each of the N devices
logs in on the field site as a browser does (login form, session and device cookies) and
opens its ``/vortexws`` link with those cookies, so every action carries the user's identity
and passes the permission check. The devices are spread over a few client processes.

Every device observes the noop items through field (as the pages do) and pushes
``NoopIncrementActionTuple(itemId, delta=1)`` to field's action proxy, keeping ``--window``
actions outstanding, for ``--warmup`` then ``--seconds`` seconds; devices alternate between
the two seed items. Only actions pushed after the warm-up count for the figures: completed
actions/s, errors, p50/p99 latency (push to answer, at the device). Afterwards the items are
read from logic's database (``peek noop list-items``) and must equal their start values plus
the successful actions on each (every action applied exactly once); then every device's
observer must come to hold exactly those values.

    python bench/action_rate.py [--devices 1,50,200] [--databases postgresql,sqlite]
        [--seconds 10] [--warmup 2] [--window 1] [--clients 3] [--profile DIR] [--yappi DIR]
        [--repo DIR] [--quick]

It prints one row per (database, N) and ends with one JSON line. ``--repo`` runs another
checkout's services and plugin (e.g. a worktree of an older commit, for "before" figures).
``--profile`` (py-spy, GIL-holding samples) and ``--yappi`` (CPU time per function, measured
run only) show where logic's and field's CPU per action goes.
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
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import harness

REPO_ROOT = harness.REPO_ROOT
sys.path.insert(0, str(REPO_ROOT))

#: The data exchange secret of the bench's services.
SECRET = "action-rate-bench-secret-0123456789"
#: The bench user's name, role and password (the password reaches the clients on stdin).
USER, ROLE, PASSWORD = "benchuser", "benchnoop", "bench-password-0123"
NOOP = "peek_plugin_noop"
#: Seconds a service start, a login round or the observers' convergence may take.
WAIT_SECONDS = 60.0


# ---- the client processes --------------------------------------------------------------


def clientMain() -> None:
    """One client process: log its devices in, link them, push on command, report.

    Requests arrive as JSON lines on stdin (the first one before the reactor runs), answers
    leave as JSON lines on stdout; logs go to stderr.
    """
    import concurrent.futures
    import http.cookiejar
    import urllib.parse
    import urllib.request

    config = json.loads(sys.stdin.readline())
    site: str = config["site"]

    def logIn() -> str:
        """Log one device in like a browser; its Cookie header (session and device)."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        form = opener.open(site + "/login", timeout=60).read().decode()
        match = re.search(r'name="csrfToken" value="([^"]+)"', form)
        assert match, form[:500]
        body = urllib.parse.urlencode(
            {"username": config["user"], "password": config["password"], "csrfToken": match[1]}
        ).encode()
        request = urllib.request.Request(site + "/login", data=body, headers={"Origin": site})
        opener.open(request, timeout=60).read()
        cookies = "; ".join(f"{c.name}={c.value}" for c in jar)
        if "Session=" not in cookies:
            raise RuntimeError(f"login refused: cookies {sorted(c.name for c in jar)}")
        return cookies

    # A few logins at a time: each costs logic a password hash.
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        cookies = list(pool.map(lambda _: logIn(), config["devices"]))

    from peek_plugin_noop._private.PluginNames import (
        noopActionProcessorName,
        noopFilt,
        noopObservableName,
    )
    from peek_plugin_noop._private.storage.DeclarativeBase import loadStorageTuples
    from peek_plugin_noop._private.storage.NoopItem import NoopItemTuple
    from peek_plugin_noop._private.tuples import loadPrivateTuples
    from peek_plugin_noop._private.tuples.NoopIncrementActionTuple import (
        NoopIncrementActionTuple,
    )
    from twisted.internet import defer, reactor, stdio
    from twisted.protocols.basic import LineReceiver

    from peek_plugin_base.PeekVortexUtil import peekFieldName
    from vortex.handler.TupleActionPushClient import TupleActionPushClient
    from vortex.handler.TupleDataObserverClient import TupleDataObserverClient
    from vortex.PayloadIO import PayloadIO
    from vortex.transport import Backoff
    from vortex.TupleSelector import TupleSelector
    from vortex.VortexFactory import VortexFactory

    loadStorageTuples()
    loadPrivateTuples()
    allItems = TupleSelector(NoopItemTuple.tupleName(), {})
    wsUrl = site.replace("http://", "ws://") + "/vortexws"

    class Device:
        """One logged-in device link: its observer's latest values, its pushes' outcomes."""

        def __init__(self, name: str, cookieHeader: str, itemIndex: int) -> None:
            self.factory = VortexFactory(name, payloadIO=PayloadIO(), reactor=reactor)
            self.itemIndex = itemIndex
            self.values: dict[str, int] = {}
            self.firstData: defer.Deferred[None] = defer.Deferred()
            self.observer = TupleDataObserverClient(
                peekFieldName, noopObservableName, noopFilt, vortexFactory=self.factory
            )
            self.pusher = TupleActionPushClient(
                peekFieldName,
                noopActionProcessorName,
                noopFilt,
                timeoutSeconds=60.0,
                vortexFactory=self.factory,
            )
            self.client = self.factory.connect(
                wsUrl, secret=None, backoff=Backoff(initial=0.2, cap=1.0)
            )
            # The upgrade request carries the login cookies, as a browser's does; the
            # connection attempt starts on the next reactor turn, after this is set.
            self.client._factory.headers = {"Cookie": cookieHeader}
            self.observer.subscribeToTupleSelector(allItems, self.onItems)

        def onItems(self, items: list) -> None:
            self.values = {item.name: item.value for item in items}
            self.ids = {item.name: item.id for item in items}
            if not self.firstData.called:
                self.firstData.callback(None)

    devices = [
        Device(name, cookie, index)
        for name, cookie, index in zip(
            config["devices"], cookies, config["itemIndexes"], strict=True
        )
    ]

    class Run:
        """The push loops of one timed run."""

        def __init__(self, seconds: float, warmup: float, window: int) -> None:
            now = time.monotonic()
            self.measureFrom = now + warmup
            self.endAt = self.measureFrom + seconds
            self.latencies: list[float] = []
            self.ok = 0
            self.okAll = 0
            self.errors = 0
            self.errorSamples: list[str] = []
            self.okByItem: dict[str, int] = {}
            self.outstanding = 0
            self.done: defer.Deferred[dict] = defer.Deferred()
            self.loopsLeft = len(devices) * window
            for device in devices:
                for _ in range(window):
                    self.push(device)

        def push(self, device: Device) -> None:
            now = time.monotonic()
            if now >= self.endAt:
                self.loopsLeft -= 1
                if self.loopsLeft == 0:
                    self.done.callback(self.report())
                return
            name = sorted(device.ids)[device.itemIndex % len(device.ids)]
            action = NoopIncrementActionTuple(itemId=device.ids[name], delta=1)
            d = device.pusher.pushAction(action)
            d.addCallbacks(
                self.answered, self.failed, callbackArgs=(device, name, now), errbackArgs=(device,)
            )

        def answered(self, _: Any, device: Device, name: str, began: float) -> None:
            self.okAll += 1
            self.okByItem[name] = self.okByItem.get(name, 0) + 1
            if began >= self.measureFrom:
                self.ok += 1
                self.latencies.append((time.monotonic() - began) * 1000.0)
            self.push(device)

        def failed(self, failure: Any, device: Device) -> None:
            self.errors += 1
            if len(self.errorSamples) < 5:
                self.errorSamples.append(repr(failure.value)[:300])
            # Go on after a pause, so a failing link does not spin.
            reactor.callLater(0.05, self.push, device)

        def report(self) -> dict:
            return {
                "ok": self.ok,
                "okAll": self.okAll,
                "errors": self.errors,
                "errorSamples": self.errorSamples,
                "okByItem": self.okByItem,
                "latenciesMs": [round(x, 3) for x in self.latencies],
            }

    def converged(expected: dict[str, int], timeout: float) -> defer.Deferred[dict]:
        """Wait until every device's observer holds ``expected``; how many do."""
        deadline = time.monotonic() + timeout
        result: defer.Deferred[dict] = defer.Deferred()

        def check() -> None:
            holding = sum(1 for device in devices if device.values == expected)
            if holding == len(devices) or time.monotonic() > deadline:
                result.callback({"holding": holding, "devices": len(devices)})
            else:
                reactor.callLater(0.05, check)

        check()
        return result

    class Requests(LineReceiver):
        delimiter = b"\n"

        def lineReceived(self, line: bytes) -> None:
            request = json.loads(line)
            if request["op"] == "run":
                run = Run(request["seconds"], request["warmup"], request["window"])
                run.done.addCallback(self.answer)
            elif request["op"] == "expect":
                converged(request["values"], request["timeout"]).addCallback(self.answer)

        def answer(self, document: dict) -> None:
            assert self.transport is not None
            self.transport.write(json.dumps(document).encode() + b"\n")

        def connectionLost(self, reason: Any = None) -> None:
            for device in devices:
                device.factory.shutdown()
            reactor.callLater(0.2, reactor.stop)

    def ready() -> None:
        d = defer.gatherResults([device.firstData for device in devices])
        d.addCallback(lambda _: print(json.dumps({"ready": len(devices)}), flush=True))
        d.addCallback(lambda _: stdio.StandardIO(Requests()))

    reactor.callWhenRunning(ready)
    reactor.run()


# ---- the services -------------------------------------------------------------------------

#: ``sitecustomize`` put on the services' path by ``--yappi DIR``: yappi (CPU clock, every
#: thread) starts on SIGUSR1 and on SIGUSR2 stops and saves ``DIR/<script>.pstat``, so only
#: the measured run is profiled and a SIGKILLed service has already saved its profile.
YAPPI_HOOK = """
import os, signal, sys
_out = os.environ.get("PEEK_BENCH_YAPPI")
if _out and os.path.basename(sys.argv[0]).startswith("run_peek_"):
    import yappi

    def _start(signum, frame):
        yappi.clear_stats()
        yappi.set_clock_type("cpu")
        yappi.start(builtins=False, profile_threads=True)

    def _stop(signum, frame):
        yappi.stop()
        name = os.path.basename(sys.argv[0])
        yappi.get_func_stats().save(os.path.join(_out, name + ".pstat"), type="pstat")
        open(os.path.join(_out, name + ".done"), "w").close()

    signal.signal(signal.SIGUSR1, _start)
    signal.signal(signal.SIGUSR2, _stop)
"""


def writeConfig(home: Path, document: dict) -> None:
    """``home/config.json`` holding ``document``."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.json").write_text(json.dumps(document, indent=1), encoding="utf-8")


def peekCommand(argv: Sequence[str], env: dict[str, str], stdin: str = "") -> str:
    """Run the ``peek`` command; its stdout (fails loudly)."""
    from peek_platform.testing.ServiceProcess import consoleScript

    done = subprocess.run(
        [consoleScript("peek"), *argv],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=WAIT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"peek {' '.join(argv)}: {done.stdout}{done.stderr}")
    return done.stdout


def itemValues(logicHome: Path, env: dict[str, str]) -> dict[str, int]:
    """Every noop item's value, read from logic's database."""
    out = peekCommand(["noop", "list-items", "--json", "--home", str(logicHome)], env)
    return {item["name"]: item["value"] for item in json.loads(out.strip().splitlines()[-1])}


class Platform:
    """Logic and one field service with the noop plugin, and the bench user."""

    def __init__(self, workDir: Path, env: dict[str, str]) -> None:
        from peek_platform.services import LOGIC

        self.homeRoot = workDir / "homes"
        self.logicHome = self.homeRoot / LOGIC.homeDirName
        self.env = dict(env, PEEK_HOME_ROOT=str(self.homeRoot))
        #: Every service process started, for the caller to kill whatever happens.
        self.processes: list[Any] = []

    def start(self, dbUrl: str, devices: int) -> None:
        """Start logic, add the bench user, start field; wait until both have started."""
        from peek_platform.services import FIELD, LOGIC
        from peek_platform.testing.ServiceProcess import ServiceProcess

        logic: dict[str, Any] = {
            "plugin": {"enabled": [NOOP]},
            "dataExchange": {"port": 0, "secret": SECRET, "host": "127.0.0.1"},
            "httpServer": {"admin": {"sitePort": 0, "bindAddress": "127.0.0.1"}},
        }
        if dbUrl:
            logic["sqlalchemy"] = {"connectUrl": dbUrl}
        writeConfig(self.logicHome, logic)
        self.logic = ServiceProcess.forService(
            LOGIC, self.env, home=self.logicHome, timeout=WAIT_SECONDS
        )
        self.processes.append(self.logic)
        port = self.logic.dataExchangePort()
        self.logic.waitForLine(rf"{LOGIC.vortexName} started: 1 plugins started")
        peekCommand(["role", "set", ROLE, f"{NOOP}.edit", "--home", str(self.logicHome)], self.env)
        peekCommand(
            ["user", "add", USER, "--role", ROLE, "--home", str(self.logicHome)],
            self.env,
            stdin=PASSWORD + "\n",
        )
        fieldSite = {
            "sitePort": 0,
            "bindAddress": "127.0.0.1",
            # Every device of the bench shares 127.0.0.1, and one device pushes faster than a
            # person: lift the per-address and per-link limits above the bench's load.
            "deviceLinksPerAddress": devices + 100,
            "newDeviceLinksPerAddressPerMinute": devices + 300,
            "actionsPerDeviceLinkPerSecond": 100000,
        }
        writeConfig(
            self.homeRoot / FIELD.homeDirName,
            {
                "plugin": {"enabled": [NOOP]},
                "dataExchange": {"port": port, "secret": SECRET, "host": "127.0.0.1"},
                "httpServer": {"field": fieldSite},
            },
        )
        self.field = ServiceProcess.forService(
            FIELD, self.env, home=self.homeRoot / FIELD.homeDirName, timeout=WAIT_SECONDS
        )
        self.processes.append(self.field)
        self.siteUrl = self.field.siteUrl("field")
        self.field.waitForLine(rf"{FIELD.vortexName} started: 1 plugins started")


def startClients(
    platform: Platform, devices: int, clients: int, env: dict[str, str], logDir: Path
) -> list[subprocess.Popen]:
    """Start the client processes, devices dealt round robin; wait until all observe data."""
    procs = []
    for index in range(clients):
        names = [f"bench-device-{i}" for i in range(index, devices, clients)]
        if not names:
            continue
        proc = subprocess.Popen(
            [sys.executable, __file__, "_client"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(logDir / f"client{index}.log", "w"),
            text=True,
            env=env,
        )
        config = {
            "site": platform.siteUrl,
            "user": USER,
            "password": PASSWORD,
            "devices": names,
            "itemIndexes": list(range(index, devices, clients)),
        }
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(config) + "\n")
        proc.stdin.flush()
        procs.append(proc)
    for proc in procs:
        answer(proc)
    return procs


def answer(proc: subprocess.Popen) -> dict:
    """The client's next JSON line."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"client {proc.pid} exited ({proc.wait()}); see its log")
    return json.loads(line)


def ask(procs: Sequence[subprocess.Popen], request: dict) -> list[dict]:
    """Send ``request`` to every client; their answers."""
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
    return [answer(proc) for proc in procs]


def profile(platform: Platform, args: argparse.Namespace, label: str) -> list[subprocess.Popen]:
    """With ``--profile DIR``: py-spy records logic and field over the run (folded stacks).

    Only samples of a thread holding the GIL are kept (``--gil``): the Python CPU time, what
    limits the rate, without the threads waiting on locks, sockets or the database.
    """
    if args.profile is None:
        return []
    args.profile.mkdir(parents=True, exist_ok=True)
    seconds = str(int(args.seconds + args.warmup))
    return [
        subprocess.Popen(
            [
                "py-spy",
                "record",
                "--format",
                "raw",
                "--gil",
                "-r",
                "250",
                "-d",
                seconds,
                "-p",
                str(process.pid),
                "-o",
                str(args.profile / f"{label}-{process.name}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for process in (platform.logic, platform.field)
    ]


def saveYappi(platform: Platform, target: Path, workDir: Path) -> None:
    """With ``--yappi DIR``: stop the services' profilers, move their profiles to ``target``."""
    for process in (platform.logic, platform.field):
        process.signal(signal.SIGUSR2)
    out = workDir / "yappi"
    deadline = time.monotonic() + WAIT_SECONDS
    while len(list(out.glob("*.done"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    target.mkdir(parents=True, exist_ok=True)
    for stats in out.glob("*.pstat"):
        shutil.move(str(stats), target / stats.name)


def cpuSeconds(pid: int) -> float:
    """User plus system CPU seconds the process has used (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (nearest rank), 0 when there are none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def runOne(
    database: str, devices: int, args: argparse.Namespace, env: dict[str, str], pg: Any
) -> dict:
    """One (database, N) configuration on fresh services and a fresh database."""
    workDir = Path(tempfile.mkdtemp(prefix="peek-action-rate-"))
    platform: Platform | None = None
    procs: list[subprocess.Popen] = []
    try:
        dbUrl = pg.createDatabase() if database == "postgresql" else ""
        if args.yappi is not None:
            hookDir = workDir / "yappi-hook"
            hookDir.mkdir()
            (hookDir / "sitecustomize.py").write_text(YAPPI_HOOK, encoding="utf-8")
            (workDir / "yappi").mkdir()
            env = dict(
                env,
                PEEK_BENCH_YAPPI=str(workDir / "yappi"),
                PYTHONPATH=os.pathsep.join([str(hookDir), env["PYTHONPATH"]]),
            )
        platform = Platform(workDir, env)
        platform.start(dbUrl, devices)
        before = itemValues(platform.logicHome, platform.env)
        began = time.monotonic()
        procs = startClients(platform, devices, min(args.clients, devices), env, workDir)
        linkedSeconds = time.monotonic() - began
        spies = profile(platform, args, f"{database}-{devices}")
        if args.yappi is not None:
            for process in (platform.logic, platform.field):
                process.signal(signal.SIGUSR1)
        services = {"logic": platform.logic.pid, "field": platform.field.pid}
        cpuBefore = {name: cpuSeconds(pid) for name, pid in services.items()}
        reports = ask(
            procs,
            {"op": "run", "seconds": args.seconds, "warmup": args.warmup, "window": args.window},
        )
        cpu = {name: cpuSeconds(pid) - cpuBefore[name] for name, pid in services.items()}
        if args.yappi is not None:
            saveYappi(platform, args.yappi / f"{database}-{devices}", workDir)
        for spy in spies:
            spy.wait(60)
        after = itemValues(platform.logicHome, platform.env)
        okByItem: dict[str, int] = {}
        for report in reports:
            for name, count in report["okByItem"].items():
                okByItem[name] = okByItem.get(name, 0) + count
        expected = {name: value + okByItem.get(name, 0) for name, value in before.items()}
        views = ask(procs, {"op": "expect", "values": after, "timeout": 60.0})
        latencies = [x for report in reports for x in report["latenciesMs"]]
        ok = sum(report["ok"] for report in reports)
        okAll = sum(report["okAll"] for report in reports)
        row = {
            "database": database,
            "devices": devices,
            "window": args.window,
            "seconds": args.seconds,
            "actions_per_s": ok / args.seconds,
            "ok": ok,
            "errors": sum(report["errors"] for report in reports),
            "p50_ms": percentile(latencies, 0.50),
            "p99_ms": percentile(latencies, 0.99),
            # CPU per action over warm-up and run (every answered action): figures that the
            # load of a shared machine disturbs less than the rates.
            "logic_cpu_ms": cpu["logic"] * 1000 / max(1, okAll),
            "field_cpu_ms": cpu["field"] * 1000 / max(1, okAll),
            "db_matches_answers": after == expected,
            "observers_final": sum(view["holding"] for view in views),
            "observers": sum(view["devices"] for view in views),
            "link_seconds": linkedSeconds,
            "error_samples": [s for report in reports for s in report["errorSamples"]][:5],
        }
        if after != expected:
            row["db"], row["expected"] = after, expected
        return row
    finally:
        for proc in procs:
            if proc.stdin is not None:
                proc.stdin.close()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if platform is not None:
            for process in platform.processes:
                process.kill()
        shutil.rmtree(workDir, ignore_errors=True)


def printRow(row: dict) -> None:
    """One configuration's figures, as it finishes."""
    print(
        f"  {row['database']:<10} N={row['devices']:<4} {row['actions_per_s']:8.1f} actions/s  "
        f"errors {row['errors']:<5} p50 {row['p50_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms  "
        f"cpu/action logic {row['logic_cpu_ms']:.2f} ms field {row['field_cpu_ms']:.2f} ms  "
        f"db ok {row['db_matches_answers']}  observers {row['observers_final']}/"
        f"{row['observers']}",
        flush=True,
    )
    for sample in row["error_samples"]:
        print(f"      error: {sample}")


def main() -> None:
    if sys.argv[1:2] == ["_client"]:
        clientMain()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default="1,50,200", help="device counts, comma separated")
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument("--window", type=int, default=1, help="actions outstanding per device")
    parser.add_argument("--clients", type=int, default=3, help="client processes")
    parser.add_argument("--repo", type=Path, default=REPO_ROOT, help="checkout to run")
    parser.add_argument("--profile", type=Path, help="py-spy logic and field into this dir")
    parser.add_argument(
        "--yappi", type=Path, help="profile logic and field's CPU with yappi into this dir"
    )
    parser.add_argument("--quick", action="store_true", help="N = 1, 50; 3 s; SQLite only")
    args = parser.parse_args()
    counts = [int(c) for c in args.devices.split(",")]
    databases = args.databases.split(",")
    if args.quick:
        counts, databases, args.seconds, args.warmup = [1, 50], ["sqlite"], 3.0, 1.0
    repo = args.repo.resolve()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(repo), str(repo / "plugins" / "peek-plugin-noop"), env.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    pg = None
    rows: list[dict] = []
    try:
        if "postgresql" in databases:
            from peek_plugin_base.testing.PostgreSQLTestServer import PostgreSQLTestServer

            pg = PostgreSQLTestServer()
            pg.start()
        print(f"load average: {os.getloadavg()[0]:.2f}  repo: {repo}", flush=True)
        for database in databases:
            for devices in counts:
                rows.append(runOne(database, devices, args, env, pg))
                printRow(rows[-1])
        print(f"load average: {os.getloadavg()[0]:.2f}")
    finally:
        if pg is not None:
            pg.stop()
    print()
    print(
        f"{'database':<10} {'N':>4} {'actions/s':>10} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'logic cpu':>9} {'field cpu':>9}"
    )
    for row in rows:
        print(
            f"{row['database']:<10} {row['devices']:>4} {row['actions_per_s']:>10.1f} "
            f"{row['errors']:>6} {row['p50_ms']:>7.1f} {row['p99_ms']:>7.1f}"
            f" {row['logic_cpu_ms']:>9.2f} {row['field_cpu_ms']:>9.2f}"
        )
    summary = [{k: v for k, v in row.items() if k != "error_samples"} for row in rows]
    print(json.dumps({"bench": "action_rate", "repo": str(repo), "rows": summary}))


if __name__ == "__main__":
    main()

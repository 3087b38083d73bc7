"""Device fan-out: N logged-in device links observe one noop selector through one field service.

Real processes: logic (embedded SQLite) and field, each with the noop plugin, and
``--clients`` client processes holding N device links between them, each on one reactor.
Each client process logs in to the field site once, like a browser (``POST /login`` as the
recovery admin; the site enrols its device), and every one of its links sends that login
session's cookie with its websocket upgrade: one login session per client process, as the
tabs of one browser share theirs (the site identifies a link by its session, so a session
per link would only add 10,000 password checks to the set-up). Each link subscribes to every
noop item (``TupleSelector("peek_plugin_noop.NoopItemTuple", {})``) through the field's
observable proxy; at most ``--window`` links per client process are between "connect" and
"first data" at once (a page load storm, paced).

An actor link (in client process 0) subscribes first and stays up: the field's upstream
subscription and its cache exist before the N links come, and the field's baseline memory
is read then. Reported, per N:

* ``subscribe_s``: from the order to open until every link holds the first data;
* ``update_s``: from the actor's push of one ``NoopIncrementActionTuple`` (logic updates one
  row and notifies) until every link holds the new value;
* ``kb_per_device``: the field's RSS growth over the N links (after they all subscribed),
  divided by N; ``heap_blocks_per_device`` and ``gc_objects_per_device`` read the field's
  Python heap (``sys.getallocatedblocks()``, ``len(gc.get_objects())``) through a
  ``sitecustomize`` the bench puts on the services' ``PYTHONPATH`` (a SIGUSR1 handler; it
  also reads ``tracemalloc`` bytes when ``--tracemalloc`` is given, which slows the field).

``--profile DIR`` writes cProfile files of the field during the subscribe and update phases
(SIGUSR2 toggles it); ``--repo DIR`` runs the services of another checkout (the clients stay
this one's), for before/after figures in one run. Each N starts fresh services.

    python bench/device_fanout.py [--counts 1000,5000,10000] [--clients 4] [--window 200]
        [--repo DIR] [--label NAME] [--profile DIR] [--tracemalloc] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import harness

REPO_ROOT = harness.REPO_ROOT
sys.path.insert(0, str(REPO_ROOT))

from peek_platform.services import FIELD, LOGIC, ServiceSpec  # noqa: E402
from peek_platform.testing.ServiceProcess import ServiceProcess  # noqa: E402

SECRET = "device-fanout-bench-secret-0123456789"
ADMIN_PASSWORD = "device-fanout-admin-password-9"
#: Seconds any one phase may take before the run is reported as failed.
WAIT_SECONDS = 300.0
#: The noop names the links use (from ``peek_plugin_noop._private.PluginNames``).
NOOP_FILT = {"plugin": "peek_plugin_noop"}
OBSERVABLE_KEY = "vortex.observable:peek_plugin_noop"
DATA_KEY = "vortex.observable.data:peek_plugin_noop"
ACTION_KEY = "vortex.action:peek_plugin_noop"
#: The seeded item whose value the action changes.
ITEM_NAME = "Apples"

#: Put on the services' PYTHONPATH: SIGUSR1 writes heap figures, SIGUSR2 toggles cProfile.
SITECUSTOMIZE = """
import os
import signal

_heapFile = os.environ.get("PEEK_BENCH_HEAP_FILE")
_profileDir = os.environ.get("PEEK_BENCH_PROFILE_DIR")
_profile = []


def _dumpHeap(signum, frame):
    import collections, gc, json, sys, tracemalloc

    try:
        gc.collect()
        objects = gc.get_objects()
        types = collections.Counter(
            "%s.%s" % (type(o).__module__, type(o).__qualname__) for o in objects
        )
        figures = {
            "allocatedBlocks": sys.getallocatedblocks(),
            "gcObjects": len(objects),
            "types": dict(types.most_common(60)),
            "traced": tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else None,
        }
        del objects
    except Exception as e:
        figures = {"error": repr(e)}
    with open(_heapFile + ".tmp", "w") as out:
        json.dump(figures, out)
    os.replace(_heapFile + ".tmp", _heapFile)


def _toggleProfile(signum, frame):
    import cProfile

    if _profile:
        profiler = _profile.pop()
        profiler.disable()
        count = len(os.listdir(_profileDir))
        profiler.dump_stats(os.path.join(_profileDir, "field-%d.prof" % count))
    else:
        profiler = cProfile.Profile()
        _profile.append(profiler)
        profiler.enable()


if _heapFile:
    signal.signal(signal.SIGUSR1, _dumpHeap)
if _profileDir:
    signal.signal(signal.SIGUSR2, _toggleProfile)
"""


# ---- the parent: services, client processes, figures -------------------------------------


def raiseFileLimit(needed: int) -> None:
    """Let this process and its children hold ``needed`` descriptors (root may raise the
    hard limit too)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
            return
        except (ValueError, OSError):
            needed = hard
    if soft == resource.RLIM_INFINITY or soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def writeConfig(spec: ServiceSpec, home: Path, port: int, count: int) -> None:
    """A config.json for ``spec``: noop, loopback sites on port 0, the data exchange on
    ``port``; field allows ``count`` device links (and their opening) from one address."""
    home.mkdir(parents=True, exist_ok=True)
    config: dict = {
        "plugin": {"enabled": ["peek_plugin_noop"]},
        "dataExchange": {"port": port, "secret": SECRET, "host": "127.0.0.1"},
        "httpServer": {
            site.name: {"sitePort": 0, "bindAddress": "127.0.0.1"} for site in spec.sites
        },
    }
    if spec is LOGIC:
        config["admin"] = {"recoveryPassword": ADMIN_PASSWORD}
    else:
        config["httpServer"]["field"].update(
            {
                "deviceLinksPerAddress": count + 100,
                "newDeviceLinksPerAddressPerMinute": 2 * count + 100,
            }
        )
    (home / "config.json").write_text(json.dumps(config), encoding="utf-8")


def rssBytes(pid: int) -> int:
    """Resident set size of process ``pid``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpuSeconds(pid: int) -> float:
    """User and system CPU time process ``pid`` has used (robust to other load)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def heapFigures(pid: int, path: Path) -> dict:
    """Ask the field (SIGUSR1) for its heap figures and wait for the file."""
    path.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 60
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the field (pid {pid}) wrote no heap figures to {path}")
        time.sleep(0.05)
    figures = json.loads(path.read_text())
    if "error" in figures:
        raise RuntimeError(f"the field's heap figures failed: {figures['error']}")
    return figures


class ClientProcess:
    """One client process: JSON commands in on stdin, JSON events out on stdout."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.events: queue.Queue[dict] = queue.Queue()
        self.stderr: list[str] = []
        self.early: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._readErr, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                self.events.put(json.loads(line))
        self.events.put({"event": "exit"})

    def _readErr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)
            del self.stderr[:-40]

    def send(self, **command: Any) -> None:
        """One command line."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def expect(self, event: str, timeout: float = WAIT_SECONDS) -> dict:
        """The first ``event`` not yet taken (others are kept for later calls)."""
        deadline = time.monotonic() + timeout
        while True:
            for index, got in enumerate(self.early):
                if got["event"] == event:
                    return self.early.pop(index)
            try:
                got = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"client: no {event!r} within {timeout} s") from None
            if got["event"] == "exit":
                raise RuntimeError(f"client exited before {event!r}: {''.join(self.stderr)}")
            self.early.append(got)

    def close(self) -> None:
        """End it (stdin closed), killing it if it lingers."""
        try:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait(30)
        except (subprocess.TimeoutExpired, BrokenPipeError, OSError):
            self.process.kill()
            self.process.wait()


def runOne(count: int, args: argparse.Namespace, workDir: Path) -> dict:
    """Fresh logic and field, ``count`` links over ``args.clients`` processes; the figures."""
    homeRoot = workDir / f"homes-{count}"
    heapFile = workDir / "heap.json"
    serviceEnv = dict(os.environ, PYTHONUNBUFFERED="1", PEEK_HOME_ROOT=str(homeRoot))
    serviceEnv["PYTHONPATH"] = os.pathsep.join(
        [
            str(workDir / "site"),
            str(args.repo.resolve()),
            str(args.repo.resolve() / "plugins" / "peek-plugin-noop"),
        ]
    )
    serviceEnv["PEEK_BENCH_HEAP_FILE"] = str(heapFile)
    if args.profile:
        serviceEnv["PEEK_BENCH_PROFILE_DIR"] = str(args.profile)
    clientEnv = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    logicEnv = dict(serviceEnv)
    fieldEnv = dict(serviceEnv, PYTHONTRACEMALLOC="1") if args.tracemalloc else serviceEnv
    port = harness.freePort()
    writeConfig(LOGIC, homeRoot / LOGIC.homeDirName, port, count)
    writeConfig(FIELD, homeRoot / FIELD.homeDirName, port, count)
    services: list[ServiceProcess] = []
    clients: list[ClientProcess] = []
    try:
        logic = ServiceProcess.forService(
            LOGIC, logicEnv, home=homeRoot / LOGIC.homeDirName, timeout=WAIT_SECONDS
        )
        services.append(logic)
        logic.waitForLine(r"started: \d+ plugins started")
        field = ServiceProcess.forService(
            FIELD, fieldEnv, home=homeRoot / FIELD.homeDirName, timeout=WAIT_SECONDS
        )
        services.append(field)
        field.waitForLine(r"started: \d+ plugins started")
        field.waitForLine(r"data exchange link up with peek-logic-service")
        siteUrl = field.siteUrl("field")

        shares = [count // args.clients + (i < count % args.clients) for i in range(args.clients)]
        for index, share in enumerate(shares):
            argv = [sys.executable, __file__, "--client", siteUrl, str(share), str(index)]
            argv += ["--window", str(args.window)]
            clients.append(ClientProcess(argv, clientEnv))
        for client in clients:
            client.expect("ready", timeout=120)
        actor = clients[0]
        actor.send(op="actor")
        before = actor.expect("actor", timeout=60)["value"]
        time.sleep(1.0)
        rssBefore = rssBytes(field.pid)
        heapBefore = heapFigures(field.pid, heapFile)

        if args.profile:
            os.kill(field.pid, signal.SIGUSR2)
        cpuBegan = cpuSeconds(field.pid)
        began = time.monotonic()
        for client in clients:
            client.send(op="open")
        subscribed = [client.expect("subscribed", args.timeout) for client in clients]
        subscribeSeconds = max(event["last"] for event in subscribed) - began
        subscribeCpu = cpuSeconds(field.pid) - cpuBegan
        if args.profile:
            os.kill(field.pid, signal.SIGUSR2)
        time.sleep(2.0)
        rssAfter = rssBytes(field.pid)
        heapAfter = heapFigures(field.pid, heapFile)

        for client in clients:
            client.send(op="expect", value=before + 1)
        for client in clients:
            client.expect("expecting")
        if args.profile:
            os.kill(field.pid, signal.SIGUSR2)
        cpuBegan = cpuSeconds(field.pid)
        actor.send(op="push")
        pushed = actor.expect("pushed")
        updated = [client.expect("updated", args.timeout) for client in clients]
        updateSeconds = max(event["last"] for event in updated) - pushed["at"]
        updateCpu = cpuSeconds(field.pid) - cpuBegan
        if args.profile:
            os.kill(field.pid, signal.SIGUSR2)
        answer = actor.expect("answered")

        def perDevice(key: str) -> float:
            return (heapAfter[key] - heapBefore[key]) / count

        grownTypes = {
            name: round(
                (heapAfter["types"].get(name, 0) - heapBefore["types"].get(name, 0)) / count, 2
            )
            for name in heapAfter["types"]
        }
        row = {
            "label": args.label,
            "n": count,
            "clients": args.clients,
            "window": args.window,
            "subscribe_s": round(subscribeSeconds, 3),
            "update_s": round(updateSeconds, 3),
            "update_first_s": round(min(e["first"] for e in updated) - pushed["at"], 3),
            "field_cpu_subscribe_ms_per_device": round(subscribeCpu * 1000 / count, 3),
            "field_cpu_update_s": round(updateCpu, 3),
            "load_average": round(os.getloadavg()[0], 1),
            "kb_per_device": round((rssAfter - rssBefore) / count / 1024, 2),
            "heap_blocks_per_device": round(perDevice("allocatedBlocks"), 1),
            "gc_objects_per_device": round(perDevice("gcObjects"), 1),
            "field_rss_mb": round(rssAfter / 2**20, 1),
            "retries": sum(event["retries"] for event in subscribed),
            "action": answer["result"],
            "top_types_per_device": dict(
                sorted(grownTypes.items(), key=lambda item: -item[1])[:12]
            ),
        }
        if heapAfter.get("traced") is not None:
            row["traced_kb_per_device"] = round(perDevice("traced") / 1024, 2)
        for client in clients:
            client.send(op="close")
        return row
    finally:
        for client in clients:
            client.close()
        for service in reversed(services):
            service.kill()
        shutil.rmtree(homeRoot, ignore_errors=True)


def printRow(row: dict) -> None:
    """One N's figures as they come."""
    print(
        f"  {row['label']:<8} N={row['n']:<6} subscribed {row['subscribe_s']:7.2f} s  "
        f"update {row['update_s']:6.3f} s  {row['kb_per_device']:6.1f} KB/device  "
        f"{row['heap_blocks_per_device']:6.1f} blocks, {row['gc_objects_per_device']:5.1f} "
        f"gc objects/device  retries {row['retries']}  field CPU "
        f"{row['field_cpu_subscribe_ms_per_device']:.2f} ms/device subscribing, "
        f"{row['field_cpu_update_s']:.2f} s updating  (load {row['load_average']})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1000,5000,10000", help="link counts, comma separated")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--window", type=int, default=200, help="links opening at once, per client")
    parser.add_argument("--repo", type=Path, default=REPO_ROOT, help="checkout whose services run")
    parser.add_argument("--label", default="ours", help="names this checkout in the rows")
    parser.add_argument("--profile", type=Path, help="write cProfile files of the field here")
    parser.add_argument("--tracemalloc", action="store_true", help="trace the field's heap")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument("--timeout", type=float, default=WAIT_SECONDS, help="seconds per phase")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    raiseFileLimit(max(counts) + 1024)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    workDir = Path(tempfile.mkdtemp(prefix="peek-device-fanout-"))
    try:
        (workDir / "site").mkdir()
        (workDir / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
        print(f"load average: {os.getloadavg()[0]:.2f}", flush=True)
        rows = []
        for count in counts:
            try:
                rows.append(runOne(count, args, workDir))
            except Exception as e:  # a failed N is reported, and the next one still runs
                rows.append({"label": args.label, "n": count, "error": str(e)[:300]})
                print(f"  {args.label:<8} N={count:<6} FAILED: {str(e)[:300]}", flush=True)
                continue
            printRow(rows[-1])
        print(f"load average: {os.getloadavg()[0]:.2f}")
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
        print(json.dumps({"device_fanout": rows}))
    finally:
        shutil.rmtree(workDir, ignore_errors=True)


# ---- a client process: many device links on one reactor ---------------------------------


def logIn(siteUrl: str) -> str:
    """Log in to the field site as a browser does; the ``Cookie`` header of the session."""
    cookies = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies))
    form = opener.open(siteUrl + "/login", timeout=60).read().decode()
    match = re.search(r'name="csrfToken" value="([^"]+)"', form)
    if match is None:
        raise RuntimeError("no login form on the field site")
    data = {"username": "admin", "password": ADMIN_PASSWORD, "csrfToken": match.group(1)}
    request = urllib.request.Request(
        siteUrl + "/login",
        data=urllib.parse.urlencode(data).encode(),
        headers={"Origin": siteUrl},
    )
    opener.open(request, timeout=60).read()
    if not len(cookies):
        raise RuntimeError("the login set no cookie")
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in cookies)


def clientMain(siteUrl: str, count: int, index: int, window: int) -> None:
    """Serve the parent's commands with ``count`` links (and, when asked, the actor)."""
    raiseFileLimit(count + 1024)
    from peek_plugin_noop._private.storage.NoopItem import NoopItemTuple  # type: ignore
    from peek_plugin_noop._private.tuples.NoopIncrementActionTuple import (  # type: ignore
        NoopIncrementActionTuple,
    )
    from twisted.internet import reactor as globalReactor
    from twisted.internet import stdio
    from twisted.protocols.basic import LineReceiver

    from vortex.handler.MessageUtil import makeMsg
    from vortex.PayloadEnvelope import PayloadEnvelope
    from vortex.transport import Backoff, VortexClient
    from vortex.TupleSelector import TupleSelector

    reactor: Any = globalReactor
    headers = {"Cookie": logIn(siteUrl)}
    wsUrl = siteUrl.replace("http://", "ws://") + "/vortexws"
    selector = TupleSelector(NoopItemTuple.tupleName(), {})

    def subscribeMsg(subId: str) -> bytes:
        filt: dict[str, Any] = {**NOOP_FILT, "key": OBSERVABLE_KEY, "op": "subscribe"}
        filt.update(subId=subId, tupleSelector=selector)
        return PayloadEnvelope(filt=filt).toVortexMsg()

    decoded: dict[bytes, tuple[int, int] | None] = {}

    def itemOf(data: bytes) -> tuple[int, int] | None:
        """(item id, value) of the item in a data message; each distinct message is decoded
        once per process (every link gets the same bytes)."""
        if data in decoded:
            return decoded[data]
        if len(decoded) > 64:
            decoded.clear()
        envelope = PayloadEnvelope.fromVortexMsg(data)
        found = None
        if envelope.filt.get("key") == DATA_KEY and envelope.encodedPayload is not None:
            for item in envelope.decodePayload().tuples:
                if item.name == ITEM_NAME:
                    found = (item.id, item.value)
        decoded[data] = found
        return found

    class State:
        def __init__(self) -> None:
            self.values: list[int | None] = [None] * count
            self.clients: list[Any] = []
            self.started = 0
            self.subscribedCount = 0
            self.firstAt = 0.0
            self.lastAt = 0.0
            self.expected: int | None = None
            self.holding = 0
            self.updatedFirst = 0.0
            self.actor: Any = None
            self.actorItem: tuple[int, int] | None = None

    state = State()

    def emit(**event: Any) -> None:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()

    def onMessage(link: int, data: bytes) -> None:
        item = itemOf(data)
        if item is None:
            return
        now = time.monotonic()
        old = state.values[link]
        state.values[link] = item[1]
        if old is None:
            state.subscribedCount += 1
            state.firstAt = state.firstAt or now
            state.lastAt = now
            if state.started < count:
                startLink()
            if state.subscribedCount == count:
                retries = sum(client.failedAttempts for client in state.clients)
                emit(event="subscribed", first=state.firstAt, last=now, retries=retries)
        if state.expected is not None and item[1] == state.expected and old != item[1]:
            state.holding += 1
            state.updatedFirst = state.updatedFirst or now
            if state.holding == count:
                emit(event="updated", first=state.updatedFirst, last=now)

    def startLink() -> None:
        link = state.started
        state.started += 1
        message = subscribeMsg("bench")
        client = VortexClient(
            wsUrl,
            f"bench-device-{index}-{link}",
            uuid.uuid4().hex,
            secret=None,
            onMessage=lambda _, data: onMessage(link, data),
            onConnect=lambda connection: connection.send(message),
            reactor=reactor,
            backoff=Backoff(initial=0.5, cap=5.0),
            headers=headers,
        )
        state.clients.append(client)
        client.start()

    def onActorMessage(data: bytes) -> None:
        envelope = PayloadEnvelope.fromVortexMsg(data)
        if envelope.filt.get("key", "").startswith("vortex.action"):
            result = envelope.result
            emit(event="answered", result="ok" if result is None else result)
            return
        item = itemOf(data)
        if item is not None and state.actorItem is None:
            state.actorItem = item
            emit(event="actor", value=item[1])

    def startActor() -> None:
        state.actor = VortexClient(
            wsUrl,
            f"bench-actor-{index}",
            uuid.uuid4().hex,
            secret=None,
            onMessage=lambda _, data: onActorMessage(data),
            onConnect=lambda connection: connection.send(subscribeMsg("actor")),
            reactor=reactor,
            headers=headers,
        )
        state.actor.start()

    def push() -> None:
        assert state.actorItem is not None
        filt = {**NOOP_FILT, "key": ACTION_KEY, "msgId": "bench-push"}
        message = makeMsg(filt, [NoopIncrementActionTuple(itemId=state.actorItem[0], delta=1)])
        at = time.monotonic()
        state.actor.send(message)
        emit(event="pushed", at=at)

    class Commands(LineReceiver):
        delimiter = b"\n"

        def lineReceived(self, line: bytes) -> None:
            command = json.loads(line)
            op = command["op"]
            if op == "actor":
                startActor()
            elif op == "open":
                for _ in range(min(window, count)):
                    startLink()
            elif op == "expect":
                state.expected = command["value"]
                state.holding = sum(1 for value in state.values if value == state.expected)
                emit(event="expecting")
            elif op == "push":
                push()
            elif op == "close":
                for client in state.clients:
                    client.stop()
                if state.actor is not None:
                    state.actor.stop()

        def connectionLost(self, reason: Any = None) -> None:
            if reactor.running:
                reactor.stop()

    stdio.StandardIO(Commands())
    emit(event="ready")
    reactor.run()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        clientParser = argparse.ArgumentParser()
        clientParser.add_argument("--client", action="store_true")
        clientParser.add_argument("siteUrl")
        clientParser.add_argument("count", type=int)
        clientParser.add_argument("index", type=int)
        clientParser.add_argument("--window", type=int, default=200)
        clientArgs = clientParser.parse_args()
        clientMain(clientArgs.siteUrl, clientArgs.count, clientArgs.index, clientArgs.window)
    else:
        main()

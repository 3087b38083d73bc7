"""Identity benchmark: what a device's identity costs on field proxies and RPCs (issue 10).

One process, one reactor, real loopback websockets: a logic vortex; a field vortex linked to
it as a service, listening for devices with a device-identity resolver (a dict by peer
address, like ``SessionLinks.identityAt``); two device links to the field, one anonymous
and one whose resolver answer is a user holding ten permissions; and a service link to the
field for the identity-free reference rows. Every figure is the whole chain's cost on one
core: the device's, the field's and logic's work all run in this process.

Variants (each measured sequentially, then with ``--inflight`` calls in flight):

``action none``  service link -> field TupleActionProcessorProxy -> logic processor, delegate
                 without requiredPermissions; no identity anywhere (the pre-identity path).
``action anon``  anonymous device -> the same proxy and delegate; the proxy forwards the
                 anonymous identity in the header (issue 10's variant (a)).
``action user``  device logged in as a user with ten permissions -> proxy -> a delegate with
                 requiredPermissions the user holds, which reads ``currentIdentity()`` (b).
``rpc none``     service link -> field vortexRPC -> logic vortexRPC, no permissions.
``rpc anon``     anonymous device -> the same field RPC -> logic RPC (no permissions).
``rpc user``     the user's device -> a field RPC -> a logic RPC, both with
                 requiredPermissions; the field RPC's call reaches logic as the user.
``w2 service``   W2's workload: ``add(a, b)`` called by field on logic over its service link.

After a warm-up, each round runs every variant's sequential phase, then every variant's
in-flight phase, in list order on odd rounds and reversed on even ones (the machine is
shared and noisy; the two sides of a comparison always run one after the other). Printed:
each round's figures, then medians over the rounds with this process's CPU time per call
(all tiers run here, so it is the chain's whole cost, and less disturbed by other load
than the rates), and a verdict per comparison: identity's cost (anon - user) / anon of
the median rates against issue 10's limit of 10%, with the per-round spread.

    python bench/identity_proxy.py [--rounds 10] [--seconds 0.5] [--inflight 200] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import harness

sys.path.insert(0, str(harness.REPO_ROOT))

from twisted.internet import defer, task
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import Site

from vortex.handler.TupleActionProcessor import (
    TupleActionProcessor,
    TupleActionProcessorDelegateABC,
)
from vortex.handler.TupleActionProcessorProxy import TupleActionProcessorProxy
from vortex.handler.TupleActionPushClient import TupleActionPushClient
from vortex.RequestIdentity import RequestIdentity, currentIdentity
from vortex.rpc.RPC import vortexRPC
from vortex.TupleAction import TupleActionABC, TupleGenericAction
from vortex.VortexFactory import VortexFactory

LOGIC = "bench-identity-logic"
FIELD = "bench-identity-field"
SECRET = b"bench-identity-secret-0123456789"
OPEN_PROCESSOR = "bench.identity.open"
GUARDED_PROCESSOR = "bench.identity.guarded"
EDIT = "bench_identity.edit"
#: The user's ten permissions (a plausible plugin user's set); EDIT is the one required.
PERMISSIONS = frozenset(
    {EDIT}
    | {f"bench_identity.{word}" for word in ("read", "write", "delete", "export", "approve")}
    | {f"bench_other.{word}" for word in ("read", "write", "admin", "report")}
)
USER = RequestIdentity("local:bench", "bench", "device-bench", "field", PERMISSIONS)

#: Variant names, in the order of odd rounds (even rounds run them reversed).
VARIANTS = (
    "action none",
    "action anon",
    "action user",
    "rpc none",
    "rpc anon",
    "rpc user",
    "w2 service",
)
DESCRIPTIONS = {
    "action none": "service link -> field proxy -> logic, no identity",
    "action anon": "anonymous device -> field proxy -> logic delegate (a)",
    "action user": "user device -> proxy -> delegate with requiredPermissions (b)",
    "rpc none": "service link -> field RPC -> logic RPC, no identity",
    "rpc anon": "anonymous device -> field RPC -> logic RPC",
    "rpc user": "user device -> field RPC -> logic RPC, both requiredPermissions",
    "w2 service": "field -> logic add(a, b), service link (W2's workload)",
}
#: The comparisons given a verdict: (label, identity-free-ish baseline, with identity).
#: (label, baseline, with identity): a logged-in user against an anonymous device (the
#: checks and the user's identity), and against no identity at all (everything identity
#: added to a device's request, header included).
COMPARISONS = (
    ("action", "action anon", "action user"),
    ("rpc", "rpc anon", "rpc user"),
    ("action vs none", "action none", "action user"),
    ("rpc vs none", "rpc none", "rpc user"),
)
#: Identity's cost that issue 10 accepts, as a fraction of the anonymous rate.
COST_LIMIT = 0.10


def _checkUser(where: str) -> None:
    """Raise unless the request being handled is the benchmark's user (it must reach here)."""
    identity = currentIdentity()
    if identity is None or identity.userId != USER.userId:
        raise PermissionError(f"{where} ran as {identity!r}, not as the bench user")


class OpenDelegate(TupleActionProcessorDelegateABC):
    """The delegate of the open processor: does nothing and answers no tuples."""

    def processTupleAction(self, tupleAction: TupleActionABC) -> None:
        """Accept the action."""
        return None


class GuardedDelegate(TupleActionProcessorDelegateABC):
    """The delegate of the guarded processor: checks it runs as the user, answers no tuples."""

    def processTupleAction(self, tupleAction: TupleActionABC) -> None:
        """Accept the action if it runs as the user (an error response otherwise)."""
        _checkUser("guarded delegate")
        return None


@vortexRPC(LOGIC)
def logicAdd(a: int, b: int) -> int:
    """Logic's open RPC: W2's ``add``, also the end of the anonymous and service chains."""
    return a + b


@vortexRPC(LOGIC, requiredPermissions=EDIT)
def logicAddAsUser(a: int, b: int) -> int:
    """Logic's guarded RPC: ``a + b`` when called as the user."""
    _checkUser("logic RPC")
    return a + b


class FieldRelay:
    """The field's RPCs, each calling its logic RPC through the field's service link."""

    def __init__(self, field: VortexFactory) -> None:
        self._open = logicAdd.using(field)
        self._guarded = logicAddAsUser.using(field)

    @vortexRPC(FIELD)
    def relayAdd(self, a: int, b: int) -> defer.Deferred:
        """Call logic's open RPC (as whoever is calling this one)."""
        return self._open(a, b)

    @vortexRPC(FIELD, requiredPermissions=EDIT)
    def relayAddAsUser(self, a: int, b: int) -> defer.Deferred:
        """Call logic's guarded RPC; the call carries the calling device's user."""
        return self._guarded(a, b)


async def _waitUntil(predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Let the reactor run until ``predicate()`` holds; RuntimeError naming ``what`` if not."""
    from twisted.internet import reactor

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"identity bench: {what} not reached within {timeout} s")
        await task.deferLater(reactor, 0.01, lambda: None)


def _linkedTo(factory: VortexFactory, name: str, isDevice: bool = False) -> Callable[[], bool]:
    """A predicate: ``factory`` has a link to the peer ``name`` (a device link or not)."""
    return lambda: any(i.name == name and i.isDevice == isDevice for i in factory.remoteVortexes())


class Tiers:
    """Logic, field and their clients, linked over loopback websockets in this process."""

    def __init__(self) -> None:
        self.identities: dict[str, RequestIdentity] = {}
        self.factories: list[VortexFactory] = []
        self.ports: list[Any] = []
        self.stoppers: list[Callable[[], Any]] = []
        self.calls: dict[str, Callable[[int], defer.Deferred]] = {}
        self.checks: dict[str, Callable[[int, Any], bool]] = {}

    def _serve(self, factory: VortexFactory, **listenArgs: Any) -> str:
        """Listen for ``factory`` on a free loopback port; its websocket URL."""
        from twisted.internet import reactor

        root = Resource()
        factory.listen(root, secret=SECRET, **listenArgs)
        site = Site(root)
        site.noisy = False
        # Twisted types listenTCP's factory as a bare ServerFactory, not a Site.
        port = reactor.listenTCP(0, site, interface="127.0.0.1")  # type: ignore[arg-type]
        self.ports.append(port)
        return f"ws://127.0.0.1:{port.getHost().port}/vortexws"  # type: ignore[attr-defined]

    def _factory(self, name: str) -> VortexFactory:
        factory = VortexFactory(name)
        self.factories.append(factory)
        return factory

    async def _client(self, name: str, url: str, serverName: str, device: bool) -> VortexFactory:
        """A factory linked to ``url`` as a device (no secret) or a service; waits for it."""
        factory = self._factory(name)
        factory.connect(url, secret=None if device else SECRET)
        await _waitUntil(_linkedTo(factory, serverName), f"{name}'s link to {serverName}")
        return factory

    async def start(self) -> None:
        """Build the three tiers and the call function of every variant."""
        logic = self._factory(LOGIC)
        logicUrl = self._serve(logic)
        openProcessor = TupleActionProcessor(OPEN_PROCESSOR, vortexFactory=logic)
        openProcessor.setDelegate(TupleGenericAction, OpenDelegate())
        guardedProcessor = TupleActionProcessor(GUARDED_PROCESSOR, vortexFactory=logic)
        guardedProcessor.setDelegate(
            TupleGenericAction, GuardedDelegate(), requiredPermissions=EDIT
        )
        logicAdd.start(vortexFactory=logic)
        logicAddAsUser.start(vortexFactory=logic)

        field = self._factory(FIELD)
        fieldUrl = self._serve(field, allowDevices=True, deviceIdentity=self.identities.get)
        proxies = [
            TupleActionProcessorProxy(name, LOGIC, vortexFactory=field)
            for name in (OPEN_PROCESSOR, GUARDED_PROCESSOR)
        ]
        relay = FieldRelay(field)
        FieldRelay.relayAdd.start(funcSelf=relay, vortexFactory=field)
        FieldRelay.relayAddAsUser.start(funcSelf=relay, vortexFactory=field)
        field.connect(logicUrl, secret=SECRET)
        await _waitUntil(_linkedTo(field, LOGIC), "the field's link to logic")
        await _waitUntil(_linkedTo(logic, FIELD), "logic's link from the field")

        service = await self._client("bench-identity-service", fieldUrl, FIELD, device=False)
        anon = await self._client("bench-identity-anon", fieldUrl, FIELD, device=True)
        user = await self._client("bench-identity-user", fieldUrl, FIELD, device=True)
        await _waitUntil(_linkedTo(field, user.vortexName, True), "the user device's link")
        userLink = next(i for i in field.remoteVortexes() if i.name == user.vortexName)
        self.identities[userLink.peerAddress] = USER

        self.stoppers += [
            openProcessor.shutdown,
            guardedProcessor.shutdown,
            *(proxy.shutdown for proxy in proxies),
            logicAdd.shutdown,
            logicAddAsUser.shutdown,
            FieldRelay.relayAdd.shutdown,
            FieldRelay.relayAddAsUser.shutdown,
        ]
        action = TupleGenericAction(key="bench.touch", data={"n": 1})

        def push(client: TupleActionPushClient) -> Callable[[int], defer.Deferred]:
            self.stoppers.append(client.shutdown)
            return lambda n: client.pushAction(action)

        self.calls = {
            "action none": push(
                TupleActionPushClient(FIELD, OPEN_PROCESSOR, vortexFactory=service)
            ),
            "action anon": push(TupleActionPushClient(FIELD, OPEN_PROCESSOR, vortexFactory=anon)),
            "action user": push(
                TupleActionPushClient(FIELD, GUARDED_PROCESSOR, vortexFactory=user)
            ),
            "rpc none": _adder(FieldRelay.relayAdd.using(service)),
            "rpc anon": _adder(FieldRelay.relayAdd.using(anon)),
            "rpc user": _adder(FieldRelay.relayAddAsUser.using(user)),
            "w2 service": _adder(logicAdd.using(field)),
        }
        self.checks = {v: _isEmpty if v.startswith("action") else _isSum for v in VARIANTS}

    async def stop(self) -> None:
        """Shut every handler, factory and port down."""
        for stop in self.stoppers:
            stop()
        stopping = [factory.shutdown() for factory in self.factories]
        stopping += [defer.maybeDeferred(port.stopListening) for port in self.ports]
        await defer.gatherResults(stopping, consumeErrors=True)


def _adder(call: Callable[[int, int], defer.Deferred]) -> Callable[[int], defer.Deferred]:
    """Call number ``n`` of an RPC variant: ``add(n, 1)``."""
    return lambda n: call(n, 1)


def _isEmpty(n: int, value: Any) -> bool:
    """An action's expected answer: no tuples."""
    return value == []


def _isSum(n: int, value: Any) -> bool:
    """An RPC's expected answer to ``add(n, 1)``."""
    return value == n + 1


@dataclass
class PhaseResult:
    """One timed phase: calls answered in its window, their rate, this process's CPU time
    per call (all three tiers run here, so it is the chain's whole cost and, unlike the
    rate, not stretched when other processes take the CPU), errors, and for a sequential
    phase the p50 latency."""

    completed: int
    perSecond: float
    cpuMicros: float
    errors: int
    p50Ms: float | None


class Phase:
    """Keeps ``inFlight`` calls outstanding; each answer issues the next call.

    The timed window opens when the first ``inFlight`` calls have been answered (the
    pipeline is full: a burst of 200 first has to pass every tier before anything returns)
    and closes at the first answer ``seconds`` later; the rate and the CPU time count the
    answers in between, and the calls still outstanding then are waited for, uncounted.
    The first error ends the phase (a benchmark that errs measures nothing useful).
    """

    def __init__(
        self,
        call: Callable[[int], defer.Deferred],
        check: Callable[[int, Any], bool],
        inFlight: int,
        seconds: float,
    ) -> None:
        self._call, self._check = call, check
        self._inFlight, self._seconds = inFlight, seconds
        self._issued = self._answered = self._errors = 0
        self._latencies: list[float] = []
        self._opened: float | None = None
        self._closed: float | None = None
        self._answeredAtOpen = self._counted = 0
        self._cpuAtOpen = self._cpuUsed = self._deadline = 0.0
        self._done: defer.Deferred = defer.Deferred()
        self.error: str | None = None

    def run(self) -> defer.Deferred:
        """Start the phase; a Deferred of its :class:`PhaseResult`."""
        for _ in range(self._inFlight):
            if self._closed is None:
                self._issue()
        return self._done

    def _issue(self) -> None:
        n = self._issued
        self._issued += 1
        started = time.perf_counter()
        self._call(n).addCallbacks(
            self._answer, self._failed, callbackArgs=(n, started), errbackArgs=(started,)
        )

    def _answer(self, value: Any, n: int, started: float) -> None:
        if self._check(n, value):
            self._finish(started, None)
        else:
            self._finish(started, f"call {n} answered {value!r}")

    def _failed(self, failure: Failure, started: float) -> None:
        self._finish(started, failure.getErrorMessage())

    def _finish(self, started: float, error: str | None) -> None:
        now = time.perf_counter()
        self._answered += 1
        if error is not None:
            self._errors += 1
            self.error = self.error or error
        if self._closed is None:
            if self._opened is None:
                if self._answered == self._inFlight:
                    self._opened, self._deadline = now, now + self._seconds
                    self._cpuAtOpen, self._answeredAtOpen = time.process_time(), self._answered
            elif self._inFlight == 1:
                self._latencies.append(now - started)
            if error is not None or (self._opened is not None and now >= self._deadline):
                self._close(now)
        if self._closed is None:
            self._issue()
        elif self._answered == self._issued:
            self._done.callback(self._result())

    def _close(self, now: float) -> None:
        """End the window: no more calls are issued."""
        self._closed = now
        if self._opened is not None:
            self._counted = self._answered - self._answeredAtOpen
            self._cpuUsed = time.process_time() - self._cpuAtOpen

    def _result(self) -> PhaseResult:
        counted = self._counted
        if not counted or self._opened is None or self._closed is None:
            return PhaseResult(0, 0.0, 0.0, self._errors, None)
        p50 = statistics.median(self._latencies) * 1e3 if self._latencies else None
        perSecond = counted / (self._closed - self._opened)
        return PhaseResult(counted, perSecond, self._cpuUsed / counted * 1e6, self._errors, p50)


#: The two phases of every variant: their label in the figures and how many calls in flight
#: (None: ``--inflight``).
PHASES: tuple[tuple[str, int | None], ...] = (("seq", 1), ("conc", None))


async def measure(tiers: Tiers, variant: str, phase: str, depth: int, seconds: float) -> dict:
    """One timed phase of ``variant`` with ``depth`` calls in flight: its figures."""
    gc.collect()
    timed = Phase(tiers.calls[variant], tiers.checks[variant], depth, seconds)
    result: PhaseResult = await timed.run()
    if timed.error is not None:
        raise RuntimeError(f"identity bench: {variant} ({phase}) failed: {timed.error}")
    figures: dict[str, Any] = {
        f"{phase}_per_s": round(result.perSecond, 1),
        f"{phase}_cpu_us": round(result.cpuMicros, 1),
        f"{phase}_errors": result.errors,
    }
    if result.p50Ms is not None:
        figures[f"{phase}_p50_ms"] = round(result.p50Ms, 3)
    return figures


def cost(base: float, withIdentity: float) -> float:
    """Identity's cost as a fraction of the baseline rate: (base - withIdentity) / base."""
    return (base - withIdentity) / base


def _med(results: list[dict], key: str) -> float:
    """The median of ``key`` over the rounds (every round has every key)."""
    value = harness.median(results, key)
    if value is None:
        raise KeyError(f"identity bench: no round has {key!r}")
    return value


def _pairedCosts(base: list[dict], withIdentity: list[dict], key: str) -> list[float]:
    """Identity's cost by the rate ``key`` in each round (the two ran one after the other)."""
    return [cost(b[key], u[key]) for b, u in zip(base, withIdentity, strict=True)]


def _extraCpu(base: list[dict], withIdentity: list[dict], key: str) -> float:
    """How much more CPU time per call ``withIdentity`` takes than ``base`` (medians)."""
    baseCpu = _med(base, key)
    return (_med(withIdentity, key) - baseCpu) / baseCpu


def report(results: dict[str, list[dict]], args: argparse.Namespace) -> None:
    """Print the medians table, the W2 reference line and one verdict per comparison."""
    med = _med
    print(
        f"\nidentity medians over {args.rounds} round(s): one process, loopback websockets,"
        f" {args.seconds:g} s per phase, {args.inflight} in flight"
    )
    conc = f"{args.inflight} in flight/s"
    print(
        f"{'variant':12s} {'seq calls/s':>11s} {'p50 ms':>7s} {'CPU us':>7s}"
        f" {conc:>17s} {'CPU us':>7s} {'errors':>6s}  path"
    )
    for variant in VARIANTS:
        rounds = results[variant]
        errors = sum(r["seq_errors"] + r["conc_errors"] for r in rounds)
        print(
            f"{variant:12s} {med(rounds, 'seq_per_s'):11.0f}"
            f" {med(rounds, 'seq_p50_ms'):7.3f}"
            f" {med(rounds, 'seq_cpu_us'):7.0f}"
            f" {med(rounds, 'conc_per_s'):17.0f}"
            f" {med(rounds, 'conc_cpu_us'):7.0f}"
            f" {errors:6d}  {DESCRIPTIONS[variant]}"
        )
    print("(CPU us: this process's CPU time per call, all tiers included)")
    w2 = results["w2 service"]
    print(
        f"\nW2-style service RPC in this run: {med(w2, 'seq_per_s'):.0f} sequential calls/s,"
        f" {med(w2, 'conc_per_s'):.0f} with {args.inflight} in flight (both ends in one"
        " process; W2's own figures are two processes, see bench/README.rst)"
    )
    print(
        "\nverdicts: identity's cost (anon - user) / anon of the median rates"
        " [per round: median and range of that cost; extra CPU time per call, medians]"
    )
    for label, baseName, userName in COMPARISONS:
        base, withIdentity = results[baseName], results[userName]
        for phase, phaseName in (("seq", "sequential"), ("conc", "in flight")):
            key = f"{phase}_per_s"
            baseRate, userRate = med(base, key), med(withIdentity, key)
            fraction = cost(baseRate, userRate)
            perRound = _pairedCosts(base, withIdentity, key)
            extraCpu = _extraCpu(base, withIdentity, f"{phase}_cpu_us")
            state = "within the limit" if fraction <= COST_LIMIT else "OVER the limit"
            what = f"{label} {phaseName}:"
            print(
                f"{what:22s} identity costs {fraction:.1%} (limit {COST_LIMIT:.0%}), {state}"
                f"  ({baseRate:.0f} -> {userRate:.0f} calls/s)"
                f"  [{statistics.median(perRound):.1%}, {min(perRound):.1%} .. {max(perRound):.1%};"
                f" CPU {extraCpu:+.1%}]"
            )
    print("\nfor reference, the anonymous identity header against none, (none - anon) / none:")
    for label in ("action", "rpc"):
        none, anon = results[f"{label} none"], results[f"{label} anon"]
        parts = []
        for phase, phaseName in (("seq", "sequential"), ("conc", "in flight")):
            rateCost = cost(med(none, f"{phase}_per_s"), med(anon, f"{phase}_per_s"))
            extraCpu = _extraCpu(none, anon, f"{phase}_cpu_us")
            parts.append(f"{phaseName} {rateCost:.1%} (CPU {extraCpu:+.1%})")
        print(f"{label + ':':22s} " + ", ".join(parts))


async def run(args: argparse.Namespace) -> None:
    """Build the tiers, warm every variant up, run the rounds, print the report.

    A round runs every variant's sequential phase, then every variant's in-flight phase,
    so the two sides of each comparison run one after the other.
    """
    tiers = Tiers()
    await tiers.start()
    try:
        for variant in VARIANTS:
            for phase, depth in PHASES:
                await measure(tiers, variant, phase, depth or args.inflight, args.warmup)
        width = max(len(v) for v in VARIANTS)
        results: dict[str, list[dict]] = {v: [] for v in VARIANTS}
        for n in range(args.rounds):
            order = VARIANTS if n % 2 == 0 else tuple(reversed(VARIANTS))
            figures: dict[str, dict] = {v: {} for v in VARIANTS}
            for phase, depth in PHASES:
                for variant in order:
                    figures[variant].update(
                        await measure(tiers, variant, phase, depth or args.inflight, args.seconds)
                    )
            for variant in order:
                results[variant].append(figures[variant])
                harness.printRound(n + 1, variant, figures[variant], width)
        report(results, args)
    finally:
        await tiers.stop()


def main() -> None:
    """Parse the options and run the benchmark in a reactor."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds (default 10)")
    parser.add_argument(
        "--seconds", type=float, default=0.5, help="length of each timed phase (default 0.5)"
    )
    parser.add_argument("--inflight", type=int, default=200, help="calls in flight (200)")
    parser.add_argument(
        "--warmup", type=float, default=0.5, help="seconds per phase of warm-up (default 0.5)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1 round of 0.2 s phases, 0.05 s warm-up"
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.warmup = 1, 0.2, 0.05

    def start(_reactor: Any) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(run(args))

    task.react(start)


if __name__ == "__main__":
    main()

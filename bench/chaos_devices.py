"""Simulated devices for ``bench/chaos.py``: vortex links to a field site, observing noop's
items and pushing noop increments at a steady rate through an offline action queue.

Run as ``python bench/chaos_devices.py URL COUNT RATE FIRST``, with the bench user's
``{"user": ..., "password": ...}`` as the first line on stdin (never in argv). The process
logs in on the field site once, as a browser does (login form; session and device cookies),
and its ``COUNT`` devices (named from ``FIRST``) link to the site's ``/vortexws`` without a
secret, each sending that ``Cookie`` header with every websocket upgrade, so a device
relinks with the same session after field restarts (field keeps its sessions on disk). The
user's role holds ``peek_plugin_noop.edit``.
Every device observes all noop items and, once it knows the ``Apples`` item, pushes one
``NoopIncrementActionTuple`` every ``COUNT / RATE`` seconds (``RATE`` is this process's
total per second) into its own queue. Like the browser's ``offlineQueue.js`` the queue pushes
its oldest action while the link is up and keeps it until it is answered: after a link drop,
a 45 s timeout, or a ``not-connected`` or ``retry-later`` answer (after a jittered backoff),
the same action (same uuid) is pushed again. Each push carries ``msgId = <uuid>.<attempt>``,
so every answer is counted per action.

Commands, one per line on stdin, each answered with one JSON line on stdout:
``status`` (links up, devices fresh), ``converged V`` (devices whose link is up, that got an
update since it came up, and hold ``Apples >= V``), ``stop`` (no new actions), ``dump`` (every
action's record) and ``quit``. Logs go to stderr.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import sys
import time
import urllib.parse
import urllib.request
from collections import deque
from http.cookiejar import CookieJar
from typing import Any

from peek_plugin_noop._private.PluginNames import (
    noopActionProcessorName,
    noopFilt,
    noopObservableName,
)
from peek_plugin_noop._private.storage.NoopItem import NoopItemTuple
from peek_plugin_noop._private.tuples.NoopIncrementActionTuple import NoopIncrementActionTuple
from twisted.internet import stdio, task
from twisted.protocols.basic import LineReceiver

from peek_plugin_base.PeekVortexUtil import peekFieldName
from vortex.handler.MessageUtil import (
    ERROR_NOT_CONNECTED,
    ERROR_RETRY_LATER,
    isErrorResult,
    makeMsg,
)
from vortex.handler.TupleActionProcessor import ACTION_KEY_PREFIX, RESPONSE_KEY_PREFIX
from vortex.handler.TupleDataObserverClient import TupleDataObserverClient
from vortex.PayloadEndpoint import PayloadEndpoint
from vortex.PayloadIO import PayloadIO
from vortex.transport import Backoff
from vortex.TupleSelector import TupleSelector
from vortex.VortexFactory import RemoteVortexInfo, VortexFactory

logger = logging.getLogger("chaos_devices")

#: The item every device increments and whose value says how fresh a device's state is.
ITEM_NAME = "Apples"
#: What the noop pages observe: every item.
ALL_ITEMS = TupleSelector(NoopItemTuple.tupleName(), {})
#: A push not answered in this long is pushed again: the browser queue's action timeout,
#: longer than the field proxy's (35 s) and logic's processor's (30 s), which answer first.
PUSH_TIMEOUT_SECONDS = 45.0
#: Waits before pushing again after a ``not-connected`` answer (field cannot reach logic)
#: or ``retry-later`` (logic could not reach its database): the browser queue's
#: ``queueBackoff``, 0.25 s doubling to 2 s with full jitter.
RETRY_BACKOFF = {"initial": 0.25, "cap": 2.0}
#: Answers after which the same action is pushed again after a backoff delay.
RETRIED_CODES = (ERROR_NOT_CONNECTED, ERROR_RETRY_LATER)


class Action:
    """One action a device made: when, how often pushed, and the answers it got."""

    __slots__ = ("attempts", "created", "errors", "lastError", "ok", "settled", "tuple")

    def __init__(self, action: NoopIncrementActionTuple, created: float) -> None:
        self.tuple = action
        self.created = created
        self.attempts = 0
        self.ok = 0
        self.errors = 0
        self.lastError = ""
        self.settled = False

    def record(self, queued: bool) -> list:
        """``[created, attempts, ok answers, error answers, last error code, settled,
        queued]``."""
        return [
            self.created, self.attempts, self.ok, self.errors, self.lastError, self.settled,
            queued,
        ]  # fmt: skip


class Device:
    """One device link with its observer, offline queue and answer counts."""

    def __init__(self, name: str, url: str, cookie: str, interval: float, reactor: Any) -> None:
        self.reactor = reactor
        self.factory = VortexFactory(name, payloadIO=PayloadIO(), reactor=reactor)
        self.value: int | None = None
        self.itemId: int | None = None
        self.linkUpAt: float | None = None
        self.updatedAt = 0.0
        self.actions: dict[str, Action] = {}
        self.queue: deque[Action] = deque()
        self.inFlight: tuple[Action, int] | None = None
        self._timeout: Any = None
        self._retry: Any = None
        self._retryBackoff = Backoff(**RETRY_BACKOFF)
        self.making = True
        self._pushFilt = {**noopFilt, "key": ACTION_KEY_PREFIX + noopActionProcessorName}
        self._endpoint = PayloadEndpoint(
            {**noopFilt, "key": RESPONSE_KEY_PREFIX + noopActionProcessorName},
            self._onResponse,
            payloadIO=self.factory.payloadIO,
        )
        self.observer = TupleDataObserverClient(
            peekFieldName, noopObservableName, additionalFilt=noopFilt, vortexFactory=self.factory
        )
        self.observer.subscribeToTupleSelector(ALL_ITEMS, self._onItems)
        self.factory.addOnlineListener(self._online)
        self.factory.addOfflineListener(self._offline)
        self.client = self.factory.connect(url, secret=None, headers={"Cookie": cookie})
        self._maker = task.LoopingCall(self._make)
        self._maker.clock = reactor
        reactor.callLater(random.uniform(0, interval), self._maker.start, interval, False)

    # ---- state --------------------------------------------------------------------

    def fresh(self, atLeast: int) -> bool:
        """Linked, updated since the link came up, and holding ``Apples >= atLeast``."""
        return (
            self.linkUpAt is not None
            and self.updatedAt >= self.linkUpAt
            and self.value is not None
            and self.value >= atLeast
        )

    def _onItems(self, items: list[NoopItemTuple]) -> None:
        for item in items:
            if item.name == ITEM_NAME:
                self.itemId, self.value = item.id, item.value
                self.updatedAt = time.time()
                self._pump()
                return

    def _online(self, info: RemoteVortexInfo) -> None:
        if info.name == peekFieldName and not info.isDevice:
            self.linkUpAt = time.time()
            self._pump()

    def _offline(self, info: RemoteVortexInfo, reason: str) -> None:
        if info.name == peekFieldName and not info.isDevice:
            self.linkUpAt = None
            self._unanswered()

    # ---- the offline queue ------------------------------------------------------

    def _make(self) -> None:
        if not self.making or self.itemId is None:
            return
        action = Action(NoopIncrementActionTuple(itemId=self.itemId, delta=1), time.time())
        self.actions[action.tuple.uuid] = action
        self.queue.append(action)
        self._pump()

    def _pump(self) -> None:
        if self.inFlight is not None or self._retry is not None or not self.queue:
            return
        if self.linkUpAt is None:
            return
        action = self.queue[0]
        action.attempts += 1
        attempt = action.attempts
        filt = dict(self._pushFilt)
        filt["msgId"] = f"{action.tuple.uuid}.{attempt}"
        self.inFlight = (action, attempt)
        self._timeout = self.reactor.callLater(PUSH_TIMEOUT_SECONDS, self._unanswered)
        d = self.factory.sendVortexMsg(makeMsg(filt, [action.tuple]), destVortexName=peekFieldName)
        d.addErrback(lambda _: self._unanswered())

    def _unanswered(self) -> None:
        """The push in flight got no answer (timeout, link drop): push it again later."""
        if self._timeout is not None and self._timeout.active():
            self._timeout.cancel()
        self._timeout = None
        if self.inFlight is None:
            return
        self.inFlight = None
        self.reactor.callLater(0, self._pump)

    def _onResponse(self, envelope: Any, **_: Any) -> None:
        msgId = str(envelope.filt.get("msgId", ""))
        uuid, _, attemptText = msgId.rpartition(".")
        action = self.actions.get(uuid)
        if action is None:
            return
        result = envelope.result
        if isErrorResult(result):
            if result.get("error") in RETRIED_CODES:
                if self.inFlight == (action, int(attemptText or 0)):
                    self._unanswered()
                    self._retryLater()
                return
            action.errors += 1
            action.lastError = str(result.get("error"))
        else:
            action.ok += 1
        self._retryBackoff.reset()
        if not action.settled:
            action.settled = True
            if self.queue and self.queue[0] is action:
                self.queue.popleft()
        if self.inFlight is not None and self.inFlight[0] is action:
            self.inFlight = None
            if self._timeout is not None and self._timeout.active():
                self._timeout.cancel()
            self._timeout = None
        self._pump()

    def _retryLater(self) -> None:
        def retry() -> None:
            self._retry = None
            self._pump()

        if self._retry is None:
            self._retry = self.reactor.callLater(self._retryBackoff.nextDelay(), retry)


class Driver:
    """The devices of this process and the commands the bench sends."""

    def __init__(
        self, url: str, cookie: str, count: int, rate: float, first: int, reactor: Any
    ) -> None:
        interval = count / rate if rate > 0 else 3600.0
        self.devices: list[Device] = []
        # Link up gradually (about 200 a second), as a fleet of pages would.
        for n in range(count):
            reactor.callLater(
                n / 200.0,
                lambda n=n: self.devices.append(
                    Device(f"chaos-device-{first + n}", url, cookie, interval, reactor)
                ),
            )
        self.count = count

    def op_status(self) -> dict:
        devices = self.devices
        return {
            "devices": len(devices),
            "linked": sum(1 for d in devices if d.linkUpAt is not None),
            "fresh": sum(1 for d in devices if d.fresh(0)),
            "queued": sum(len(d.queue) for d in devices),
            "sent": sum(len(d.actions) for d in devices),
            "values": sorted({d.value for d in devices if d.value is not None})[-3:],
        }

    def op_converged(self, atLeast: str) -> dict:
        value = int(atLeast)
        return {
            "converged": sum(1 for d in self.devices if d.fresh(value)),
            "devices": self.count,
        }

    def op_stop(self) -> dict:
        for device in self.devices:
            device.making = False
        return {"stopped": True}

    def op_dump(self) -> dict:
        return {
            "actions": [a.record(a in d.queue) for d in self.devices for a in d.actions.values()],
            "queued": sum(len(d.queue) for d in self.devices),
        }


class CommandProtocol(LineReceiver):
    """One command per line in, one JSON line out."""

    delimiter = b"\n"

    def __init__(self, driver: Driver) -> None:
        self._driver = driver

    def lineReceived(self, line: bytes) -> None:
        words = line.decode().split()
        if not words:
            return
        if words[0] == "quit":
            from twisted.internet import reactor

            reactor.stop()
            return
        try:
            answer = getattr(self._driver, "op_" + words[0])(*words[1:])
        except Exception as e:  # the bench shows it; the devices carry on
            answer = {"error": repr(e)}
        assert self.transport is not None
        self.transport.write(json.dumps(answer).encode() + b"\n")

    def connectionLost(self, reason: Any = None) -> None:
        from twisted.internet import reactor

        if reactor.running:
            reactor.stop()


def readFirstLine() -> str:
    """The first line on stdin, read unbuffered so the commands after it stay for Twisted."""
    data = b""
    while not data.endswith(b"\n"):
        byte = os.read(0, 1)
        if not byte:
            raise RuntimeError("stdin closed before the credentials line")
        data += byte
    return data.decode()


def logIn(siteUrl: str, user: str, password: str) -> str:
    """Log in on the field site as a browser does; the ``Cookie`` header of the session."""
    cookies = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies))
    form = opener.open(siteUrl + "/login", timeout=60).read().decode()
    match = re.search(r'name="csrfToken" value="([^"]+)"', form)
    if match is None:
        raise RuntimeError("no login form on the field site")
    body = {"username": user, "password": password, "csrfToken": match.group(1)}
    request = urllib.request.Request(
        siteUrl + "/login",
        data=urllib.parse.urlencode(body).encode(),
        headers={"Origin": siteUrl},
    )
    opener.open(request, timeout=60).read()
    header = "; ".join(f"{cookie.name}={cookie.value}" for cookie in cookies)
    if "Session=" not in header:
        raise RuntimeError(f"login refused: cookies {sorted(c.name for c in cookies)}")
    return header


def main() -> None:
    """Log in, link the devices and serve commands until ``quit`` or stdin closes."""
    from twisted.internet import reactor

    url, count, rate, first = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="%(asctime)s %(name)s %(message)s"
    )
    credentials = json.loads(readFirstLine())
    siteUrl = url.replace("ws://", "http://", 1).removesuffix("/vortexws")
    cookie = logIn(siteUrl, credentials["user"], credentials["password"])
    stdio.StandardIO(CommandProtocol(Driver(url, cookie, count, rate, first, reactor)))
    reactor.run()


if __name__ == "__main__":
    main()

"""A running logic service refuses malformed and hostile input, and keeps serving the others."""

from __future__ import annotations

import base64
import os
import socket
import struct
import subprocess
import sys
import textwrap

import pytest

from peek_platform.services import AGENT, LOGIC

pytestmark = pytest.mark.integration

#: A vortex client that sends the message given as argv[4] (hex) once linked, then exits;
#: it gives up as soon as its one connection attempt fails (10 s at most).
_SENDER = textwrap.dedent(
    """
    import sys
    from twisted.internet import reactor, task
    from vortex.PayloadIO import PayloadIO
    from vortex.transport import Backoff
    from vortex.VortexFactory import VortexFactory

    url, secret, name, hexMsg = sys.argv[1:5]
    factory = VortexFactory(name, payloadIO=PayloadIO())

    def up(info):
        factory.sendVortexMsg(bytes.fromhex(hexMsg), destVortexUuid=info.uuid)
        print("SENT", flush=True)
        reactor.callLater(0.3, reactor.stop)

    def stopOnFailure():
        if client.failedAttempts:
            reactor.stop()

    factory.addOnlineListener(up)
    client = factory.connect(url, secret=secret.encode(), backoff=Backoff(initial=30, cap=30))
    task.LoopingCall(stopOnFailure).start(0.05)
    reactor.callLater(10, reactor.stop)
    reactor.run()
    print("FAILED" if client.failedAttempts else "DONE", flush=True)
    """
)


def _upgrade(port: int) -> socket.socket:
    """An open websocket on /vortexws, past the HTTP upgrade."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /vortexws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(4096)
    assert b" 101 " in response.split(b"\r\n", 1)[0]
    return sock


def _frame(payload: bytes, *, length: int | None = None) -> bytes:
    """A masked binary client frame; ``length`` may lie about the payload size."""
    size = len(payload) if length is None else length
    header = bytes([0x82])
    if size < 126:
        header += bytes([0x80 | size])
    elif size < 65536:
        header += bytes([0x80 | 126]) + struct.pack("!H", size)
    else:
        header += bytes([0x80 | 127]) + struct.pack("!Q", size)
    mask = os.urandom(4)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _drain(sock: socket.socket) -> None:
    """Read until the server closes the socket (or a few seconds pass)."""
    sock.settimeout(5)
    try:
        while sock.recv(4096):
            pass
    except OSError:
        pass
    sock.close()


def test_logic_rejects_hostile_input_and_keeps_serving(
    processes, homeRoot, testPlugins, peekStatus, sharedSecret, fastLinkSettings
):
    """Random bytes, truncated and oversized frames, a wrong secret, unknown tuple types and
    mistyped fields are each refused with a logged reason; the agent stays linked and
    reported, and peek status still answers."""
    linked = processes.linkedServices(
        homeRoot,
        (LOGIC, AGENT),
        plugins=[testPlugins.first],
        pluginsDir=testPlugins.directory,
        settings=fastLinkSettings,
    )
    logic, agent = linked.commands["logic"], linked.commands["agent"]
    port = linked.dataExchangePort
    agent.waitForLine(r"data exchange link up with peek-logic-service")

    # Random bytes: not a websocket at all.
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(os.urandom(512) + b"\r\n\r\n")
        _drain(sock)
    # Random bytes inside a websocket frame, before any handshake.
    sock = _upgrade(port)
    sock.sendall(_frame(os.urandom(64)))
    _drain(sock)
    logic.waitForLine(
        r"Vortex link unauthenticated peer at 127\.0\.0\.1:\d+: closing \(code 4001\)"
    )
    # Truncated frame: header promises 100 bytes, 10 arrive, then the socket closes.
    sock = _upgrade(port)
    sock.sendall(_frame(b"x" * 10, length=100)[:16])
    sock.close()
    logic.waitForLine(r"Vortex handshake with unauthenticated peer .* did not complete")
    # Oversized frame: more than dataExchange.maxMessageBytes (16 MiB default).
    sock = _upgrade(port)
    sock.sendall(_frame(b"", length=64 * 1024 * 1024))
    _drain(sock)
    logic.waitForLine(r"closing: websocket protocol error \(code 1009\)")

    url = f"ws://127.0.0.1:{port}/vortexws"

    def send(secret: str, hexMsg: str) -> str:
        out = subprocess.run(
            [sys.executable, "-c", _SENDER, url, secret, "peek-field-service", hexMsg],
            capture_output=True,
            text=True,
            timeout=20,
        )
        return out.stdout

    # A handshake with the wrong secret.
    assert "FAILED" in send("the-wrong-secret-0123456789", "00")
    logic.waitForLine(r"authentication failed: wrong client proof")

    # Unknown tuple type, and a status report whose fields have the wrong types.
    secret = sharedSecret
    unknown = _report(tupleType="peek_platform.NoSuchTuple")
    assert "SENT" in send(secret, unknown.hex())
    logic.waitForLine(r"Rejected a platform status report from peek-field-service .*undecodable")
    mistyped = _report(pid="not-a-number")
    assert "SENT" in send(secret, mistyped.hex())
    logic.waitForLine(
        r"Rejected a platform status report from peek-field-service .*pid must be int"
    )

    # Each refusal above was logged, so logic has handled every bad message; peek status
    # is then answered by logic after all of them.
    status = peekStatus(linked.homes["logic"], port)
    assert logic.process.poll() is None and agent.process.poll() is None
    agentStatus = next(s for s in status["services"] if s["serviceKey"] == "agent")
    assert agentStatus["connected"] and agentStatus["plugins"][0]["state"] == "started"
    assert "link down" not in "\n".join(line for line in agent.lines if "logic" in line)


def _report(tupleType: str | None = None, pid: object = 1) -> bytes:
    """A status report message from peek-field-service, optionally corrupted."""
    from datetime import UTC, datetime

    from peek_platform.vortex.tuples import STATUS_REPORT_FILT, ServiceStatusTuple
    from vortex.Payload import Payload

    status = ServiceStatusTuple(
        serviceKey="field",
        vortexName="peek-field-service",
        vortexUuid="x",
        version="1",
        host="h",
        pid=pid,
        startedAt=datetime.now(UTC),
        plugins=[],
    )
    msg = Payload(filt=dict(STATUS_REPORT_FILT), tuples=[status]).toVortexMsg()
    if tupleType is not None:
        msg = msg.replace(b"peek_platform.ServiceStatusTuple", tupleType.encode())
    return msg

"""Sans-IO tests of VortexConnectionCore: handshake, refusal, timers and limits."""

from __future__ import annotations

import json
import logging

import pytest
from twisted.internet import task

from vortex.transport import TransportLimits, VortexConnectionCore, VortexLinkClosedError
from vortex.transport import handshake as hs

SECRET = b"s" * 32
OTHER_SECRET = b"t" * 32


def _types(wire) -> list[str]:
    return [json.loads(data)["type"] for data, _ in wire.written if data]


def test_service_handshake_exposes_both_identities(makePair):
    """A service handshake opens both sides, each knowing the other's name and uuid."""
    pair = makePair()
    pair.open()
    assert pair.client.isOpen and pair.server.isOpen
    assert pair.server.peer == hs.PeerIdentity(
        "peek-agent-service", "peek-agent-service-uuid", isDevice=False
    )
    assert pair.client.peer == hs.PeerIdentity(
        "peek-logic-service", "peek-logic-service-uuid", isDevice=False
    )
    assert _types(pair.clientWire) == ["hello", "auth"]
    assert _types(pair.serverWire) == ["challenge", "welcome"]
    assert pair.clientWire.up == [pair.client.peer] and pair.serverWire.up == [pair.server.peer]


def test_payloads_flow_both_ways_after_handshake(makePair):
    """Once open, sent bytes are delivered to the other side unchanged."""
    pair = makePair()
    pair.open()
    pair.client.send(b"to server")
    pair.server.send(b"to client")
    assert pair.serverWire.delivered == [b"to server"]
    assert pair.clientWire.delivered == [b"to client"]


@pytest.mark.parametrize(
    ("clientSecret", "serverSecret"),
    [(OTHER_SECRET, SECRET), (SECRET, OTHER_SECRET)],
    ids=["client-has-wrong-secret", "server-has-wrong-secret"],
)
def test_wrong_secret_is_refused(makePair, caplog, clientSecret, serverSecret):
    """A secret mismatch on either side closes with 4002, logs the address, opens nothing."""
    pair = makePair(clientSecret=clientSecret, serverSecret=serverSecret)
    with caplog.at_level(logging.WARNING):
        pair.open()
    assert pair.serverWire.closed == [
        (hs.CLOSE_AUTH_FAILED, "authentication failed: wrong client proof (secret differs)", False)
    ]
    assert not pair.server.isOpen and not pair.client.isOpen
    assert pair.serverWire.up == [] and pair.clientWire.up == []
    assert "192.0.2.7:4242" in caplog.text and "peek-agent-service" in caplog.text
    # A frame pushed after the refusal is not delivered.
    pair.server.messageReceived(b"payload after refusal", True)
    assert pair.serverWire.delivered == []


def test_client_detects_an_impostor_server(makePair, caplog):
    """A server that cannot produce the right proof is refused by the client."""
    pair = makePair(wired=False)
    pair.client.connectionOpened()
    hello = json.loads(pair.clientWire.written[0][0])
    pair.client.messageReceived(
        hs.encode(
            {
                "type": "challenge",
                "protocol": 1,
                "vortexName": "fake-logic",
                "vortexUuid": "u1",
                "nonce": "ab" * 32,
            }
        ),
        True,
    )
    assert hello["role"] == "service" and "secret" not in json.dumps(hello)
    with caplog.at_level(logging.WARNING):
        pair.client.messageReceived(
            hs.encode({"type": "welcome", "protocol": 1, "role": "service", "proof": "00" * 32}),
            True,
        )
    assert pair.clientWire.closed[0][0] == hs.CLOSE_AUTH_FAILED
    assert pair.clientWire.up == [] and not pair.client.isOpen
    assert "impostor" in caplog.text and "192.0.2.1:8011" in caplog.text


def test_device_is_accepted_and_marked_when_allowed(makePair):
    """A secretless client joins as a device when the endpoint allows devices."""
    pair = makePair(clientSecret=None, allowDevices=True)
    pair.open()
    assert pair.server.peer.isDevice is True
    assert pair.client.peer.vortexName == "peek-logic-service"
    assert json.loads(pair.clientWire.written[0][0])["role"] == "device"


def test_device_is_refused_when_not_allowed(makePair):
    """A device connection to an endpoint without allowDevices is closed with 4003."""
    pair = makePair(clientSecret=None, allowDevices=False)
    pair.open()
    assert pair.serverWire.closed[0][0] == hs.CLOSE_ROLE_REFUSED
    assert pair.serverWire.up == []


def test_service_is_refused_by_a_device_only_endpoint(makePair):
    """An endpoint without a secret refuses service peers with 4003."""
    pair = makePair(serverSecret=None, allowDevices=True)
    pair.open()
    assert pair.serverWire.closed[0][0] == hs.CLOSE_ROLE_REFUSED
    assert not pair.server.isOpen


@pytest.mark.parametrize(
    ("frame", "isBinary", "code"),
    [
        (b"{not json", True, hs.CLOSE_BAD_HANDSHAKE),
        (b"[1, 2]", True, hs.CLOSE_BAD_HANDSHAKE),
        (hs.encode({"type": "auth", "proof": "00" * 32}), True, hs.CLOSE_BAD_HANDSHAKE),
        (
            hs.encode({"type": "hello", "protocol": 1, "role": "service", "vortexName": "a b"}),
            True,
            hs.CLOSE_BAD_HANDSHAKE,
        ),
        (hs.encode({"type": "hello", "protocol": 9}), True, hs.CLOSE_PROTOCOL_VERSION),
        (b'{"type":"hello"}', False, hs.CLOSE_UNSUPPORTED_DATA),
    ],
    ids=["not-json", "not-object", "wrong-type", "bad-name", "bad-version", "text-frame"],
)
def test_bad_handshake_frame_closes_with_code(makePair, caplog, frame, isBinary, code):
    """Each malformed or unexpected handshake frame is logged and closed with its code."""
    pair = makePair(wired=False)
    pair.server.connectionOpened()
    with caplog.at_level(logging.WARNING):
        pair.server.messageReceived(frame, isBinary)
    assert pair.serverWire.closed[0][0] == code
    assert "192.0.2.7:4242" in caplog.text
    assert pair.serverWire.up == []


def test_handshake_timeout_closes(makePair, caplog):
    """A peer that never finishes the handshake is closed with 4004 after the timeout."""
    pair = makePair(wired=False, limits=TransportLimits(handshakeTimeoutSeconds=10.0))
    pair.server.connectionOpened()
    pair.clock.advance(9.9)
    assert pair.serverWire.closed == []
    with caplog.at_level(logging.WARNING):
        pair.clock.advance(0.2)
    assert pair.serverWire.closed[0][0] == hs.CLOSE_HANDSHAKE_TIMEOUT
    assert "handshake not completed" in caplog.text


def test_open_link_has_no_handshake_timeout(makePair):
    """Completing the handshake cancels its timer."""
    pair = makePair()
    pair.open()
    pair.clock.advance(60)
    assert pair.serverWire.closed == [] and pair.server.isOpen


def test_heartbeats_keep_a_live_link_open(makePair):
    """Both sides send empty heartbeat frames each interval, so neither is declared dead."""
    pair = makePair(limits=TransportLimits(heartbeatSeconds=5.0))
    pair.open()
    pair.clock.pump([1.0] * 100)
    assert pair.client.isOpen and pair.server.isOpen
    assert pair.serverWire.written.count((b"", True)) == 20
    assert pair.serverWire.delivered == [] and pair.clientWire.delivered == []


def test_silent_peer_is_declared_dead(makePair, caplog):
    """A peer silent for three heartbeat intervals is dropped with code 4005."""
    pair = makePair(limits=TransportLimits(heartbeatSeconds=5.0))
    pair.open()
    pair.serverWire.peerCore = None  # the client stops hearing the server
    pair.client.messageReceived(b"", True)
    pair.clock.advance(5.0)
    pair.clock.advance(5.0)
    pair.clock.advance(5.0)
    assert pair.client.isOpen
    with caplog.at_level(logging.WARNING):
        pair.clock.advance(5.0)
    assert pair.clientWire.closed == [
        (
            hs.CLOSE_HEARTBEAT_TIMEOUT,
            "peer silent for 3 heartbeat intervals of 5.0 s; declared dead",
            True,
        )
    ]
    assert "declared dead" in caplog.text


def test_oversized_inbound_message_closes(makePair):
    """A message over maxMessageBytes closes the link with 1009 and is not delivered."""
    pair = makePair(wired=False, limits=TransportLimits(maxMessageBytes=10))
    pair.server.connectionOpened()
    pair.client.connectionOpened()
    pair.serverWire.peerCore, pair.clientWire.peerCore = pair.client, pair.server
    pair.server.messageReceived(pair.clientWire.written[0][0], True)
    pair.server.messageReceived(b"x" * 11, True)
    assert pair.serverWire.closed[0][0] == hs.CLOSE_MESSAGE_TOO_BIG
    assert pair.serverWire.delivered == []


def test_text_frame_on_open_link_closes(makePair):
    """A text frame after the handshake closes the link with 1003."""
    pair = makePair()
    pair.open()
    pair.server.messageReceived(b"text", False)
    assert pair.serverWire.closed[0][0] == hs.CLOSE_UNSUPPORTED_DATA
    assert pair.serverWire.delivered == []


def test_send_refuses_empty_and_oversized_messages(makePair):
    """send() rejects empty (heartbeat) messages, and messages over maxReassemblyBytes (the
    largest sent in chunks), without closing."""
    pair = makePair(limits=TransportLimits(maxMessageBytes=100, maxReassemblyBytes=1000))
    pair.open()
    with pytest.raises(ValueError, match="reserved for heartbeats"):
        pair.client.send(b"")
    with pytest.raises(ValueError, match=r"1\.\.1000 \(maxReassemblyBytes\)"):
        pair.client.sendPriority(b"x" * 1001)
    assert pair.client.isOpen


def test_message_over_the_frame_limit_is_refused_for_a_peer_without_chunks(makePair):
    """A peer whose hello does not announce chunk frames never gets one: a message over
    maxMessageBytes is refused as before chunking existed."""
    pair = makePair(clientSecret=None, allowDevices=True, wired=False)
    pair.server.connectionOpened()
    pair.server.messageReceived(
        hs.encode(
            {
                "type": "hello",
                "protocol": 1,
                "role": "device",
                "vortexName": "old-app",
                "vortexUuid": "u1",
            }
        ),
        True,
    )
    assert pair.server.isOpen and not pair.server.peerReadsChunks
    with pytest.raises(ValueError, match=r"1\.\.16777216 \(the peer does not read chunk"):
        pair.server.send(b"{" * (16 * 1024 * 1024 + 1))
    pair.server.send(b"{" * 300_000)  # whole, as a peer without chunks expects
    assert pair.serverWire.written[-1] == (b"{" * 300_000, True)


def test_send_on_closed_link_raises(makePair):
    """send() before the handshake or after close raises VortexLinkClosedError."""
    pair = makePair(wired=False)
    with pytest.raises(VortexLinkClosedError, match="handshake in progress"):
        pair.client.send(b"x")
    pair.client.close("done")
    with pytest.raises(VortexLinkClosedError, match="closed by this side: done"):
        pair.client.send(b"x")


def test_slow_consumer_over_queue_bound_is_dropped(makePair, caplog):
    """While the transport is paused, queuing more than maxQueuedBytes drops the link."""
    pair = makePair(limits=TransportLimits(maxQueuedBytes=1000))
    pair.open()
    for _ in range(10):
        pair.server.pauseProducing()  # Twisted repeats the pause on every write
        pair.server.send(b"x" * 100)
    assert pair.server.isOpen
    with caplog.at_level(logging.WARNING):
        pair.server.send(b"x")
    assert pair.serverWire.closed[0][0] == hs.CLOSE_SLOW_CONSUMER
    assert pair.serverWire.closed[0][2] is True  # abort: the queued bytes are discarded
    assert "slow consumer" in caplog.text


def test_draining_socket_resets_the_queue_count(makePair):
    """resumeProducing resets the count, so a consumer that keeps up is never dropped."""
    pair = makePair(limits=TransportLimits(maxQueuedBytes=1000))
    pair.open()
    for _ in range(5):
        pair.server.pauseProducing()
        pair.server.send(b"x" * 900)
        pair.server.resumeProducing()
    assert pair.server.isOpen and pair.serverWire.closed == []


def test_transcript_proof_matches_documented_vector():
    """The HMAC proof equals the test vector published in docs/vortex/transport.rst."""
    transcript = hs.Transcript(
        clientName="peek-agent-service",
        clientUuid="agent-uuid-1",
        serverName="peek-logic-service",
        serverUuid="logic-uuid-1",
        clientNonce="11" * 32,
        serverNonce="22" * 32,
    )
    secret = b"0123456789abcdef0123456789abcdef"
    assert transcript.proof(secret, "client") == (
        "40d71b3601a8075a2c7e5a97abbea980025c664c956166607a071cba151ae0f7"
    )
    assert transcript.proof(secret, "server") == (
        "47181bfb4b746cb9ce8aac4e094f286daba76c77ab32f48de4bdb04a1b76ce57"
    )


def test_core_rejects_invalid_local_identity():
    """A core cannot be built with a vortex name outside the allowed characters."""
    with pytest.raises(ValueError, match="vortexName"):
        VortexConnectionCore(
            isServer=True,
            vortexName="bad name",
            vortexUuid="u1",
            secret=SECRET,
            outputs=object(),
            clock=task.Clock(),
            peerAddress="192.0.2.7:4242",
        )


# ---- heartbeat interval negotiation -----------------------------------------------------

FAST = TransportLimits(heartbeatSeconds=1.0)
SLOW = TransportLimits(heartbeatSeconds=5.0)


@pytest.mark.parametrize("clientSecret", [SECRET, None], ids=["service", "device"])
def test_handshake_announces_each_sides_heartbeat(makePair, clientSecret):
    """hello and welcome carry the sender's interval, and each side records the peer's."""
    pair = makePair(clientSecret=clientSecret, allowDevices=True, limits=FAST, serverLimits=SLOW)
    pair.open()
    sent = {
        json.loads(data)["type"]: json.loads(data)
        for wire in (pair.clientWire, pair.serverWire)
        for data, _ in wire.written
        if data
    }
    assert sent["hello"]["heartbeatSeconds"] == 1.0
    assert sent["welcome"]["heartbeatSeconds"] == 5.0
    assert (pair.server.peerHeartbeatSeconds, pair.client.peerHeartbeatSeconds) == (1.0, 5.0)


def test_link_with_different_intervals_stays_up(makePair):
    """A 1 s client and a 5 s server keep the link up over 60 s, each sending at its own pace."""
    pair = makePair(limits=FAST, serverLimits=SLOW)
    pair.open()
    pair.clock.pump([0.5] * 120)
    assert pair.client.isOpen and pair.server.isOpen
    assert pair.clientWire.closed == [] and pair.serverWire.closed == []
    assert pair.clientWire.written.count((b"", True)) == 60
    assert pair.serverWire.written.count((b"", True)) == 12


@pytest.mark.parametrize("silentSide", ["server", "client"])
def test_silent_peer_with_different_intervals_is_declared_dead(makePair, silentSide):
    """Silence for 3 intervals of the slower side (15 s) kills the link on the listening side."""
    pair = makePair(limits=FAST, serverLimits=SLOW)
    pair.open()
    silentWire = pair.serverWire if silentSide == "server" else pair.clientWire
    listener, listenerWire = (
        (pair.client, pair.clientWire) if silentSide == "server" else (pair.server, pair.serverWire)
    )
    silentWire.peerCore = None
    pair.clock.pump([1.0] * 14)
    assert listener.isOpen
    pair.clock.advance(1.0)
    assert listenerWire.closed == [
        (
            hs.CLOSE_HEARTBEAT_TIMEOUT,
            "peer silent for 3 heartbeat intervals of 5.0 s; declared dead",
            True,
        )
    ]


def test_peer_without_announced_interval_is_judged_by_ours(makePair):
    """A hello without heartbeatSeconds means the peer uses our interval (older clients)."""
    pair = makePair(clientSecret=None, allowDevices=True, limits=SLOW, wired=False)
    pair.server.connectionOpened()
    hello = {
        "type": "hello",
        "protocol": 1,
        "role": "device",
        "vortexName": "old-browser",
        "vortexUuid": "u1",
    }
    pair.server.messageReceived(hs.encode(hello), True)
    assert pair.server.isOpen and pair.server.peerHeartbeatSeconds == 5.0
    pair.clock.pump([5.0] * 2)
    assert pair.server.isOpen
    pair.clock.advance(5.0)
    assert pair.serverWire.closed[0][0] == hs.CLOSE_HEARTBEAT_TIMEOUT


BAD_HEARTBEATS = [
    ("0", "zero"),
    ("0.05", "too-short"),
    ("300.5", "too-long"),
    ("-5", "negative"),
    ('"5"', "string"),
    ("true", "bool"),
    ("null", "null"),
    ("NaN", "nan"),
    ("Infinity", "infinity"),
]


@pytest.mark.parametrize(
    "raw", [raw for raw, _ in BAD_HEARTBEATS], ids=[name for _, name in BAD_HEARTBEATS]
)
def test_invalid_announced_heartbeat_in_hello_is_refused(makePair, caplog, raw):
    """A hello announcing an unusable interval is closed with 4001 and the reason logged."""
    pair = makePair(clientSecret=None, allowDevices=True, wired=False)
    pair.server.connectionOpened()
    frame = (
        '{"type":"hello","protocol":1,"role":"device","vortexName":"b","vortexUuid":"u",'
        f'"heartbeatSeconds":{raw}}}'
    ).encode()
    with caplog.at_level(logging.WARNING):
        pair.server.messageReceived(frame, True)
    [(code, reason, _)] = pair.serverWire.closed
    assert code == hs.CLOSE_BAD_HANDSHAKE and "invalid 'heartbeatSeconds'" in reason
    assert "invalid 'heartbeatSeconds'" in caplog.text and "192.0.2.7:4242" in caplog.text
    assert pair.serverWire.up == [] and not pair.server.isOpen


def test_invalid_announced_heartbeat_in_welcome_is_refused(makePair, caplog):
    """A welcome announcing an unusable interval is closed with 4001 by the client."""
    pair = makePair(clientSecret=None, wired=False)
    pair.client.connectionOpened()
    welcome = {
        "type": "welcome",
        "protocol": 1,
        "role": "device",
        "vortexName": "s",
        "vortexUuid": "su",
        "heartbeatSeconds": 1000,
    }
    with caplog.at_level(logging.WARNING):
        pair.client.messageReceived(hs.encode(welcome), True)
    [(code, reason, _)] = pair.clientWire.closed
    assert code == hs.CLOSE_BAD_HANDSHAKE and "invalid 'heartbeatSeconds': 1000" in reason
    assert "192.0.2.1:8011" in caplog.text
    assert pair.clientWire.up == [] and not pair.client.isOpen

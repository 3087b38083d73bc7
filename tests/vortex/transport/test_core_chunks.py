"""Sans-IO tests of large payloads on a link: chunk frames, priority sends, queue bounds."""

from __future__ import annotations

import json
import logging

import pytest

from vortex.transport import ReassemblyBudget, TransportLimits
from vortex.transport import handshake as hs
from vortex.transport.chunking import CHUNK_HEADER_BYTES

SMALL_CHUNKS = TransportLimits(chunkBytes=100)
#: Frames longer than this pause the sending core, as Twisted's write buffer would.
HIGH_WATER = 50


def _flush(pair) -> None:
    """Let the server's socket take everything queued: drain it and run the reactor turns
    its pump asked for (the pump writes one frame per turn)."""
    for _ in range(10_000):
        if not pair.server.queuedBytes:
            return
        pair.serverWire.drain()
        pair.clock.advance(0)
    raise AssertionError("the send queue never drained")


def _payload(tag: str, size: int) -> bytes:
    return b'{"' + tag.encode() + b'":"' + b"x" * (size - len(tag) - 7) + b'"}'


def test_both_sides_announce_chunk_frames_and_large_payloads_travel_in_chunks(makePair):
    """Hello and welcome say ``"chunks": 1``; a payload over chunkBytes crosses as frames of
    at most chunkBytes plus the header and arrives whole, once."""
    pair = makePair(limits=SMALL_CHUNKS)
    pair.open()
    handshakes = [json.loads(data) for data, _ in pair.clientWire.written[:1]]
    handshakes += [json.loads(data) for data, _ in pair.serverWire.written[-1:]]
    assert [(m["type"], m["chunks"]) for m in handshakes] == [("hello", 1), ("welcome", 1)]
    assert pair.client.peerReadsChunks and pair.server.peerReadsChunks
    before = len(pair.serverWire.written)
    big = _payload("big", 1000)
    pair.server.send(big)
    assert len(pair.serverWire.written) == before + 1  # one frame per reactor turn
    _flush(pair)
    frames = [data for data, _ in pair.serverWire.written[before:]]
    assert len(frames) == 10 and all(f[0] == 0 for f in frames)
    assert max(map(len, frames)) == 100 + CHUNK_HEADER_BYTES
    assert pair.clientWire.delivered == [big]
    assert (pair.server.sentMessages, pair.server.sentBytes) == (1, 1000)
    assert (pair.client.receivedMessages, pair.client.receivedBytes) == (1, 1000)


def test_device_link_carries_chunks_both_ways(makePair):
    """A device (secretless) link chunks in both directions too."""
    pair = makePair(clientSecret=None, allowDevices=True, limits=SMALL_CHUNKS)
    pair.open()
    up, down = _payload("up", 450), _payload("down", 333)
    pair.client.send(up)
    pair.server.send(down)
    pair.clock.advance(0)
    assert pair.serverWire.delivered == [up] and pair.clientWire.delivered == [down]


def test_priority_payload_overtakes_a_bulk_transfer_between_its_chunks(makePair):
    """While a chunked payload drains, a sendPriority payload goes out after the chunk being
    written (the receiver holds part of the bulk message when it arrives), whereas a normal
    payload sent later still arrives after the bulk one."""
    pair = makePair(limits=SMALL_CHUNKS)
    pair.open()
    pair.serverWire.pauseAbove = HIGH_WATER
    big = _payload("bulk", 1000)
    pair.server.send(big)
    assert pair.client.reassemblingBytes == 1000 and pair.clientWire.delivered == []
    events = []
    pair.server.sendPriority(b'{"rpc":"reply"}')
    events.append(("reply", pair.client.reassemblingBytes))
    pair.server.send(b'{"update":"after bulk"}')
    assert pair.server.queuedBytes > 0
    _flush(pair)
    assert pair.clientWire.delivered == [b'{"rpc":"reply"}', big, b'{"update":"after bulk"}']
    assert events == [("reply", 1000)]  # answered while the bulk message was half there


def test_priority_payloads_keep_their_order_among_themselves(makePair):
    """Two priority payloads, one chunked, arrive in the order they were sent, both before
    the normal bulk transfer that was waiting."""
    pair = makePair(limits=SMALL_CHUNKS)
    pair.open()
    pair.serverWire.pauseAbove = HIGH_WATER
    bulk, bigReply = _payload("bulk", 1000), _payload("bigReply", 300)
    pair.server.send(bulk)
    pair.server.sendPriority(bigReply)
    pair.server.sendPriority(b'{"small":"reply"}')
    _flush(pair)
    assert pair.clientWire.delivered == [bigReply, b'{"small":"reply"}', bulk]


def test_payload_starting_with_the_marker_byte_arrives_unchanged(makePair):
    """A payload whose first byte is 0x00 (the chunk marker) is sent as one chunk frame."""
    pair = makePair()
    pair.open()
    pair.client.send(b"\x00binary")
    assert pair.serverWire.delivered == [b"\x00binary"]


def test_message_over_the_receivers_bound_is_dropped_and_the_link_stays_up(makePair, caplog):
    """A chunked message larger than the receiver's maxReassemblyBytes is dropped with an
    ERROR naming the link and the size; the link stays open and carries the next message."""
    pair = makePair(
        clientSecret=None,
        allowDevices=True,
        limits=TransportLimits(chunkBytes=100, maxReassemblyBytes=500),
        serverLimits=SMALL_CHUNKS,
    )
    pair.open()
    with caplog.at_level(logging.ERROR):
        pair.server.send(_payload("big", 800))
        _flush(pair)
    assert pair.clientWire.delivered == [] and pair.client.isOpen and pair.server.isOpen
    assert "peek-logic-service" in caplog.text and "800 bytes" in caplog.text
    assert "500 bytes per link" in caplog.text
    pair.server.send(_payload("fits", 400))
    _flush(pair)
    assert pair.clientWire.delivered == [_payload("fits", 400)]


def test_malformed_chunk_frame_closes_the_link_with_a_protocol_error(makePair, caplog):
    """A chunk frame with more data than its header announced closes the link with 1002."""
    pair = makePair(wired=False)
    pair.client.connectionOpened()
    pair.server.connectionOpened()
    pair.serverWire.peerCore, pair.clientWire.peerCore = pair.client, pair.server
    pair.server.messageReceived(pair.clientWire.written[0][0], True)
    with caplog.at_level(logging.WARNING):
        pair.server.messageReceived(b"\x00\x00\x00\x00\x01\x00\x00\x00\x02abc", True)
    assert pair.serverWire.closed[0][0] == hs.CLOSE_PROTOCOL_ERROR
    assert "malformed chunk frame" in caplog.text


def test_closing_mid_message_releases_the_shared_budget(makePair):
    """A link that closes while receiving gives its reserved bytes back to the budget."""
    budget = ReassemblyBudget()
    pair = makePair(limits=SMALL_CHUNKS, reassemblyBudget=budget)
    pair.open()
    pair.serverWire.pauseAbove = HIGH_WATER
    pair.server.send(_payload("big", 1000))
    assert budget.heldBytes == 1000
    pair.client.connectionClosed(1006, "gone")
    assert budget.heldBytes == 0


def test_bulk_queued_on_a_drained_link_is_not_counted_but_what_waits_behind_it_is(makePair, caplog):
    """The payload that starts a transfer on a drained link may be as large as allowed;
    payloads sent while frames wait count against maxQueuedBytes, and past it the link is
    dropped as a slow consumer (4006)."""
    pair = makePair(limits=TransportLimits(chunkBytes=100, maxQueuedBytes=1500))
    pair.open()
    pair.serverWire.pauseAbove = HIGH_WATER
    pair.server.send(_payload("first", 3000))
    assert pair.server.isOpen
    pair.server.send(_payload("second", 1000))
    assert pair.server.isOpen
    with caplog.at_level(logging.WARNING):
        pair.server.sendPriority(_payload("third", 600))
    assert pair.serverWire.closed[-1][0] == hs.CLOSE_SLOW_CONSUMER
    assert pair.server.queuedBytes == 0  # dropped with the link


def test_draining_the_queue_ends_the_count(makePair):
    """Once every queued frame is written and the socket drained, the count starts over."""
    pair = makePair(limits=TransportLimits(chunkBytes=100, maxQueuedBytes=1500))
    pair.open()
    pair.serverWire.pauseAbove = HIGH_WATER
    for _ in range(5):
        pair.server.send(_payload("bulk", 1000))
        pair.server.send(_payload("tail", 1000))
        _flush(pair)
        pair.serverWire.drain()
    assert pair.server.isOpen and len(pair.clientWire.delivered) == 10


@pytest.mark.parametrize("priority", [False, True], ids=["send", "sendPriority"])
def test_sending_on_a_closed_link_raises_on_both_paths(makePair, priority):
    """Both send paths refuse once the link has closed."""
    pair = makePair()
    pair.open()
    pair.client.close("done")
    send = pair.client.sendPriority if priority else pair.client.send
    with pytest.raises(ConnectionError, match="closed by this side: done"):
        send(b"{}")

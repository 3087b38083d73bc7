"""Tests of chunk frames: splitting, reassembly, and the per-link and per-process bounds."""

from __future__ import annotations

import logging

import pytest

from vortex.transport.chunking import (
    CHUNK_HEADER_BYTES,
    ChunkFrameError,
    Reassembler,
    ReassemblyBudget,
    chunkFrames,
    frameCount,
)
from vortex.transport.send_queue import SendQueue


def _reassembler(maxBytes: int = 10_000, budget: ReassemblyBudget | None = None) -> Reassembler:
    return Reassembler(maxBytes, budget or ReassemblyBudget(), lambda: "device 'tab' at 10.0.0.7:5")


def test_frames_carry_marker_id_total_and_slices_in_order():
    """Each frame is 0x00, the message id and total size (big-endian), then the next slice."""
    data = bytes(range(250))
    frames = list(chunkFrames(0x01020304, data, 100))
    assert len(frames) == frameCount(250, 100) == 3
    for frame in frames:
        assert frame[:9] == b"\x00\x01\x02\x03\x04\x00\x00\x00\xfa"
    assert b"".join(frame[CHUNK_HEADER_BYTES:] for frame in frames) == data
    assert [len(frame) - CHUNK_HEADER_BYTES for frame in frames] == [100, 100, 50]


def test_reassembler_delivers_the_payload_with_its_last_frame():
    """Nothing is delivered until the last frame; then the exact bytes, and nothing is held."""
    budget = ReassemblyBudget(1000)
    reassembler = _reassembler(budget=budget)
    data = b"{" + b"x" * 299
    frames = list(chunkFrames(7, data, 128))
    assert [reassembler.receive(frame) for frame in frames[:-1]] == [None, None]
    assert reassembler.heldBytes == 300 and budget.heldBytes == 300
    assert reassembler.receive(frames[-1]) == data
    assert reassembler.heldBytes == 0 and budget.heldBytes == 0


def test_interleaved_messages_are_kept_apart_by_id():
    """Frames of two messages may alternate; each is put back together on its own."""
    reassembler = _reassembler()
    first, second = b"{" + b"a" * 199, b"{" + b"b" * 149
    a, b = list(chunkFrames(1, first, 50)), list(chunkFrames(2, second, 50))
    delivered = [reassembler.receive(frame) for pair in zip(a, b, strict=False) for frame in pair]
    delivered += [reassembler.receive(frame) for frame in a[len(b) :]]
    assert [d for d in delivered if d is not None] == [second, first]


def test_single_chunk_payload_starting_with_the_marker_is_delivered_at_once():
    """A payload that starts with 0x00 travels as one chunk and is returned unchanged."""
    reassembler = _reassembler()
    (frame,) = chunkFrames(3, b"\x00\x01payload", 1024)
    assert reassembler.receive(frame) == b"\x00\x01payload"
    assert reassembler.heldBytes == 0


def test_message_over_the_link_bound_is_dropped_with_an_error_and_the_next_one_arrives(caplog):
    """Past maxBytes per link the message is refused at its first frame: an ERROR names the
    link, the size and the bound, its frames are dropped, and later messages still arrive."""
    reassembler = _reassembler(maxBytes=1000)
    big, small = b"{" + b"x" * 1499, b"{" + b"y" * 299
    with caplog.at_level(logging.ERROR):
        assert [reassembler.receive(f) for f in chunkFrames(1, big, 200)] == [None] * 8
    assert reassembler.heldBytes == 0 and reassembler.refusedMessages == 1
    assert "device 'tab' at 10.0.0.7:5" in caplog.text
    assert "1500 bytes" in caplog.text and "1000 bytes per link" in caplog.text
    assert [reassembler.receive(f) for f in chunkFrames(2, small, 200)] == [None, small]


def test_messages_of_two_links_are_held_within_the_process_budget(caplog):
    """Two links each within their own bound cannot together pass the shared budget; the
    refused message's link is named and the budget is given back as messages complete."""
    budget = ReassemblyBudget(1500)
    first = Reassembler(1000, budget, lambda: "link one")
    second = Reassembler(1000, budget, lambda: "link two")
    data = b"{" + b"z" * 999
    framesOne, framesTwo = list(chunkFrames(1, data, 100)), list(chunkFrames(1, data, 100))
    assert first.receive(framesOne[0]) is None and budget.heldBytes == 1000
    with caplog.at_level(logging.ERROR):
        assert second.receive(framesTwo[0]) is None
    assert "link two" in caplog.text and "1500 bytes for all links (1000 held)" in caplog.text
    assert [second.receive(f) for f in framesTwo[1:]] == [None] * 9
    assert [first.receive(f) for f in framesOne[1:]][-1] == data
    assert budget.heldBytes == 0
    assert [second.receive(f) for f in chunkFrames(2, data, 100)][-1] == data


def test_discard_gives_back_what_a_closed_link_held():
    """A link closing mid-message releases its share of the process budget."""
    budget = ReassemblyBudget()
    reassembler = _reassembler(budget=budget)
    reassembler.receive(next(chunkFrames(1, b"{" + b"q" * 999, 100)))
    assert budget.heldBytes == 1000
    reassembler.discard()
    assert budget.heldBytes == 0 and reassembler.heldBytes == 0


@pytest.mark.parametrize(
    ("frames", "match"),
    [
        ([b"\x00\x00\x00\x00\x01\x00\x00\x00\x05"], "carries no data"),
        (
            [b"\x00\x00\x00\x00\x01\x00\x00\x00\x05abc", b"\x00\x00\x00\x00\x01\x00\x00\x00\x06de"],
            "says 6 bytes, its first said 5",
        ),
        (
            [
                b"\x00\x00\x00\x00\x01\x00\x00\x00\x05abc",
                b"\x00\x00\x00\x00\x01\x00\x00\x00\x05def",
            ],
            "more than its 5 bytes",
        ),
    ],
    ids=["empty", "total-changes", "overrun"],
)
def test_malformed_frames_are_refused(frames, match):
    """Frames without data, with a changing total or with more data than announced raise."""
    reassembler = _reassembler()
    with pytest.raises(ChunkFrameError, match=match):
        for frame in frames:
            reassembler.receive(frame)


def test_send_queue_takes_priority_frames_first_and_keeps_each_class_in_order():
    """pop() drains the priority class before the normal one, each in its own order, and
    counts the bytes still waiting."""
    queue = SendQueue()
    queue.add([b"n1a", b"n1b"], 6, priority=False)
    queue.add([b"n2"], 2, priority=False)
    assert queue.pop() == b"n1a"
    queue.add([b"p1"], 2, priority=True)
    queue.add([b"p2a", b"p2b"], 6, priority=True)
    assert queue.queuedBytes == 13
    popped = []
    while (frame := queue.pop()) is not None:
        popped.append(frame)
    assert popped == [b"p1", b"p2a", b"p2b", b"n1b", b"n2"]
    assert queue.queuedBytes == 0 and not queue

"""The vortex's small-frame websocket masker gives exactly autobahn's native masking."""

from __future__ import annotations

import random

import autobahn.websocket.protocol as autobahnProtocol
import pytest
from autobahn.nvx._xormasker import create_xor_masker as nativeXorMasker

from vortex.transport._autobahn_compat import (
    SMALL_FRAME_MASK_BYTES,
    SmallFrameXorMasker,
    createXorMasker,
)


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 127, 128, 300, 1023, SMALL_FRAME_MASK_BYTES])
def test_small_masker_matches_native_masking_in_pieces(size):
    """Masking a frame in random pieces gives the native masker's bytes and pointer."""
    rng = random.Random(size)
    for _ in range(20):
        mask = rng.randbytes(4)
        data = rng.randbytes(size)
        native = nativeXorMasker(mask, size)
        small = SmallFrameXorMasker(mask)
        cuts = sorted(rng.sample(range(size + 1), min(3, size + 1)))
        pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, size], strict=True)]
        assert b"".join(small.process(piece) for piece in pieces) == native.process(data)
        assert small.pointer() == size
        small.reset()
        assert small.pointer() == 0
        assert small.process(data) == SmallFrameXorMasker(mask).process(data)


def test_autobahn_uses_the_small_masker_for_small_frames_only():
    """autobahn's protocol module creates its maskers through ``createXorMasker``, which
    gives the small masker up to ``SMALL_FRAME_MASK_BYTES`` and the native one above."""
    assert autobahnProtocol.create_xor_masker is createXorMasker
    mask = b"\x01\x02\x03\x04"
    assert isinstance(createXorMasker(mask, SMALL_FRAME_MASK_BYTES), SmallFrameXorMasker)
    large = createXorMasker(mask, SMALL_FRAME_MASK_BYTES + 1)
    assert not isinstance(large, SmallFrameXorMasker)
    data = bytes(range(256)) * 20
    assert large.process(data) == nativeXorMasker(mask, len(data)).process(data)

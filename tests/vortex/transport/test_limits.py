"""Tests of TransportLimits validation."""

from __future__ import annotations

import pytest

from vortex.transport import TransportLimits


@pytest.mark.parametrize("seconds", [0.05, 301.0, float("nan"), float("inf")])
def test_heartbeat_outside_announceable_range_is_refused(seconds):
    """A heartbeat interval peers would refuse in the handshake is refused up front."""
    with pytest.raises(ValueError, match=r"heartbeatSeconds must be from 0\.1 to 300"):
        TransportLimits(heartbeatSeconds=seconds)


@pytest.mark.parametrize("seconds", [0.1, 1, 300.0])
def test_heartbeat_within_range_is_accepted(seconds):
    """Intervals from 0.1 s to 300 s, ints included, are accepted as given."""
    assert TransportLimits(heartbeatSeconds=seconds).heartbeatSeconds == seconds

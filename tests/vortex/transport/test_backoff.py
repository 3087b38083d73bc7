"""Tests of the reconnect backoff policy (pure object, seeded random)."""

from __future__ import annotations

import random

import pytest

from vortex.transport import Backoff


class _MaxRandom(random.Random):
    """A random source whose uniform() always returns the upper bound."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_ceiling_grows_exponentially_and_is_capped():
    """The delay bound doubles from 0.5 s per attempt and stops at the 10 s cap."""
    backoff = Backoff(initial=0.5, factor=2.0, cap=10.0, rng=_MaxRandom())
    delays = [backoff.nextDelay() for _ in range(8)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


def test_default_policy_reconnects_within_two_seconds_after_a_long_outage():
    """However many attempts failed while the server was down, the default policy's next
    wait is at most 2 s: a device links again soon after its field service is back."""
    backoff = Backoff(rng=_MaxRandom())
    delays = [backoff.nextDelay() for _ in range(50)]
    assert max(delays) == 2.0
    assert delays[:3] == [0.5, 1.0, 2.0]


def test_delays_are_full_jitter_within_the_ceiling():
    """Each delay is drawn from [0, ceiling] and the draws differ (jitter)."""
    backoff = Backoff(rng=random.Random(1234))
    delays = [backoff.nextDelay() for _ in range(30)]
    ceilings = [backoff.ceiling(n) for n in range(30)]
    assert all(0.0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == len(delays)
    assert any(d < c / 2 for d, c in zip(delays, ceilings, strict=True))


def test_same_seed_gives_the_same_delays():
    """The policy is deterministic for a seeded random source."""
    first = Backoff(rng=random.Random(7))
    second = Backoff(rng=random.Random(7))
    assert [first.nextDelay() for _ in range(10)] == [second.nextDelay() for _ in range(10)]


def test_reset_starts_over_from_initial():
    """After reset() (a successful link) the next delay is bounded by the initial value."""
    backoff = Backoff(initial=0.5, cap=10.0, rng=_MaxRandom())
    for _ in range(6):
        backoff.nextDelay()
    backoff.reset()
    assert backoff.nextDelay() == 0.5


def test_very_long_outage_stays_at_cap():
    """Thousands of attempts never overflow: the bound stays at the cap."""
    backoff = Backoff(initial=0.5, factor=10.0, cap=10.0)
    assert backoff.ceiling(5000) == 10.0


@pytest.mark.parametrize(
    "kwargs",
    [{"initial": 0.0}, {"initial": 20.0, "cap": 10.0}, {"factor": 0.5}],
)
def test_nonsense_policy_is_rejected(kwargs):
    """A policy with non-positive initial, initial above cap, or shrinking factor is refused."""
    with pytest.raises(ValueError, match="Backoff needs"):
        Backoff(**kwargs)

"""Failed-login throttling per client address with exponential delays."""

from __future__ import annotations

from peek_platform.web.login_throttle import FORGET_AFTER_SECONDS, LoginThrottle


def test_first_failures_are_free(clock):
    """Below freeFailures a client may retry at once."""
    throttle = LoginThrottle(clock, freeFailures=3)
    throttle.recordFailure("127.0.0.5")
    throttle.recordFailure("127.0.0.5")
    assert throttle.retryAfter("127.0.0.5") == 0


def test_delay_doubles_with_each_further_failure(clock):
    """From freeFailures on, the wait doubles per failure, up to the cap."""
    throttle = LoginThrottle(clock, freeFailures=3, baseDelaySeconds=1, maxDelaySeconds=10)
    assert [throttle.delayAfter(n) for n in range(2, 9)] == [0, 1, 2, 4, 8, 10, 10]


def test_wait_counts_down_on_the_clock(clock):
    """After the failures the client must wait; the wait shrinks as time passes."""
    throttle = LoginThrottle(clock, freeFailures=1, baseDelaySeconds=4)
    throttle.recordFailure("127.0.0.5")
    throttle.recordFailure("127.0.0.5")
    assert throttle.retryAfter("127.0.0.5") == 8
    clock.advance(5)
    assert throttle.retryAfter("127.0.0.5") == 3
    clock.advance(3)
    assert throttle.retryAfter("127.0.0.5") == 0


def test_clients_are_throttled_separately(clock):
    """One address's failures do not delay another address."""
    throttle = LoginThrottle(clock, freeFailures=0)
    throttle.recordFailure("127.0.0.5")
    assert throttle.retryAfter("127.0.0.5") > 0
    assert throttle.retryAfter("127.0.0.6") == 0


def test_success_clears_the_record(clock):
    """A successful login resets the client's failures."""
    throttle = LoginThrottle(clock, freeFailures=0)
    throttle.recordFailure("127.0.0.5")
    throttle.recordSuccess("127.0.0.5")
    assert throttle.retryAfter("127.0.0.5") == 0


def test_stale_records_are_forgotten_and_table_is_bounded(clock):
    """Records idle for a day are dropped, and the table never exceeds maxClients."""
    throttle = LoginThrottle(clock, freeFailures=0, maxClients=2)
    throttle.recordFailure("127.0.0.5")
    clock.advance(FORGET_AFTER_SECONDS + 1)
    throttle.recordFailure("127.0.0.6")
    assert throttle.retryAfter("127.0.0.5") == 0
    throttle.recordFailure("127.0.0.7")
    throttle.recordFailure("127.0.0.8")
    assert throttle.retryAfter("127.0.0.6") == 0
    assert throttle.retryAfter("127.0.0.8") > 0

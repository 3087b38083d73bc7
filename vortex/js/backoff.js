/**
 * Reconnect delays: capped exponential backoff with full jitter (docs/vortex/transport.rst).
 * Attempt n waits a uniform random time in [0, min(capMs, initialMs * factor ** n)]. The default
 * cap (2 s) has a page link again within 2 s of its server being back, however long it was down.
 */
export class Backoff {
  constructor({ initialMs = 500, factor = 2, capMs = 2_000, random = Math.random } = {}) {
    if (!(initialMs > 0 && initialMs <= capMs) || !(factor >= 1)) {
      throw new RangeError(
        `Backoff needs 0 < initialMs <= capMs and factor >= 1, got initialMs=${initialMs}` +
          ` factor=${factor} capMs=${capMs}`,
      );
    }
    this.initialMs = initialMs;
    this.factor = factor;
    this.capMs = capMs;
    this.random = random;
    this.attempt = 0;
  }

  /** Upper bound of the delay for attempt number n (0-based). */
  ceilingMs(attempt) {
    return Math.min(this.capMs, this.initialMs * this.factor ** attempt);
  }

  /** The delay before the next attempt; advances the attempt counter. */
  nextDelayMs() {
    const delay = this.random() * this.ceilingMs(this.attempt);
    this.attempt += 1;
    return delay;
  }

  /** Start again from initialMs (after a link is authenticated). */
  reset() {
    this.attempt = 0;
  }
}

import type { Clock } from '../clock.js';

export interface RequestThrottleOptions {
  /** Tokens added per second: the sustained request rate. */
  ratePerSecond: number;
  /** Bucket size: how many requests may come at once (a client's start-up, a burst of consumer resumes). */
  burst: number;
  /**
   * Refused requests, beyond the rate, that a connection may pile up before it counts as hammering. The excess
   * drains at the same rate, so a client that slows down is forgiven.
   */
  hammerAfter: number;
  clock: Clock;
}

export type ThrottleVerdict =
  { allowed: true } | { allowed: false; retryAfterMs: number; hammering: boolean };

/**
 * A token bucket for one connection's socket requests. Hand-written rather than rate-limiter-flexible's memory
 * limiter: that one counts a fixed window per string key with its own timers and `Date.now()`, while this is a
 * per-socket object (nothing to key or clean up on disconnect), refills continuously (no double burst at a
 * window's edge) and reads the injected clock, so tests move time instead of sleeping.
 */
export class RequestThrottle {
  readonly #o: RequestThrottleOptions;
  #tokens: number;
  /** Refused requests not yet drained; past `hammerAfter` the connection is hammering. */
  #excess = 0;
  #at: number;

  constructor(options: RequestThrottleOptions) {
    this.#o = options;
    this.#tokens = options.burst;
    this.#at = options.clock.now();
  }

  /** Takes a token for one request, or says how long until one is there. */
  take(): ThrottleVerdict {
    this.#refill();
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return { allowed: true };
    }
    this.#excess += 1;
    const retryAfterMs = Math.ceil(((1 - this.#tokens) / this.#o.ratePerSecond) * 1000);
    return { allowed: false, retryAfterMs, hammering: this.#excess > this.#o.hammerAfter };
  }

  #refill(): void {
    const now = this.#o.clock.now();
    // A clock that goes backwards (a manual clock set back, NTP) must not mint or burn tokens.
    const elapsedMs = Math.max(0, now - this.#at);
    this.#at = now;
    const earned = (elapsedMs / 1000) * this.#o.ratePerSecond;
    this.#tokens = Math.min(this.#o.burst, this.#tokens + earned);
    this.#excess = Math.max(0, this.#excess - earned);
  }
}

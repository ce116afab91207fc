import { backoffDelayMs, type Backoff } from '../../../../shared/backoff.js';

/** The timers a {@link Reconnector} uses: the page's, or a test's fake clock. */
export interface ReconnectTimers {
  setTimeout: (run: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
}

/** 0.5 s doubling up to 10 s, with up to 20% less at random. */
const RECONNECT_BACKOFF: Backoff = { firstMs: 500, maxMs: 10_000, jitter: 0.2 };

/**
 * How long to wait before attempt `failures + 1` after `failures` failed ones: 0.5 s doubling up to 10 s, with up to
 * 20% less at random so that many browsers coming back together do not all knock at the same instant.
 */
export function reconnectDelayMs(failures: number, random: () => number = Math.random): number {
  return backoffDelayMs(RECONNECT_BACKOFF, failures, random);
}

/**
 * Tries `attempt` again after each failure, backing off, until one succeeds or it is stopped. `wake()` (the
 * browser is back online) tries at once and starts the backoff over: waiting 10 s more after the network came back
 * is what the user would notice.
 */
export class Reconnector {
  readonly #attempt: () => void;
  readonly #timers: ReconnectTimers;
  readonly #random: () => number;
  #failures = 0;
  #timer: unknown;
  #waiting = false;

  constructor(attempt: () => void, timers: ReconnectTimers, random: () => number = Math.random) {
    this.#attempt = attempt;
    this.#timers = timers;
    this.#random = random;
  }

  /** Failed attempts since the last success (or wake). */
  get failures(): number {
    return this.#failures;
  }

  /** Whether an attempt is scheduled. */
  get waiting(): boolean {
    return this.#waiting;
  }

  /** The last attempt failed: the next one after the backoff. */
  failed(): void {
    this.#cancel();
    const delay = reconnectDelayMs(this.#failures, this.#random);
    this.#failures += 1;
    this.#waiting = true;
    this.#timer = this.#timers.setTimeout(() => {
      this.#waiting = false;
      this.#timer = undefined;
      this.#attempt();
    }, delay);
  }

  succeeded(): void {
    this.#cancel();
    this.#failures = 0;
  }

  /** Only while waiting: an attempt already under way is left to finish. */
  wake(): void {
    if (!this.#waiting) return;
    this.#cancel();
    this.#failures = 0;
    this.#attempt();
  }

  stop(): void {
    this.#cancel();
    this.#failures = 0;
  }

  #cancel(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#waiting = false;
  }
}

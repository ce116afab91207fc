/**
 * The one exponential backoff of the product, for the browser (the web phone's reconnection, the media session's
 * restart) and the server (the sfu's router rebuild, the embedded stack's restarts): pure, so each caller keeps
 * its own counter and timer and a test its own clock.
 */
export interface Backoff {
  /** The wait after the first failure. */
  firstMs: number;
  /** Doubling stops here. */
  maxMs: number;
  /**
   * Up to this share (0..1) less, at random, so that many clients coming back together do not all knock at the
   * same instant. 0 or absent: the exact figure.
   */
  jitter?: number;
}

/**
 * How long to wait after `failures + 1` failures in a row (0: the first one): `firstMs`, doubling each time, at
 * most `maxMs`, less up to `jitter` of it at random. `random` is injectable for tests (`Math.random`'s range).
 */
export function backoffDelayMs(
  policy: Backoff,
  failures: number,
  random: () => number = Math.random,
): number {
  // 2 ** 30 of any sensible first delay is past any cap; the exponent is bounded so a long outage stays finite.
  const base = Math.min(policy.maxMs, policy.firstMs * 2 ** Math.min(Math.max(0, failures), 30));
  const jitter = policy.jitter ?? 0;
  return jitter > 0 ? Math.round(base * (1 - jitter * random())) : base;
}

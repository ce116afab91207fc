import assert from 'node:assert/strict';
import { backoffDelayMs } from '../../shared/backoff.js';

describe('backoffDelayMs: the one exponential backoff of browser and server', () => {
  it('starts at the first delay and doubles after each failure up to the cap', () => {
    const policy = { firstMs: 100, maxMs: 2_000 };
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(policy, n)),
      [100, 200, 400, 800, 1_600, 2_000, 2_000],
    );
  });

  it('stays finite and capped after a very long run of failures, and treats a negative count as none', () => {
    const policy = { firstMs: 500, maxMs: 30_000 };
    assert.equal(backoffDelayMs(policy, 1_000_000), 30_000);
    assert.equal(backoffDelayMs(policy, Number.MAX_SAFE_INTEGER), 30_000);
    assert.equal(backoffDelayMs(policy, -3), 500);
  });

  it('takes up to `jitter` off at random, with the random source injected', () => {
    const policy = { firstMs: 500, maxMs: 10_000, jitter: 0.2 };
    assert.equal(
      backoffDelayMs(policy, 0, () => 0),
      500,
    );
    assert.equal(
      backoffDelayMs(policy, 0, () => 1),
      400,
    );
    assert.equal(
      backoffDelayMs(policy, 5, () => 0.5),
      9_000,
    );
    // Rounded to whole milliseconds, and never more than without jitter.
    const delay = backoffDelayMs(policy, 1, () => 0.123);
    assert.equal(delay, Math.round(1_000 * (1 - 0.2 * 0.123)));
    for (let i = 0; i < 50; i++) {
      const d = backoffDelayMs(policy, 3);
      assert.ok(d <= 4_000 && d >= 3_200, String(d));
    }
  });

  it('without jitter never asks for a random number', () => {
    const random = (): number => assert.fail('random called');
    assert.equal(backoffDelayMs({ firstMs: 250, maxMs: 4_000 }, 7, random), 4_000);
    assert.equal(backoffDelayMs({ firstMs: 250, maxMs: 4_000, jitter: 0 }, 1, random), 500);
  });
});

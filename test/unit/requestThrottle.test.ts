import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock } from '../../server/clock.js';
import { RequestThrottle } from '../../server/signaling/RequestThrottle.js';

function throttle(clock: ManualClock, ratePerSecond = 10, burst = 5, hammerAfter = 3): RequestThrottle {
  return new RequestThrottle({ ratePerSecond, burst, hammerAfter, clock });
}

describe('RequestThrottle', () => {
  it('lets a burst through at once, then refuses with the wait until the next token', () => {
    const clock = new ManualClock();
    const t = throttle(clock);
    for (let i = 0; i < 5; i++) assert.deepEqual(t.take(), { allowed: true });
    // 10 tokens per second: the next one is 100 ms away.
    assert.deepEqual(t.take(), { allowed: false, retryAfterMs: 100, hammering: false });
    clock.advance(60);
    assert.deepEqual(t.take(), { allowed: false, retryAfterMs: 40, hammering: false });
    clock.advance(40);
    assert.deepEqual(t.take(), { allowed: true });
  });

  it('refills at the rate, never above the burst', () => {
    const clock = new ManualClock();
    const t = throttle(clock);
    for (let i = 0; i < 5; i++) t.take();
    clock.advance(60_000);
    let allowed = 0;
    while (t.take().allowed) allowed++;
    assert.equal(allowed, 5);
  });

  it('calls a connection hammering only when refusals pile up faster than they drain', () => {
    const clock = new ManualClock();
    const t = throttle(clock);
    for (let i = 0; i < 5; i++) t.take();
    const verdicts = [t.take(), t.take(), t.take(), t.take()];
    assert.deepEqual(
      verdicts.map((v) => !v.allowed && v.hammering),
      [false, false, false, true],
    );
    // Quiet for a while: forgiven, and served again.
    clock.advance(1_000);
    assert.deepEqual(t.take(), { allowed: true });
  });

  it('never lets through more than the burst plus what the rate earned, whatever the timing', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 1, maxLength: 300 }),
        (rate, burst, gaps) => {
          const clock = new ManualClock(0);
          const t = throttle(clock, rate, burst, 10);
          let allowed = 0;
          for (const gap of gaps) {
            clock.advance(gap);
            const v = t.take();
            if (v.allowed) allowed++;
            else assert.ok(v.retryAfterMs > 0 && v.retryAfterMs <= Math.ceil(1000 / rate));
          }
          const earned = (clock.now() / 1000) * rate;
          assert.ok(allowed <= burst + earned + 1e-9, `${allowed} > ${burst} + ${earned}`);
        },
      ),
    );
  });

  it('mints no tokens when the clock goes backwards', () => {
    const clock = new ManualClock(10_000);
    const t = throttle(clock);
    for (let i = 0; i < 5; i++) t.take();
    clock.set(0);
    assert.equal(t.take().allowed, false);
  });
});

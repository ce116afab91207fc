import assert from 'node:assert/strict';
import { reconnectDelayMs, Reconnector, type ReconnectTimers } from '../../client/src/app/phone/reconnect.js';
import { ManualClock } from '../../server/clock.js';
import { createLogger } from '../../server/logger.js';
import { WebCallGuard } from '../../server/telephony/WebCallGuard.js';

/** The Reconnector's timers on a ManualClock. */
function timersOn(clock: ManualClock): ReconnectTimers {
  return {
    setTimeout: (run, ms) => clock.setTimer(ms, run),
    clearTimeout: (handle) => (handle as () => void)(),
  };
}

describe('web phone after a network blip: reconnection backoff and the server grace', () => {
  it('backs off from 0.5 s doubling to 10 s, at most 20% less at random', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 30].map((n) => reconnectDelayMs(n, () => 0)),
      [500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000],
    );
    assert.equal(
      reconnectDelayMs(0, () => 1),
      400,
    );
    assert.equal(
      reconnectDelayMs(5, () => 0.5),
      9_000,
    );
  });

  it('retries after each failure, tries at once when woken, and starts over after a success', () => {
    const clock = new ManualClock(0);
    const attempts: number[] = [];
    const r = new Reconnector(
      () => attempts.push(clock.now()),
      timersOn(clock),
      () => 0,
    );
    r.failed();
    assert.equal(r.waiting, true);
    clock.advance(499);
    assert.deepEqual(attempts, []);
    clock.advance(1);
    assert.deepEqual(attempts, [500]);
    r.failed();
    clock.advance(1_000);
    assert.deepEqual(attempts, [500, 1_500]);
    r.failed();
    r.failed(); // a second report replaces the first timer
    assert.equal(r.failures, 4);
    // The browser is back online: now, not in 8 s; and the backoff starts over.
    clock.advance(100);
    r.wake();
    assert.deepEqual(attempts, [500, 1_500, 1_600]);
    assert.equal(r.waiting, false);
    assert.equal(r.failures, 0);
    clock.advance(60_000);
    assert.equal(attempts.length, 3, 'the cancelled timer does not fire');
    // Woken while an attempt is under way (nothing scheduled): nothing more.
    r.wake();
    assert.equal(attempts.length, 3);
    r.failed();
    r.failed();
    r.succeeded();
    clock.advance(60_000);
    assert.equal(attempts.length, 3);
    assert.equal(r.failures, 0);
    r.failed();
    r.stop();
    clock.advance(60_000);
    assert.equal(attempts.length, 3);
  });

  it('ends the web calls of a user whose last SIP WebSocket stayed closed for the grace, and only then', async () => {
    const clock = new ManualClock(0);
    const ended: string[] = [];
    const guard = new WebCallGuard({
      graceMs: 5_000,
      clock,
      endWebCalls: (userId) => {
        ended.push(userId);
        return Promise.resolve(1);
      },
      logger: createLogger('silent'),
    });
    // A blip: closed, opened again within the grace.
    guard.opened('u1');
    guard.closed('u1');
    assert.deepEqual(guard.waiting, ['u1']);
    clock.advance(4_999);
    guard.opened('u1');
    clock.advance(10_000);
    assert.deepEqual(ended, []);
    assert.deepEqual(guard.waiting, []);
    // Two tabs: one closing leaves the other; the calls wait only when none is left.
    guard.opened('u1');
    guard.closed('u1');
    assert.deepEqual(guard.waiting, []);
    guard.closed('u1');
    clock.advance(5_000);
    await Promise.resolve();
    assert.deepEqual(ended, ['u1']);
    // Closed at shutdown: nothing fires any more.
    guard.opened('u2');
    guard.closed('u2');
    guard.close();
    clock.advance(5_000);
    assert.deepEqual(ended, ['u1']);
  });
});

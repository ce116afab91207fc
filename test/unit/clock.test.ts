import assert from 'node:assert/strict';
import { ManualClock, systemClock } from '../../server/clock.js';

describe('Clock timers', () => {
  it('a ManualClock fires its timers when moved past them, earliest first, once each', () => {
    const clock = new ManualClock(1_000);
    const fired: string[] = [];
    clock.setTimer(300, () => fired.push('b'));
    clock.setTimer(100, () => fired.push('a'));
    const cancel = clock.setTimer(200, () => fired.push('cancelled'));
    cancel();
    clock.advance(99);
    assert.deepEqual(fired, []);
    clock.advance(500);
    assert.deepEqual(fired, ['a', 'b']);
    clock.set(10_000);
    assert.deepEqual(fired, ['a', 'b']);
  });

  it('the system clock runs its timers on real time, and cancels them', async () => {
    const fired: string[] = [];
    systemClock.setTimer(5, () => fired.push('on time'));
    const cancel = systemClock.setTimer(5, () => fired.push('cancelled'));
    cancel();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(fired, ['on time']);
  });
});

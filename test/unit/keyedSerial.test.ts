import assert from 'node:assert/strict';
import { KeyedSerial } from '../../server/util/KeyedSerial.js';

/** A promise settled from outside, to hold a task open while others are queued. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('KeyedSerial', () => {
  it('runs the tasks of one key one at a time, in the order they were queued', async () => {
    const serial = new KeyedSerial();
    const log: string[] = [];
    let running = 0;
    const task = (name: string, ms: number) => async (): Promise<string> => {
      running++;
      assert.equal(running, 1, `${name} overlapped another task of its key`);
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`end ${name}`);
      running--;
      return name;
    };
    // The first task is the slowest: a queue that did not wait would finish them in the other order.
    const results = await Promise.all([
      serial.run('room', task('a', 30)),
      serial.run('room', task('b', 10)),
      serial.run('room', task('c', 0)),
    ]);
    assert.deepEqual(results, ['a', 'b', 'c']);
    assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('runs tasks of different keys concurrently', async () => {
    const serial = new KeyedSerial();
    const gate = deferred();
    const first = serial.run('one', () => gate.promise.then(() => 'one'));
    // Another key is not held up by the open task of the first.
    assert.equal(await serial.run('two', () => Promise.resolve('two')), 'two');
    gate.resolve();
    assert.equal(await first, 'one');
  });

  it('rejects only the failing task: the next one of the key still runs', async () => {
    const serial = new KeyedSerial();
    const ran: string[] = [];
    const failing = serial.run('room', () => {
      ran.push('failing');
      return Promise.reject(new Error('boom'));
    });
    const throwing = serial.run('room', () => {
      ran.push('throwing');
      throw new Error('sync boom');
    });
    const next = serial.run('room', () => {
      ran.push('next');
      return Promise.resolve(42);
    });
    await assert.rejects(failing, /boom/);
    await assert.rejects(throwing, /sync boom/);
    assert.equal(await next, 42);
    assert.deepEqual(ran, ['failing', 'throwing', 'next']);
  });

  it('releases a key once its last task has settled', async () => {
    const serial = new KeyedSerial();
    const gate = deferred();
    const held = serial.run('a', () => gate.promise);
    const queued = serial.run('a', () => Promise.resolve());
    const failed = serial.run('b', () => Promise.reject(new Error('no'))).catch(() => undefined);
    assert.equal(serial.activeKeys, 2);
    await failed;
    await tick();
    assert.equal(serial.activeKeys, 1);
    gate.resolve();
    await Promise.all([held, queued]);
    await tick();
    assert.equal(serial.activeKeys, 0);
    // A released key queues again from scratch.
    assert.equal(await serial.run('a', () => Promise.resolve('again')), 'again');
    await tick();
    assert.equal(serial.activeKeys, 0);
  });
});

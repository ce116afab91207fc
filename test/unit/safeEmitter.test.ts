import assert from 'node:assert/strict';
import { SafeEmitter } from '../../server/util/SafeEmitter.js';

interface Events {
  saved: [id: string];
}

describe('SafeEmitter', () => {
  it('delivers to every listener even when an earlier one throws', () => {
    const emitter = new SafeEmitter<Events>();
    const seen: string[] = [];
    emitter.on('saved', () => {
      throw new Error('boom');
    });
    emitter.on('saved', (id) => seen.push(id));
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    assert.doesNotThrow(() => emitter.safeEmit('saved', 'a'));
    assert.deepEqual(seen, ['a']);
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      process.off('warning', onWarning);
      assert.ok(warnings.some((w) => w.includes('boom')));
    });
  });

  it('keeps once-listeners one-shot', () => {
    const emitter = new SafeEmitter<Events>();
    let calls = 0;
    emitter.once('saved', () => void calls++);
    emitter.safeEmit('saved', 'a');
    emitter.safeEmit('saved', 'b');
    assert.equal(calls, 1);
  });
});

import assert from 'node:assert/strict';
import { payloadProblem } from '../../server/signaling/payloadBounds.js';

const BOUNDS = { maxDepth: 4, maxNodes: 50 };

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe('payloadProblem', () => {
  it('accepts a request within bounds', () => {
    assert.equal(
      payloadProblem({ type: 'media.ready', rtpCapabilities: { codecs: [{ k: 1 }] } }, BOUNDS),
      undefined,
    );
    assert.equal(payloadProblem('just a string', BOUNDS), undefined);
    assert.equal(payloadProblem(null, BOUNDS), undefined);
  });

  it('refuses nesting past the depth, naming where', () => {
    assert.equal(payloadProblem(nested(4), BOUNDS), undefined);
    assert.deepEqual(payloadProblem(nested(5), BOUNDS), {
      path: 'a.a.a.a',
      message: 'nested deeper than 4 levels',
    });
  });

  it('walks a very deep payload without overflowing the stack', () => {
    assert.match(payloadProblem(nested(200_000), BOUNDS)?.message ?? '', /deeper/);
  });

  it('refuses too many values, before copying a huge array', () => {
    assert.match(
      payloadProblem({ list: new Array(1_000_000).fill(0) }, BOUNDS)?.message ?? '',
      /more than 50/,
    );
    const wide = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, i]));
    assert.match(payloadProblem(wide, BOUNDS)?.message ?? '', /more than 50/);
  });

  it('refuses prototype keys anywhere', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const payload = JSON.parse(`{"type":"hello","x":[{"${key}":{"admin":true}}]}`) as unknown;
      assert.deepEqual(payloadProblem(payload, BOUNDS), { path: `x.0.${key}`, message: 'a reserved key' });
    }
  });
});

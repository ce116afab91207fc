import assert from 'node:assert/strict';
import { ManualClock } from '../../server/clock.js';
import type { Ack } from '../../shared/protocol.js';
import { startServer, type ServerFixture } from '../harness/serverFixture.js';
import { ackProblem, code, disconnected, ok } from '../harness/socketAbuse.js';
import { request, SocketPool } from '../harness/sockets.js';
import { testStack } from '../harness/testStack.js';

describe('socket request throttle', () => {
  let fx: ServerFixture;
  let sockets: SocketPool;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock(Date.now());
    fx = await startServer({
      clock,
      config: {
        signaling: {
          ...testStack().config.signaling,
          requestsPerSecond: 2,
          requestBurst: 5,
          disconnectAfterRefused: 10,
        },
      },
    });
    sockets = new SocketPool(fx.baseUrl);
  });

  afterEach(async () => {
    sockets.closeAll();
    await fx.close();
  });

  it('answers RATE_LIMITED with the wait once a connection spends its burst, and serves it again after the wait', async () => {
    const s = await sockets.connect((await fx.createUser()).token);
    for (let i = 0; i < 5; i++) ok(await request(s, { type: 'hello', client: 'burst' }));
    const limited = await request(s, { type: 'hello', client: 'burst' });
    assert.equal(limited.ok, false);
    if (limited.ok) return;
    assert.equal(limited.error.code, 'RATE_LIMITED');
    assert.equal(limited.error.retryAfterMs, 500);
    assert.equal(ackProblem(limited), undefined);
    // Even a malformed request costs a token: the check comes before any parsing.
    assert.equal(
      code((await s.timeout(5_000).emitWithAck('request', { type: 'nonsense' })) as Ack<unknown>),
      'RATE_LIMITED',
    );
    // Each connection has its own bucket.
    const other = await sockets.connect((await fx.createUser()).token);
    ok(await request(other, { type: 'hello', client: 'other' }));

    clock.advance(500);
    ok(await request(s, { type: 'hello', client: 'later' }));
    assert.ok(s.connected);
  });

  it('disconnects a connection that keeps hammering far past the limit', async () => {
    const s = await sockets.connect((await fx.createUser()).token);
    const dropped = disconnected(s);
    // 5 served, then 10 refusals tolerated: the 16th request on a frozen clock is hammering.
    const acks = [];
    for (let i = 0; i < 16; i++)
      acks.push(s.timeout(5_000).emitWithAck('request', { type: 'hello', client: 'flood' }));
    await dropped;
    const answered = await Promise.allSettled(acks);
    const codes = answered.map((a) =>
      a.status === 'fulfilled'
        ? (a.value as Ack<unknown>).ok
          ? 'ok'
          : code(a.value as Ack<unknown>)
        : 'none',
    );
    assert.deepEqual(codes.slice(0, 5), ['ok', 'ok', 'ok', 'ok', 'ok']);
    assert.ok(
      codes.slice(5, 15).every((c) => c === 'RATE_LIMITED'),
      codes.join(','),
    );
    assert.equal(s.connected, false);
  });

  it('closes a connection whose message is larger than the size limit', async () => {
    const s = await sockets.connect((await fx.createUser()).token);
    const dropped = disconnected(s);
    s.emit(
      'request',
      { type: 'hello', client: 'x'.repeat(testStack().config.signaling.maxMessageBytes + 1) },
      () => undefined,
    );
    await dropped;
    assert.equal(s.connected, false);
  });
});

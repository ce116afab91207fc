import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { chatModels, type ChatModels } from '../../server/chat/chatModels.js';
import { DEFAULT_TXN_LEASE_MS } from '../../server/chat/matrix/AppserviceTransactions.js';
import { MatrixBridge } from '../../server/chat/matrix/MatrixBridge.js';
import type { MatrixRoomEvent } from '../../server/chat/matrix/matrixEvents.js';
import { ManualClock } from '../../server/clock.js';
import { Database } from '../../server/db/Database.js';
import { DirectoryEvents } from '../../server/directory/DirectoryEvents.js';
import { userModel } from '../../server/directory/User.js';
import { connectTestDatabase, testStack } from '../harness/testStack.js';

/**
 * The appservice's transaction handling, on the real database: a bridge of its own (or two, for a process that
 * stopped and the one after it) with a test handler in place of the ChatService, Synapse played by PUTs.
 */
describe('appservice transactions: acknowledged only once handled', function () {
  this.timeout(60_000);
  let db: Database;
  let models: ChatModels;
  const open: { bridge: MatrixBridge; http: Server }[] = [];

  before(async () => {
    db = await connectTestDatabase();
    models = await chatModels(db.connection);
  });

  afterEach(async () => {
    for (const { bridge, http } of open.splice(0)) {
      bridge.close();
      // A test that failed while a handler hung leaves its request open.
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });

  after(async () => {
    await db.close();
  });

  /** A bridge (one process's) whose handler is `handler`, and a PUT of a transaction to it. */
  async function bridgeWith(
    clock: ManualClock,
    handler: (events: MatrixRoomEvent[]) => Promise<void>,
  ): Promise<(txnId: string, events: MatrixRoomEvent[]) => Promise<number>> {
    const stack = testStack();
    const bridge = await MatrixBridge.create({
      endpoint: stack.matrix,
      users: userModel(db.connection),
      events: new DirectoryEvents(),
      models,
      clock,
      logger: stack.logger,
    });
    await bridge.reconciled;
    bridge.onEvents(handler);
    const http = express()
      .use(bridge.router({ limitBytes: 1024 * 1024, maxDepth: 100 }))
      .listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => http.once('listening', () => resolve()));
    open.push({ bridge, http });
    const { port } = http.address() as AddressInfo;
    return async (txnId, events) => {
      const res = await fetch(`http://127.0.0.1:${port}/_matrix/app/v1/transactions/${txnId}`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${stack.matrix.hsToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ events }),
      });
      await res.arrayBuffer();
      return res.status;
    };
  }

  function message(body: string): MatrixRoomEvent {
    return {
      type: 'm.room.message',
      room_id: '!room:ucc.localhost',
      sender: '@someone:ucc.localhost',
      event_id: `$${randomUUID()}`,
      origin_server_ts: Date.now(),
      content: { msgtype: 'm.text', body },
    };
  }

  it('retries a transaction whose handler threw mid-way, handling each event once, and ignores a done one', async () => {
    const handled: string[] = [];
    let failOn: string | undefined;
    const put = await bridgeWith(new ManualClock(), ([event]) => {
      if (event?.content.body === failOn) return Promise.reject(new Error('handler failed'));
      if (event) handled.push(String(event.content.body));
      return Promise.resolve();
    });
    const events = [message('uno'), message('due'), message('tre')];
    const txnId = `t-${randomUUID()}`;

    failOn = 'due';
    assert.equal(await put(txnId, events), 500);
    assert.deepEqual(handled, ['uno']);

    // Synapse's retry: the first event is not handled again, the rest are.
    failOn = undefined;
    assert.equal(await put(txnId, events), 200);
    assert.deepEqual(handled, ['uno', 'due', 'tre']);

    // A replay of the done transaction, and the same events under another txnId, change nothing.
    assert.equal(await put(txnId, events), 200);
    assert.equal(await put(`t-${randomUUID()}`, events), 200);
    assert.deepEqual(handled, ['uno', 'due', 'tre']);
  });

  it('takes over a transaction left pending by a process that stopped, once its lease ran out', async () => {
    const clock = new ManualClock();
    let releaseStuck: () => void = () => undefined;
    const stuck = new Promise<void>((resolve) => {
      releaseStuck = resolve;
    });
    const firstHandled: string[] = [];
    let entered: () => void = () => undefined;
    const inHandler = new Promise<void>((resolve) => {
      entered = resolve;
    });
    // The first process hangs in its handler (as if it died there): its claim stays pending.
    const putFirst = await bridgeWith(clock, async ([event]) => {
      entered();
      await stuck;
      if (event) firstHandled.push(String(event.content.body));
    });
    const events = [message('dopo il crash')];
    const txnId = `t-${randomUUID()}`;
    const firstAnswer = putFirst(txnId, events);
    await inHandler;
    // The same transaction again at the same process waits for the handling under way, and is not handled twice.
    const again = putFirst(txnId, events);

    const secondHandled: string[] = [];
    const putSecond = await bridgeWith(clock, ([event]) => {
      if (event) secondHandled.push(String(event.content.body));
      return Promise.resolve();
    });
    // Within the lease another process does not take it: Synapse is told to come back.
    assert.equal(await putSecond(txnId, events), 503);
    assert.deepEqual(secondHandled, []);
    clock.advance(DEFAULT_TXN_LEASE_MS + 1);
    assert.equal(await putSecond(txnId, events), 200);
    assert.deepEqual(secondHandled, ['dopo il crash']);
    assert.equal(await putSecond(txnId, events), 200);
    assert.deepEqual(secondHandled, ['dopo il crash']);

    // The first process coming back to life finds the event handled (its own handler still ran once).
    releaseStuck();
    assert.equal(await firstAnswer, 200);
    assert.equal(await again, 200);
    assert.deepEqual(firstHandled, ['dopo il crash']);
    const doc = await models.txns.findOne({ _id: { $regex: `^${txnId}:` } }).lean();
    assert.equal(doc?.state, 'done');
  });
});

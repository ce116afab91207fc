import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CHAT_EVENT_TIMEOUT_MS, mxidOf, collect, nextMessage, chatServer } from '../harness/chatServer.js';
import { eventually } from '../harness/eventually.js';
import { startServer } from '../harness/serverFixture.js';
import { SocketPool, roundTrip } from '../harness/sockets.js';
import { testStack } from '../harness/testStack.js';

describe('chat: the appservice transactions Synapse pushes, verified and handled once (real Synapse)', function () {
  this.timeout(60_000);
  const chat = chatServer();
  const { user, openDm } = chat;

  it('verifies the hs_token and handles each transaction once, even when replayed', async () => {
    const { matrix } = testStack();
    const url = (txn: string): string => `${chat.fx.baseUrl}/_matrix/app/v1/transactions/${txn}`;
    const put = (txn: string, token: string, body: unknown): Promise<Response> =>
      fetch(url(txn), {
        method: 'PUT',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });

    const bad = await put('x1', 'not-the-token', { events: [] });
    assert.equal(bad.status, 403);
    assert.equal(((await bad.json()) as { errcode: string }).errcode, 'M_FORBIDDEN');
    const none = await fetch(url('x2'), { method: 'PUT', body: '{}' });
    assert.equal(none.status, 401);

    const luca = await user('Luca', 'Colombo');
    const sara = await user('Sara', 'Fontana');
    const { room } = await openDm(luca, sara);
    const saraSocket = await chat.sockets.connect(sara.token);
    const seen = collect(saraSocket);
    const event = {
      type: 'm.room.message',
      room_id: room.roomId,
      sender: mxidOf(luca),
      event_id: `$synthetic-${randomUUID()}`,
      origin_server_ts: Date.now(),
      content: { msgtype: 'm.text', body: 'una volta sola' },
    };
    const txnId = `test-${randomUUID()}`;
    const first = await put(txnId, matrix.hsToken, { events: [event] });
    assert.equal(first.status, 200);
    assert.deepEqual(await first.json(), {});
    const handled = chat.fx.bridge.transactions.handledCount;
    const replay = await put(txnId, matrix.hsToken, { events: [event] });
    assert.equal(replay.status, 200);
    // Acknowledged without being handled again; whatever it did was done before its answer, so a round trip
    // on Sara's socket brings anything it told her.
    assert.equal(chat.fx.bridge.transactions.handledCount, handled);
    await roundTrip(saraSocket);
    assert.equal(seen.filter((m) => m.body === 'una volta sola').length, 1);

    // Ephemeral data alone, under the stable key or the unstable MSC2409 one: a malformed entry is skipped, the
    // rest handled; a replay is ignored, while a txnId reused with other data (Synapse restarted) is handled.
    const typers: [string, boolean][] = [];
    saraSocket.on('chat.typing', (v) => typers.push([v.user.mxid, v.typing]));
    const anna = `@anna_${randomUUID().slice(0, 8)}:${matrix.serverName}`;
    const bea = `@bea_${randomUUID().slice(0, 8)}:${matrix.serverName}`;
    const typingOf = (ids: string[]) => ({
      type: 'm.typing',
      room_id: room.roomId,
      content: { user_ids: ids },
    });
    const [typingTxn, stopTxn] = [`eph-${randomUUID()}`, `eph-${randomUUID()}`];
    const started = {
      events: [],
      ephemeral: [{ type: 'm.receipt', room_id: room.roomId, content: { bad: 1 } }, typingOf([anna])],
    };
    assert.equal((await put(typingTxn, matrix.hsToken, started)).status, 200);
    assert.equal((await put(stopTxn, matrix.hsToken, { ephemeral: [typingOf([])] })).status, 200);
    assert.equal((await put(typingTxn, matrix.hsToken, started)).status, 200);
    const reused = { events: [], 'de.sorunome.msc2409.ephemeral': [typingOf([bea])] };
    assert.equal((await put(typingTxn, matrix.hsToken, reused)).status, 200);
    await eventually('three typing changes', CHAT_EVENT_TIMEOUT_MS, () =>
      Promise.resolve(typers.length >= 3 ? true : undefined),
    );
    assert.deepEqual(typers, [
      [anna, true],
      [anna, false],
      [bea, true],
    ]);

    // The user query and the ping.
    const known = await fetch(`${chat.fx.baseUrl}/_matrix/app/v1/users/${encodeURIComponent(mxidOf(luca))}`, {
      headers: { Authorization: `Bearer ${matrix.hsToken}` },
    });
    assert.equal(known.status, 200);
    const unknown = await fetch(
      `${chat.fx.baseUrl}/_matrix/app/v1/users/${encodeURIComponent(`@ucc_99999:${matrix.serverName}`)}`,
      { headers: { Authorization: `Bearer ${matrix.hsToken}` } },
    );
    assert.equal(unknown.status, 404);
    const ping = await fetch(`${chat.fx.baseUrl}/_matrix/app/v1/ping`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${matrix.hsToken}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    assert.equal(ping.status, 200);
  });

  it('still ignores a replayed transaction after a restart (a new server on the same database)', async () => {
    const { matrix } = testStack();
    const lea = await user('Lea', 'Pace');
    const max = await user('Max', 'Ferro');
    const { room } = await openDm(lea, max);
    const txnId = `restart-${randomUUID()}`;
    const transaction = (body: string): string =>
      JSON.stringify({
        events: [
          {
            type: 'm.room.message',
            room_id: room.roomId,
            sender: mxidOf(lea),
            event_id: `$synthetic-${randomUUID()}`,
            origin_server_ts: Date.now(),
            content: { msgtype: 'm.text', body },
          },
        ],
      });
    const put = (baseUrl: string, txn: string, body: string): Promise<Response> =>
      fetch(`${baseUrl}/_matrix/app/v1/transactions/${txn}`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${matrix.hsToken}`, 'Content-Type': 'application/json' },
        body,
      });
    const original = transaction('prima del riavvio');
    assert.equal((await put(chat.fx.baseUrl, txnId, original)).status, 200);

    const restarted = await startServer({ reuseDb: chat.fx.db });
    try {
      const restartedSockets = new SocketPool(restarted.baseUrl);
      try {
        const maxSocket = await restartedSockets.connect(max.token);
        const seen = collect(maxSocket);
        const replay = await put(restarted.baseUrl, txnId, original);
        assert.equal(replay.status, 200);
        // The same txnId with new events (what Synapse on SQLite sends after its own restart) is a new
        // transaction, and is delivered: the socket would have seen the replay too.
        const fresh = nextMessage(maxSocket, 'dopo il riavvio');
        assert.equal((await put(restarted.baseUrl, txnId, transaction('dopo il riavvio'))).status, 200);
        await fresh;
        assert.deepEqual(
          seen.map((m) => m.body),
          ['dopo il riavvio'],
        );
      } finally {
        restartedSockets.closeAll();
      }
    } finally {
      await restarted.close();
    }
  });

  it('handles a transaction once when two server nodes receive it at the same time', async () => {
    const { matrix } = testStack();
    const ada = await user('Ada', 'Neri');
    const ivo = await user('Ivo', 'Sala');
    const { room } = await openDm(ada, ivo);
    const body = JSON.stringify({
      events: [
        {
          type: 'm.room.message',
          room_id: room.roomId,
          sender: mxidOf(ada),
          event_id: `$synthetic-${randomUUID()}`,
          origin_server_ts: Date.now(),
          content: { msgtype: 'm.text', body: 'a due nodi' },
        },
      ],
    });
    const txnId = `nodes-${randomUUID()}`;
    // As Synapse does: resent until acknowledged. A node that finds the other one handling it answers 503.
    const deliver = async (baseUrl: string): Promise<number[]> => {
      const statuses: number[] = [];
      for (;;) {
        const res = await fetch(`${baseUrl}/_matrix/app/v1/transactions/${txnId}`, {
          method: 'PUT',
          headers: { Authorization: `Bearer ${matrix.hsToken}`, 'Content-Type': 'application/json' },
          body,
        });
        statuses.push(res.status);
        if (res.status !== 503) return statuses;
        await res.arrayBuffer();
      }
    };
    const other = await startServer({ reuseDb: chat.fx.db });
    try {
      const before = chat.fx.bridge.transactions.handledCount + other.bridge.transactions.handledCount;
      const [a, b] = await Promise.all([deliver(chat.fx.baseUrl), deliver(other.baseUrl)]);
      assert.equal(a.at(-1), 200, JSON.stringify(a));
      assert.equal(b.at(-1), 200, JSON.stringify(b));
      const after = chat.fx.bridge.transactions.handledCount + other.bridge.transactions.handledCount;
      assert.equal(after - before, 1);
    } finally {
      await other.close();
    }
  });
});

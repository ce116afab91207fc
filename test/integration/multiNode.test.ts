import assert from 'node:assert/strict';
import pino from 'pino';
import { RedisClients } from '../../server/redis/RedisClients.js';
import type { ChatRoomView } from '../../shared/schemas/chat.js';
import { collect, mxidOf, nextMessage, nextTransaction } from '../harness/chatServer.js';
import { eventually } from '../harness/eventually.js';
import { startBalancer, type Balancer } from '../harness/haproxy.js';
import { connectedOn, startNodes, type NodeSite } from '../harness/nodes.js';
import { startServer, type ServerFixture } from '../harness/serverFixture.js';
import {
  nextEvent,
  nextEventWhere,
  request,
  roundTrip,
  SocketPool,
  type ClientSocket,
} from '../harness/sockets.js';

describe('two server nodes behind HAProxy, on one database and one Redis', function () {
  this.timeout(90_000);
  let site: NodeSite;
  let nodes: ServerFixture[];
  let balancer: Balancer;
  let sockets: SocketPool;

  before(async () => {
    site = await startNodes({ count: 2, bridge: true });
    nodes = site.nodes;
    balancer = site.balancer;
    sockets = new SocketPool(balancer.baseUrl);
  });

  afterEach(async () => {
    sockets.closeAll();
    // A closed client's socket leaves its node a moment later: each test starts from none, so counts are its own.
    await eventually('no socket left on the nodes', 5_000, async () =>
      (await Promise.all(nodes.map(connectedOn))).every((n) => n === 0) ? true : undefined,
    );
  });

  after(() => site.close());

  it('logs in through the balancer, and spreads the WebSockets over both nodes', async () => {
    const [a, b] = nodes as [ServerFixture, ServerFixture];
    const user = await a.createUser({ password: 'password-123' });
    const login = await fetch(`${balancer.baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ extension: user.extension, password: 'password-123' }),
    });
    assert.equal(login.status, 200);
    const { accessToken } = (await login.json()) as { accessToken: string };
    await sockets.connect(accessToken);
    await sockets.connect(accessToken);
    // leastconn: the second WebSocket goes to the node without one.
    assert.deepEqual([await connectedOn(a), await connectedOn(b)], [1, 1]);
  });

  it("a chat message reaches the recipient's socket on the other node, through Synapse's balanced pushes", async () => {
    const [a, b] = nodes as [ServerFixture, ServerFixture];
    const luca = await a.createUser({ firstName: 'Luca', lastName: 'Riva' });
    const sara = await a.createUser({ firstName: 'Sara', lastName: 'Conti' });
    const saraSocket = await sockets.connect(sara.token);
    // Sent through the node that does not hold Sara's socket.
    const sender = (await connectedOn(a)) === 1 ? b : a;
    const dm = await sender.api('POST', '/api/chat/dms', { token: luca.token, body: { userId: sara.id } });
    assert.ok(dm.status === 201 || dm.status === 200, JSON.stringify(dm.body));
    const room = dm.body as ChatRoomView;
    const seen = collect(saraSocket);
    const arrived = nextMessage(saraSocket, 'da un nodo all’altro');
    const sent = await sender.api('POST', `/api/chat/rooms/${encodeURIComponent(room.roomId)}/messages`, {
      token: luca.token,
      body: { body: 'da un nodo all’altro' },
    });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const message = await arrived;
    assert.equal(message.sender.mxid, mxidOf(luca));
    // Once, not once per node: each transaction is handled by one of them.
    await roundTrip(saraSocket);
    assert.equal(seen.filter((m) => m.body === 'da un nodo all’altro').length, 1);
  });

  it("a meeting's connections all reach one node, where the organizer's arrival admits everyone waiting", async () => {
    const [a, b] = nodes as [ServerFixture, ServerFixture];
    const organizer = await a.createUser({ plan: 'pro' });
    const created = await a.api('POST', '/api/meetings', {
      token: organizer.token,
      body: { title: 'Su un nodo', startAt: new Date().toISOString(), durationMinutes: 30 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const meeting = created.body as { id: string; guestUrl: string };
    const code = meeting.guestUrl.split('/m/')[1] ?? '';
    // The organizer's own app socket (no meeting in its URL) goes wherever the balancer likes.
    await sockets.connect(organizer.token);
    const guests: ClientSocket[] = [];
    for (let i = 0; i < 5; i++) {
      const minted = await fetch(`${balancer.baseUrl}/api/guest/${code}/join`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ displayName: `Ospite ${i + 1}` }),
      });
      assert.equal(minted.status, 201);
      const { guestToken } = (await minted.json()) as { guestToken: string };
      // Upper case on some: the same meeting, so the same node.
      const socket = await sockets.connect(guestToken, {
        meeting: i % 2 === 0 ? meeting.id : meeting.id.toUpperCase(),
      });
      const ack = await request(socket, { type: 'meeting.join', meetingId: meeting.id, guestCode: code });
      assert.deepEqual(ack, { ok: true, data: { state: 'waiting', waitingFor: 'organizer' } });
      guests.push(socket);
    }
    const admitted = guests.map((g) => nextEvent(g, 'meeting.admitted'));
    const org = await sockets.connect(organizer.token, { meeting: meeting.id });
    const joined = await request(org, { type: 'meeting.join', meetingId: meeting.id });
    assert.ok(joined.ok, JSON.stringify(joined));
    for (const event of await Promise.all(admitted)) assert.equal(event.meetingId, meeting.id);
    // Six meeting connections on one node, the app socket on either: 7 + 0 or 6 + 1.
    const counts = [await connectedOn(a), await connectedOn(b)].sort((x, y) => x - y);
    assert.ok(counts[1] === 7 || (counts[0] === 1 && counts[1] === 6), JSON.stringify(counts));
  });

  it("logging out through one node ends that session's sockets on every node", async () => {
    const [a, b] = nodes as [ServerFixture, ServerFixture];
    const user = await a.createUser({ password: 'password-123' });
    const login = await fetch(`${a.baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ extension: user.extension, password: 'password-123' }),
    });
    assert.equal(login.status, 200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const { accessToken } = (await login.json()) as { accessToken: string };
    const mine = [await sockets.connect(accessToken), await sockets.connect(accessToken)];
    assert.deepEqual([await connectedOn(a), await connectedOn(b)], [1, 1]);
    const ended = mine.map((s) => nextEvent(s, 'session.ended'));
    const out = await fetch(`${b.baseUrl}/api/auth/logout`, { method: 'POST', headers: { cookie } });
    assert.equal(out.status, 204);
    assert.deepEqual(await Promise.all(ended), [{ reason: 'logout' }, { reason: 'logout' }]);
  });

  it("cancelling through one node puts the meeting's people out on the node that holds it", async () => {
    const [a, b] = nodes as [ServerFixture, ServerFixture];
    const organizer = await a.createUser({ plan: 'pro' });
    const created = await a.api('POST', '/api/meetings', {
      token: organizer.token,
      body: { title: 'Da annullare', startAt: new Date().toISOString(), durationMinutes: 30 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const meeting = created.body as { id: string; guestUrl: string };
    const code = meeting.guestUrl.split('/m/')[1] ?? '';
    const org = await sockets.connect(organizer.token, { meeting: meeting.id });
    assert.ok((await request(org, { type: 'meeting.join', meetingId: meeting.id })).ok);
    const minted = await a.api('POST', `/api/guest/${code}/join`, { body: { displayName: 'Ospite' } });
    const guest = await sockets.connect((minted.body as { guestToken: string }).guestToken, {
      meeting: meeting.id,
    });
    const joined = await request(guest, { type: 'meeting.join', meetingId: meeting.id, guestCode: code });
    assert.equal(joined.ok && joined.data.state, 'joined', JSON.stringify(joined));
    // Cancelled through the node that holds none of it.
    const other = (await connectedOn(a)) === 2 ? b : a;
    assert.equal(await connectedOn(other), 0);
    const removed = [org, guest].map((s) => nextEvent(s, 'meeting.removed'));
    const res = await other.api('DELETE', `/api/meetings/${meeting.id}`, { token: organizer.token });
    assert.equal(res.status, 204, JSON.stringify(res.body));
    assert.deepEqual(await Promise.all(removed), [{ reason: 'cancelled' }, { reason: 'cancelled' }]);
  });

  it('typing through either node is told once, whichever node Synapse pushes its echo to', async () => {
    const [a, b] = nodes as [ServerFixture, ServerFixture];
    const teo = await a.createUser({ firstName: 'Teo', lastName: 'Sala' });
    const ines = await a.createUser({ firstName: 'Ines', lastName: 'Riva' });
    const dm = await a.api('POST', '/api/chat/dms', { token: teo.token, body: { userId: ines.id } });
    assert.ok(dm.status === 201 || dm.status === 200, JSON.stringify(dm.body));
    const room = dm.body as ChatRoomView;
    const inesSocket = await sockets.connect(ines.token);
    // Teo types through one node, then through the other: at least once, the echo goes to the node he did not use.
    for (const via of [b, a]) {
      const teoSockets = new SocketPool(via.baseUrl);
      try {
        const teoSocket = await teoSockets.connect(teo.token);
        const told: boolean[] = [];
        const listener = (v: { typing: boolean }): void => void told.push(v.typing);
        inesSocket.on('chat.typing', listener);
        const stopEchoed = Promise.race(
          nodes.map((n) =>
            nextTransaction(n, "the echo of Teo's stop", (txn) =>
              txn.ephemeral.some(
                (e) => e.type === 'm.typing' && e.roomId === room.roomId && !e.userIds.includes(mxidOf(teo)),
              ),
            ),
          ),
        );
        const started = nextEvent(inesSocket, 'chat.typing');
        assert.ok((await request(teoSocket, { type: 'chat.typing', roomId: room.roomId, typing: true })).ok);
        assert.equal((await started).typing, true);
        const stopped = nextEvent(inesSocket, 'chat.typing');
        assert.ok((await request(teoSocket, { type: 'chat.typing', roomId: room.roomId, typing: false })).ok);
        assert.equal((await stopped).typing, false);
        await stopEchoed;
        await roundTrip(inesSocket);
        inesSocket.off('chat.typing', listener);
        assert.deepEqual(told, [true, false]);
      } finally {
        teoSockets.closeAll();
      }
    }
  });

  it('being in a meeting on one node shows on the other, to REST and to sockets, told once', async () => {
    const [a, b] = nodes as [ServerFixture, ServerFixture];
    const alice = await a.createUser({ plan: 'pro' });
    const carla = await a.createUser();
    const created = await a.api('POST', '/api/meetings', {
      token: alice.token,
      body: { title: 'Presenze', startAt: new Date().toISOString(), durationMinutes: 30 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const meeting = created.body as { id: string };
    const meetingSocket = await sockets.connect(alice.token, { meeting: meeting.id });
    const host = (await connectedOn(a)) === 1 ? a : b;
    const other = host === a ? b : a;
    // Carla watches from the node that does not hold the meeting.
    const watcher = await new SocketPool(other.baseUrl).connect(carla.token);
    try {
      const told: string[] = [];
      watcher.on('presence.changed', (v) => {
        if (v.userId === alice.id) told.push(v.state);
      });
      const inMeeting = nextEventWhere(watcher, 'presence.changed', (v) => v.userId === alice.id, 'alice in');
      assert.ok((await request(meetingSocket, { type: 'meeting.join', meetingId: meeting.id })).ok);
      assert.equal((await inMeeting).state, 'inMeeting');
      const read = await other.api('GET', `/api/presence?ids=${alice.id}`, { token: carla.token });
      assert.deepEqual(
        (read.body as { presence: { state: string }[] }).presence.map((v) => v.state),
        ['inMeeting'],
      );
      const out = nextEventWhere(watcher, 'presence.changed', (v) => v.userId === alice.id, 'alice out');
      assert.ok((await request(meetingSocket, { type: 'meeting.leave' })).ok);
      assert.equal((await out).state, 'offline');
      await roundTrip(watcher);
      // Once per change, not once per node.
      assert.deepEqual(told, ['inMeeting', 'offline']);
    } finally {
      watcher.disconnect();
    }
  });

  it('a node that starts learns who is in a meeting on the others', async () => {
    const [a] = nodes as [ServerFixture, ServerFixture];
    const alice = await a.createUser({ plan: 'pro' });
    const carla = await a.createUser();
    const created = await a.api('POST', '/api/meetings', {
      token: alice.token,
      body: { title: 'Dopo', startAt: new Date().toISOString(), durationMinutes: 30 },
    });
    const meeting = created.body as { id: string };
    const direct = new SocketPool(a.baseUrl);
    const clients = await RedisClients.create({ url: site.redisUrl, logger: pino({ level: 'silent' }) });
    try {
      const s = await direct.connect(alice.token);
      assert.ok((await request(s, { type: 'meeting.join', meetingId: meeting.id })).ok);
      // A third node, started after Alice is in: nobody tells it of her seat but its own question at start.
      const third = await startServer({ reuseDb: a.db, redis: clients });
      try {
        const state = await eventually('the new node knows', 10_000, async () => {
          const read = await third.api('GET', `/api/presence?ids=${alice.id}`, { token: carla.token });
          const v = (read.body as { presence: { state: string }[] }).presence[0]?.state;
          return v === 'inMeeting' ? v : undefined;
        });
        assert.equal(state, 'inMeeting');
      } finally {
        await third.close();
      }
    } finally {
      direct.closeAll();
      await clients.close();
    }
  });

  it('a node that stops: connections the balancer still tries there go to the other node', async () => {
    const third = await startServer({ reuseDb: nodes[0]?.db, redis: site.redisClients[0] });
    const pair = await startBalancer({ nodePorts: [nodes[0]?.server.port ?? 0, third.server.port] });
    try {
      await third.close();
      const user = await (nodes[0] as ServerFixture).createUser();
      // Before the health check has seen it go (two failed checks), a connection tried there is refused and
      // the balancer tries the other node instead: no client sees the stopped one.
      const pool = new SocketPool(pair.baseUrl);
      try {
        for (let i = 0; i < 4; i++) await pool.connect(user.token);
        assert.equal(await connectedOn(nodes[0] as ServerFixture), 4);
      } finally {
        pool.closeAll();
      }
    } finally {
      await pair.close();
    }
  });
});

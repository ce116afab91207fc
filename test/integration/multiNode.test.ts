import assert from 'node:assert/strict';
import pino from 'pino';
import { RedisClients } from '../../server/redis/RedisClients.js';
import type { ChatRoomView } from '../../shared/schemas/chat.js';
import { collect, mxidOf, nextMessage } from '../harness/chatServer.js';
import { eventually } from '../harness/eventually.js';
import { startBalancer, type Balancer } from '../harness/haproxy.js';
import { startTestRedis, type TestRedis } from '../harness/redis.js';
import { startServer, type ServerFixture } from '../harness/serverFixture.js';
import { roundTrip, SocketPool } from '../harness/sockets.js';
import { testStack } from '../harness/testStack.js';

/** This node's open socket.io connections, as its /metrics reports them. */
async function connectedOn(node: ServerFixture): Promise<number> {
  const res = await fetch(`${node.baseUrl}/metrics`);
  const text = await res.text();
  const line = text.split('\n').find((l) => l.startsWith('ucc_socketio_connected_sockets '));
  if (!line) throw new Error('no ucc_socketio_connected_sockets in /metrics');
  return Number(line.split(' ')[1]);
}

describe('two server nodes behind HAProxy, on one database and one Redis', function () {
  this.timeout(90_000);
  const logger = pino({ level: 'silent' });
  let redis: TestRedis;
  const nodeClients: RedisClients[] = [];
  const nodes: ServerFixture[] = [];
  let balancer: Balancer;
  let bridgeBalancer: Balancer;
  let sockets: SocketPool;

  before(async () => {
    redis = await startTestRedis();
    for (let i = 0; i < 2; i++) {
      // Each node has its own connections to Redis, as a separate process would.
      const clients = await RedisClients.create({ url: redis.url, logger });
      nodeClients.push(clients);
      nodes.push(await startServer({ redis: clients, ...(nodes[0] ? { reuseDb: nodes[0].db } : {}) }));
    }
    const nodePorts = nodes.map((n) => n.server.port);
    balancer = await startBalancer({ nodePorts });
    // Synapse pushes its transactions to the one URL it was started with: there a balancer spreads them too.
    const { config } = testStack();
    const bridgeUrl = config.matrix.mode === 'embedded' ? config.matrix.bridgeUrl : '';
    bridgeBalancer = await startBalancer({ nodePorts, port: Number(new URL(bridgeUrl).port) });
    sockets = new SocketPool(balancer.baseUrl);
  });

  afterEach(async () => {
    sockets.closeAll();
    // A closed client's socket leaves its node a moment later: each test starts from none, so counts are its own.
    await eventually('no socket left on the nodes', 5_000, async () =>
      (await Promise.all(nodes.map(connectedOn))).every((n) => n === 0) ? true : undefined,
    );
  });

  after(async () => {
    await bridgeBalancer.close();
    await balancer.close();
    // The second node shares the first one's database: it goes first.
    for (const node of nodes.reverse()) await node.close();
    for (const clients of nodeClients) await clients.close();
    await redis.close();
  });

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

  it('a node that stops: connections the balancer still tries there go to the other node', async () => {
    const third = await startServer({ reuseDb: nodes[0]?.db, redis: nodeClients[0] });
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

import pino from 'pino';
import { RedisClients } from '../../server/redis/RedisClients.js';
import { startBalancer, type Balancer } from './haproxy.js';
import { startTestRedis, type TestRedis } from './redis.js';
import { startServer, type ServerFixture } from './serverFixture.js';
import { testStack } from './testStack.js';

/** Several server nodes on one database and one Redis, behind HAProxy, as a site with more than one node runs. */
export interface NodeSite {
  nodes: ServerFixture[];
  /** What clients use. */
  balancer: Balancer;
  /** Each node's own connections to Redis (a third node may borrow one). */
  redisClients: RedisClients[];
  /** The suite's redis-server, for connections of a node a test adds. */
  redisUrl: string;
  close: () => Promise<void>;
}

/**
 * `count` nodes (each a whole UccServer with its own Redis connections), one redis-server of the suite's own, and
 * HAProxy in front (test/harness/haproxy.ts). `bridge`: a second HAProxy on the appservice URL Synapse was started
 * with, so Synapse's transactions are spread over the nodes as well (the suites of the chat listen there
 * themselves, so only one suite at a time may ask for it).
 */
export async function startNodes(options: { count: number; bridge?: boolean }): Promise<NodeSite> {
  const logger = pino({ level: 'silent' });
  const redis: TestRedis = await startTestRedis();
  const redisClients: RedisClients[] = [];
  const nodes: ServerFixture[] = [];
  const balancers: Balancer[] = [];
  const close = async (): Promise<void> => {
    for (const b of balancers) await b.close();
    // The later nodes share the first one's database, which it closes: they go first.
    for (const node of [...nodes].reverse()) await node.close();
    for (const clients of redisClients) await clients.close();
    await redis.close();
  };
  try {
    for (let i = 0; i < options.count; i++) {
      const clients = await RedisClients.create({ url: redis.url, logger });
      redisClients.push(clients);
      nodes.push(await startServer({ redis: clients, ...(nodes[0] ? { reuseDb: nodes[0].db } : {}) }));
    }
    const nodePorts = nodes.map((n) => n.server.port);
    balancers.push(await startBalancer({ nodePorts }));
    if (options.bridge) {
      const { config } = testStack();
      const bridgeUrl = config.matrix.mode === 'embedded' ? config.matrix.bridgeUrl : '';
      balancers.push(await startBalancer({ nodePorts, port: Number(new URL(bridgeUrl).port) }));
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { nodes, balancer: balancers[0] as Balancer, redisClients, redisUrl: redis.url, close };
}

/** A node's open socket.io connections, as its /metrics reports them. */
export async function connectedOn(node: { baseUrl: string }): Promise<number> {
  const res = await fetch(`${node.baseUrl}/metrics`);
  const text = await res.text();
  const line = text.split('\n').find((l) => l.startsWith('ucc_socketio_connected_sockets '));
  if (!line) throw new Error('no ucc_socketio_connected_sockets in /metrics');
  return Number(line.split(' ')[1]);
}

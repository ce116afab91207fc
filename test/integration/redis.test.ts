import assert from 'node:assert/strict';
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { RateLimitedError } from '../../server/errors.js';
import { RedisClients } from '../../server/redis/RedisClients.js';
import { RedisLock } from '../../server/redis/RedisLock.js';
import { redisPing, type RedisService } from '../../server/stack/RedisService.js';
import { consumeOrLimit, RateLimits } from '../../server/util/RateLimits.js';
import { eventually } from '../harness/eventually.js';
import { startTestRedis, type TestRedis } from '../harness/redis.js';
import { startServer, type ServerFixture } from '../harness/serverFixture.js';
import { nextEvent, request, SocketPool } from '../harness/sockets.js';
import { testStack } from '../harness/testStack.js';

const PASSWORD = 'test-redis-password-0123456789';

describe('Redis: the embedded redis-server, and socket.io across server nodes', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  let service: RedisService;
  let clients: RedisClients;
  const logger = pino({ level: 'silent' });

  before(async () => {
    redis = await startTestRedis(PASSWORD);
    service = redis.service;
    clients = await RedisClients.create({ url: service.url, logger });
  });

  after(async () => {
    await clients.close();
    await redis.close();
  });

  it('answers only with its password, and keeps its files private', async () => {
    assert.equal(await redisPing(service.port, PASSWORD), true);
    assert.equal(await redisPing(service.port, 'not-the-password'), false);
    await clients.ping();
    const conf = await stat(path.join(redis.dataDir, 'redis', 'redis.conf'));
    assert.equal(conf.mode & 0o777, 0o600);
    assert.equal((await stat(path.join(redis.dataDir, 'redis'))).mode & 0o777, 0o700);
  });

  it('keeps what was written when killed (append-only file), and is restarted', async () => {
    await clients.pub.set('ucc:test:kept', 'still here');
    const restarted = once(service, 'restarted');
    const pid = service.pid;
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    await restarted;
    assert.notEqual(service.pid, pid);
    await service.check();
    // The clients reconnect by themselves.
    const kept = await eventually('the key back after the restart', 10_000, async () => {
      const value = await clients.pub.get('ucc:test:kept');
      return value ?? undefined;
    });
    assert.equal(kept, 'still here');
  });

  it("a publish socket.io's adapter makes while Redis is unreachable is dropped, not an unhandled rejection", async () => {
    const cut = await RedisClients.create({ url: service.url, logger });
    try {
      cut.pub.disconnect();
      await assert.rejects(cut.pub.publish('ucc:test', 'x'));
      assert.equal(await cut.forAdapter().publish('ucc:test', 'x'), 0);
    } finally {
      await cut.close();
    }
  });

  it('while Redis is unreachable a limit still holds, counted in memory, and nothing fails', async () => {
    const cut = await RedisClients.create({ url: service.url, logger });
    try {
      cut.pub.disconnect();
      const limits = RateLimits.onRedis(cut.pub, logger);
      const counter = limits.counter({ name: 'outage-counter', points: 2, windowMs: 60_000 });
      await consumeOrLimit(counter, 'k');
      await consumeOrLimit(counter, 'k');
      await assert.rejects(consumeOrLimit(counter, 'k'), (err: unknown) => err instanceof RateLimitedError);
      const store = limits.store('outage-store');
      assert.ok(store);
      await store.init?.({ windowMs: 60_000 } as Parameters<NonNullable<typeof store.init>>[0]);
      assert.equal((await store.increment('k')).totalHits, 1);
      assert.equal((await store.increment('k')).totalHits, 2);
    } finally {
      await cut.close();
    }
  });

  it('a lock per key is held by one node at a time; while Redis is unreachable the work runs unlocked', async () => {
    const other = await RedisClients.create({ url: service.url, logger });
    try {
      const locks: [RedisLock, RedisLock] = [
        new RedisLock({ redis: clients.pub, logger }),
        new RedisLock({ redis: other.pub, logger }),
      ];
      // A read-then-write with a wait in between: two at once would lose one of the increments.
      let value = 0;
      const bump = async (): Promise<void> => {
        const read = value;
        await clients.pub.ping();
        value = read + 1;
      };
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => locks[i % 2 === 0 ? 0 : 1].run('test:counter', bump)),
      );
      assert.equal(value, 40);
      assert.equal(await clients.pub.exists('ucc:lock:test:counter'), 0);

      other.pub.disconnect();
      assert.equal(await locks[1].run('test:counter', () => Promise.resolve('ran')), 'ran');
    } finally {
      await other.close();
    }
  });

  describe('two server nodes on one database and one Redis', () => {
    let a: ServerFixture;
    let b: ServerFixture;
    let bClients: RedisClients;
    let sockets: SocketPool;

    before(async () => {
      // A low limit, so the test can spend it across the two nodes.
      const config = { rateLimits: { ...testStack().config.rateLimits, guestJoinPerIpAndLink: 3 } };
      a = await startServer({ redis: clients, config });
      // A node has its own connections, as a second process would.
      bClients = await RedisClients.create({ url: service.url, logger });
      b = await startServer({ reuseDb: a.db, redis: bClients, config });
      sockets = new SocketPool(b.baseUrl);
    });

    after(async () => {
      sockets.closeAll();
      await b.close();
      await a.close();
      await bClients.close();
    });

    it("an invitation made on one node reaches the invitee's socket on the other", async () => {
      const organizer = await a.createUser({ plan: 'pro' });
      const invitee = await a.createUser();
      const socket = await sockets.connect(invitee.token);
      const invited = nextEvent(socket, 'meeting.invited');
      const res = await a.api('POST', '/api/meetings', {
        token: organizer.token,
        body: {
          title: 'Due nodi',
          startAt: new Date(Date.now() + 3_600_000).toISOString(),
          durationMinutes: 30,
          inviteeIds: [invitee.id],
        },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.deepEqual(await invited, { meetingId: (res.body as { id: string }).id });
    });

    it("a rate limit is the site's: guest tokens minted through either node count against one budget", async () => {
      const organizer = await a.createUser({ plan: 'pro' });
      const created = await a.api('POST', '/api/meetings', {
        token: organizer.token,
        body: { title: 'Limite condiviso', startAt: new Date().toISOString(), durationMinutes: 30 },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const code = (created.body as { guestUrl: string }).guestUrl.split('/m/')[1] ?? '';
      const mint = (node: ServerFixture) =>
        node.api('POST', `/api/guest/${code}/join`, { body: { displayName: 'Ospite' } });
      const statuses = [(await mint(a)).status, (await mint(b)).status, (await mint(a)).status];
      assert.deepEqual(statuses, [201, 201, 201]);
      // The fourth from this address, through either node, is over the limit of three.
      for (const node of [b, a]) {
        const res = await mint(node);
        assert.equal(res.status, 429, JSON.stringify(res.body));
        assert.equal((res.body as { error: { code: string } }).error.code, 'RATE_LIMITED');
      }
    });

    it('while Redis hangs, requests are answered and meetings admit; once it answers, events cross nodes again', async () => {
      const organizer = await a.createUser({ plan: 'pro' });
      const invitee = await a.createUser();
      const created = await a.api('POST', '/api/meetings', {
        token: organizer.token,
        body: { title: 'Redis fermo', startAt: new Date().toISOString(), durationMinutes: 30 },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const meeting = created.body as { id: string; guestUrl: string };
      const code = meeting.guestUrl.split('/m/')[1] ?? '';
      const pid = service.pid;
      assert.ok(pid);
      // Stopped, not dead: connections stay open and nothing answers, the worst case for a client.
      process.kill(pid, 'SIGSTOP');
      try {
        // The rate limit's Redis call times out; it counts in memory meanwhile.
        const minted = await a.api('POST', `/api/guest/${code}/join`, { body: { displayName: 'Ospite' } });
        assert.equal(minted.status, 201, JSON.stringify(minted.body));
        // Admission lives on the meeting's node and needs no Redis.
        const nodeSockets = new SocketPool(a.baseUrl);
        try {
          const org = await nodeSockets.connect(organizer.token);
          const guest = await nodeSockets.connect((minted.body as { guestToken: string }).guestToken);
          const orgIn = await request(org, { type: 'meeting.join', meetingId: meeting.id });
          assert.equal(orgIn.ok && orgIn.data.state, 'joined', JSON.stringify(orgIn));
          const guestIn = await request(guest, {
            type: 'meeting.join',
            meetingId: meeting.id,
            guestCode: code,
          });
          assert.equal(guestIn.ok && guestIn.data.state, 'joined', JSON.stringify(guestIn));
        } finally {
          nodeSockets.closeAll();
        }
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      // Answering again: an invitation made on one node reaches the invitee on the other.
      const socket = await sockets.connect(invitee.token);
      const invited = nextEvent(socket, 'meeting.invited');
      const res = await a.api('POST', '/api/meetings', {
        token: organizer.token,
        body: {
          title: 'Dopo',
          startAt: new Date(Date.now() + 3_600_000).toISOString(),
          durationMinutes: 30,
          inviteeIds: [invitee.id],
        },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.deepEqual(await invited, { meetingId: (res.body as { id: string }).id });
    });

    it('both nodes say Redis is ready', async () => {
      for (const node of [a, b]) {
        const res = await node.api('GET', '/readyz');
        const checks = (res.body as { checks: Record<string, { ok: boolean }> }).checks;
        assert.deepEqual(checks.redis, { ok: true }, JSON.stringify(res.body));
      }
    });
  });
});

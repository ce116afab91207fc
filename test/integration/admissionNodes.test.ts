import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { UserAuth } from '../../server/auth/authMiddleware.js';
import { ManualClock } from '../../server/clock.js';
import { Database } from '../../server/db/Database.js';
import { userModel } from '../../server/directory/User.js';
import { AdmissionGate } from '../../server/meetings/AdmissionGate.js';
import { meetingModel, type MeetingModel } from '../../server/meetings/Meeting.js';
import { NodeRegistry } from '../../server/redis/NodeRegistry.js';
import { RedisClients } from '../../server/redis/RedisClients.js';
import { KeyedSerial } from '../../server/util/KeyedSerial.js';
import type { JoinOutcome } from '../../shared/protocol.js';
import { startTestRedis, type TestRedis } from '../harness/redis.js';
import { testStack } from '../harness/testStack.js';

const GRACE_MS = 120_000;

/**
 * Two nodes' gates on one database and one Redis, each with its heartbeat (NodeRegistry): what one node leaves in
 * a meeting's records when it dies, and what the node the meeting moves to does with it.
 */
describe('admission across server nodes: the records a dead node leaves', function () {
  this.timeout(60_000);
  const logger = pino({ level: 'silent' });
  let redis: TestRedis;
  let db: Database;
  let meetings: MeetingModel;
  let people: UserAuth[];
  const closers: (() => Promise<void>)[] = [];

  before(async () => {
    redis = await startTestRedis();
    const stack = testStack();
    db = await Database.connect(stack.ferret.uri, {
      dbName: `t_nodes_${randomUUID().slice(0, 8)}`,
      logger: stack.logger,
    });
    meetings = meetingModel(db.connection);
    await meetings.init();
    const users = userModel(db.connection);
    people = [];
    for (const [i, name] of ['Mario', 'Giulia'].entries()) {
      const u = await users.create({
        extension: String(7100 + i),
        firstName: name,
        lastName: 'Nodo',
        passwordHash: 'x',
      });
      people.push({ kind: 'user', userId: String(u._id), extension: u.extension, role: 'user', plan: 'pro' });
    }
  });

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  after(async () => {
    await db.connection.dropDatabase();
    await db.close();
    await redis.close();
  });

  /** A node: its Redis connections, its heartbeat and its gate, closed after the test. */
  async function node(clock: ManualClock): Promise<{ gate: AdmissionGate; registry: NodeRegistry }> {
    const clients = await RedisClients.create({ url: redis.url, logger });
    const registry = await NodeRegistry.create({
      redis: clients.pub,
      heartbeatMs: 200,
      ttlMs: 1_000,
      logger,
    });
    const gate = new AdmissionGate({
      meetings,
      users: userModel(db.connection),
      clock,
      rejoinGraceMs: GRACE_MS,
      limits: { maxParticipants: 10, maxWaiting: 10, maxDenylist: 10, maxParticipantRecords: 20 },
      writes: new KeyedSerial(),
      nodes: registry,
      logger,
    });
    closers.push(async () => {
      await gate.close();
      await registry.close();
      await clients.close();
    });
    return { gate, registry };
  }

  function joined(outcome: JoinOutcome): Extract<JoinOutcome, { state: 'joined' }> {
    assert.equal(outcome.state, 'joined', JSON.stringify(outcome));
    return outcome;
  }

  it("leaves a live node's people alone, and takes them over as reconnecting once that node is dead", async () => {
    const clock = new ManualClock(Date.UTC(2026, 11, 3, 9, 0, 0));
    const [organizer, giulia] = people as [UserAuth, UserAuth];
    const m = await meetings.create({
      title: 'Nodi',
      startAt: new Date(clock.now()),
      durationMinutes: 60,
      organizerId: organizer.userId,
      inviteeIds: [giulia.userId],
      guestCode: randomUUID(),
    });
    const meetingId = String(m._id);
    const a = await node(clock);
    const org = joined(await a.gate.join('a-org', organizer, { meetingId }));
    joined(await a.gate.join('a-giulia', giulia, { meetingId }));

    // Another node starting while A lives: A's people are A's.
    const b = await node(clock);
    await b.gate.recover();
    const kept = await meetings.findById(meetingId).lean();
    assert.deepEqual(
      kept?.participants.map((p) => [p.leftAt, p.node]),
      [
        [undefined, a.registry.id],
        [undefined, a.registry.id],
      ],
    );

    // A dies (its heartbeat gone, as when its process is killed); the organizer's client comes back through B.
    await a.registry.close();
    const back = joined(await b.gate.join('b-org', organizer, { meetingId, rejoinToken: org.rejoinToken }));
    assert.equal(back.participantId, org.participantId);
    // Giulia is still in the meeting, as reconnecting: her client has the grace window to come back.
    assert.deepEqual(back.participants.map((p) => [p.displayName, p.connection]).sort(), [
      ['Nodo Giulia', 'reconnecting'],
      ['Nodo Mario', 'connected'],
    ]);
    const adopted = await meetings.findById(meetingId).lean();
    assert.deepEqual(
      adopted?.participants.map((p) => p.node),
      [b.registry.id, b.registry.id],
    );

    // She does not come back: at the window's end B, now holding it, puts her out.
    const left = once(b.gate, 'participantLeft');
    clock.advance(GRACE_MS + 1);
    assert.deepEqual(await left, [meetingId, adopted?.participants[1]?.participantId]);
  });
});

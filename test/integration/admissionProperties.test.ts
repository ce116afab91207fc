import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Auth, GuestAuth, UserAuth } from '../../server/auth/authMiddleware.js';
import { ManualClock } from '../../server/clock.js';
import { Database } from '../../server/db/Database.js';
import { userModel } from '../../server/directory/User.js';
import { AppError } from '../../server/errors.js';
import { AdmissionGate } from '../../server/meetings/AdmissionGate.js';
import { isIn } from '../../server/meetings/admissionRules.js';
import { meetingModel, type MeetingModel } from '../../server/meetings/Meeting.js';
import { NodeRegistry } from '../../server/redis/NodeRegistry.js';
import { KeyedSerial } from '../../server/util/KeyedSerial.js';
import { testStack } from '../harness/testStack.js';

/**
 * The gate's invariants under random sequences of joins, leaves, drops, removals, lobby decisions, ends and clock
 * moves, against the real gate on the real FerretDB (the same code path as production, minus socket.io).
 */

const GRACE_MS = 120_000;

type Step =
  | { t: 'connect'; who: number }
  | { t: 'join'; s: number; m: number; upper: boolean }
  | { t: 'leave'; s: number }
  | { t: 'drop'; s: number }
  | { t: 'joinThenDrop'; s: number; m: number }
  | { t: 'rush'; who: number[]; m: number; leaveAt: number }
  | { t: 'remove'; who: number }
  | { t: 'admit' }
  | { t: 'deny' }
  | { t: 'end' }
  | { t: 'tick'; ms: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant('connect' as const), who: fc.nat(4) }), weight: 3 },
  {
    arbitrary: fc.record({
      t: fc.constant('join' as const),
      s: fc.nat(7),
      m: fc.nat(1),
      upper: fc.boolean(),
    }),
    weight: 5,
  },
  { arbitrary: fc.record({ t: fc.constant('leave' as const), s: fc.nat(7) }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('drop' as const), s: fc.nat(7) }), weight: 2 },
  {
    arbitrary: fc.record({ t: fc.constant('joinThenDrop' as const), s: fc.nat(7), m: fc.nat(1) }),
    weight: 1,
  },
  {
    // Several sockets join one meeting at once (the gate decides them together), one of them maybe leaving.
    arbitrary: fc.record({
      t: fc.constant('rush' as const),
      who: fc.array(fc.nat(4), { minLength: 2, maxLength: 5 }),
      m: fc.nat(1),
      leaveAt: fc.integer({ min: -1, max: 4 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ t: fc.constant('remove' as const), who: fc.integer({ min: 1, max: 4 }) }),
    weight: 1,
  },
  { arbitrary: fc.constant({ t: 'admit' as const }), weight: 1 },
  { arbitrary: fc.constant({ t: 'deny' as const }), weight: 1 },
  { arbitrary: fc.constant({ t: 'end' as const }), weight: 1 },
  {
    arbitrary: fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 150_000 }) }),
    weight: 2,
  },
);

describe('admission invariants (property-based, real gate on FerretDB)', function () {
  this.timeout(240_000);
  let db: Database;
  let meetings: MeetingModel;
  let people: UserAuth[];

  before(async () => {
    const stack = testStack();
    db = await Database.connect(stack.ferret.uri, {
      dbName: `t_prop_${randomUUID().slice(0, 8)}`,
      logger: stack.logger,
    });
    meetings = meetingModel(db.connection);
    await meetings.init();
    const users = userModel(db.connection);
    people = [];
    for (const [i, name] of ['Mario', 'Giulia', 'Luca'].entries()) {
      const u = await users.create({
        extension: String(7000 + i),
        firstName: name,
        lastName: 'Test',
        passwordHash: 'x',
      });
      people.push({ kind: 'user', userId: String(u._id), extension: u.extension, role: 'user', plan: 'pro' });
    }
  });

  after(async () => {
    await db.connection.dropDatabase();
    await db.close();
  });

  it('a disconnect arriving while a join is decided leaves no ghost: the participant is reconnecting, then gone', async () => {
    const users = userModel(db.connection);
    const clock = new ManualClock(Date.UTC(2026, 11, 1, 9, 0, 0));
    const gate = new AdmissionGate({
      meetings,
      users,
      clock,
      rejoinGraceMs: GRACE_MS,
      limits: { maxParticipants: 10, maxWaiting: 10, maxDenylist: 10, maxParticipantRecords: 20 },
      writes: new KeyedSerial(),
      nodes: await NodeRegistry.create({ heartbeatMs: 1_000, ttlMs: 5_000, logger: testStack().logger }),
      logger: testStack().logger,
    });
    const [organizer, giulia] = people as [UserAuth, UserAuth];
    const m = await meetings.create({
      title: 'Race',
      startAt: new Date(clock.now()),
      durationMinutes: 60,
      organizerId: organizer.userId,
      inviteeIds: [giulia.userId],
      guestCode: randomUUID(),
    });
    const id = String(m._id);
    try {
      await gate.join('org', organizer, { meetingId: id });
      const left = new Promise<string>((resolve) => gate.once('participantLeft', (_m, pid) => resolve(pid)));
      const joining = gate.join('g', giulia, { meetingId: id });
      const leaving = gate.leave('g', 'dropped');
      const [outcome] = await Promise.all([joining, leaving]);
      assert.equal(outcome.state, 'joined');
      const record = async () =>
        (await meetings.findById(id).lean())?.participants.find((p) => p.userId === giulia.userId);
      const p = await record();
      assert.ok(p?.leftAt, 'not connected: her socket is gone');
      assert.equal(p.dropped, true);
      assert.equal(gate.socketOf(p.participantId), undefined);
      clock.advance(GRACE_MS + 1);
      assert.equal(await left, p.participantId);
      assert.equal((await record())?.dropped, false);
    } finally {
      await gate.close();
      await meetings.deleteOne({ _id: m._id });
    }
  });

  it('keeps every socket in at most one place, nobody connected without a socket, nobody waiting for an organizer who is in, and no empty live session', async () => {
    const users = userModel(db.connection);
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 25 }), async (steps) => {
        const clock = new ManualClock(Date.UTC(2026, 11, 1, 9, 0, 0));
        const writes = new KeyedSerial();
        const gate = new AdmissionGate({
          meetings,
          users,
          clock,
          rejoinGraceMs: GRACE_MS,
          limits: { maxParticipants: 4, maxWaiting: 4, maxDenylist: 3, maxParticipantRecords: 6 },
          writes,
          nodes: await NodeRegistry.create({ heartbeatMs: 1_000, ttlMs: 5_000, logger: testStack().logger }),
          logger: testStack().logger,
        });
        const [organizer, giulia, luca] = people as [UserAuth, UserAuth, UserAuth];
        const ids: string[] = [];
        for (let i = 0; i < 2; i++) {
          const m = await meetings.create({
            title: `M${i}`,
            startAt: new Date(clock.now()),
            durationMinutes: 24 * 60,
            organizerId: organizer.userId,
            inviteeIds: [giulia.userId, luca.userId],
            guestCode: randomUUID(),
          });
          ids.push(String(m._id));
        }
        const guest = (m: number, n: number): GuestAuth => ({
          kind: 'guest',
          guestId: `guest-${n}`,
          meetingId: ids[m] ?? '',
          displayName: `Ospite ${n}`,
          linkVersion: 1,
        });
        const identities: Auth[] = [organizer, giulia, luca, guest(0, 3), guest(1, 4)];
        const sockets: { id: string; auth: Auth; alive: boolean }[] = [];
        const socketAt = (s: number): { id: string; auth: Auth; alive: boolean } | undefined =>
          sockets.length === 0 ? undefined : sockets[s % sockets.length];
        const organizerSocket = (): string | undefined =>
          sockets.find((x) => x.alive && gate.participantOf(x.id)?.isOrganizer === true)?.id;

        /** Only a client's mistake may fail, and always as a 4xx AppError: anything else is our bug. */
        const tolerate = async (p: Promise<unknown>): Promise<void> => {
          try {
            await p;
          } catch (err) {
            if (!(err instanceof AppError) || err.status >= 500) throw err;
          }
        };
        const settle = async (): Promise<void> => {
          for (const id of ids) await writes.run(id, () => Promise.resolve());
        };

        const check = async (step: number): Promise<void> => {
          await settle();
          const now = clock.now();
          for (const x of sockets) {
            if (!x.alive)
              assert.equal(gate.seatOf(x.id), undefined, `step ${step}: a closed socket is seated`);
          }
          for (const id of ids) {
            const m = await meetings.findById(id).lean();
            assert.ok(m);
            for (const p of m.participants) {
              const sid = gate.socketOf(p.participantId);
              if (p.leftAt === undefined) {
                assert.ok(sid, `step ${step}: ${p.displayName} is connected without a socket`);
                assert.ok(
                  sockets.find((x) => x.id === sid)?.alive,
                  `step ${step}: connected on a closed socket`,
                );
              } else {
                assert.equal(sid, undefined, `step ${step}: ${p.displayName} is out but still seated`);
              }
            }
            const organizerIn = m.participants.some((p) => p.userId === organizer.userId && !p.leftAt);
            if (organizerIn) {
              const waitingForOrganizer = gate.waitingIn(id).filter((w) => !w.knocking);
              assert.deepEqual(waitingForOrganizer, [], `step ${step}: waiting while the organizer is in`);
            }
            if (!m.participants.some((p) => isIn(p, now))) {
              assert.equal(m.live, false, `step ${step}: an empty session is still live`);
            }
            assert.ok(m.denylist.length <= 3, `step ${step}: denylist grew past its bound`);
            assert.ok(m.participants.length <= 6, `step ${step}: participant records grew past their bound`);
          }
        };

        try {
          for (const [i, step] of steps.entries()) {
            switch (step.t) {
              case 'connect': {
                const auth = identities[step.who];
                if (auth) sockets.push({ id: `s${sockets.length}-${randomUUID()}`, auth, alive: true });
                break;
              }
              case 'join': {
                const x = socketAt(step.s);
                const id = ids[step.m] ?? '';
                if (x?.alive) {
                  await tolerate(gate.join(x.id, x.auth, { meetingId: step.upper ? id.toUpperCase() : id }));
                }
                break;
              }
              case 'leave': {
                const x = socketAt(step.s);
                if (x?.alive) await gate.leave(x.id, 'left');
                break;
              }
              case 'drop': {
                const x = socketAt(step.s);
                if (x?.alive) {
                  x.alive = false;
                  await gate.leave(x.id, 'dropped');
                }
                break;
              }
              case 'joinThenDrop': {
                // The disconnect arrives while the join is still being decided.
                const x = socketAt(step.s);
                if (x?.alive) {
                  x.alive = false;
                  const joining = tolerate(gate.join(x.id, x.auth, { meetingId: ids[step.m] ?? '' }));
                  const leaving = gate.leave(x.id, 'dropped');
                  await Promise.all([joining, leaving]);
                }
                break;
              }
              case 'rush': {
                // New connections of these people (a page opened on several devices at nine o'clock).
                const chosen = step.who.flatMap((w) => {
                  const auth = identities[w];
                  if (!auth) return [];
                  const x = { id: `s${sockets.length}-${randomUUID()}`, auth, alive: true };
                  sockets.push(x);
                  return [x];
                });
                const meetingId = ids[step.m] ?? '';
                // Called in one go, so the gate decides them together; a leave among them comes between.
                const work: Promise<unknown>[] = [];
                for (const [i, x] of chosen.entries()) {
                  work.push(tolerate(gate.join(x.id, x.auth, { meetingId })));
                  const leaver = i === step.leaveAt ? chosen[i] : undefined;
                  if (leaver) work.push(gate.leave(leaver.id, 'left'));
                }
                await Promise.all(work);
                break;
              }
              case 'remove': {
                const org = organizerSocket();
                const target = identities[step.who];
                const meetingId = org ? gate.participantOf(org)?.meetingId : undefined;
                if (org && target && meetingId) {
                  const m = await meetings.findById(meetingId).lean();
                  const p = m?.participants.find((q) =>
                    target.kind === 'user' ? q.userId === target.userId : q.guestId === target.guestId,
                  );
                  if (p) await tolerate(gate.removeParticipant(org, organizer, p.participantId));
                }
                break;
              }
              case 'admit':
              case 'deny': {
                const org = organizerSocket();
                const meetingId = org ? gate.participantOf(org)?.meetingId : undefined;
                const knocker = meetingId ? gate.waitingIn(meetingId).find((w) => w.knocking) : undefined;
                if (org && knocker) {
                  // The organizer names waiters by waiterId, which only the lobby event carries.
                  const lobby = new Promise<string | undefined>((resolve) => {
                    gate.once('lobby', (_sids, waiting) => resolve(waiting[0]?.waiterId));
                  });
                  // Re-announce by a no-op join of the knocker (same seat, same waiterId).
                  const x = sockets.find((s) => s.id === knocker.socketId);
                  if (x) await tolerate(gate.join(x.id, x.auth, { meetingId: meetingId ?? '' }));
                  const waiterId = await lobby;
                  if (waiterId) {
                    await tolerate(
                      step.t === 'admit'
                        ? gate.admitWaiter(org, organizer, waiterId)
                        : gate.denyWaiter(org, organizer, waiterId),
                    );
                  }
                }
                break;
              }
              case 'end': {
                const org = organizerSocket();
                if (org) await tolerate(gate.endMeeting(org, organizer));
                break;
              }
              case 'tick':
                clock.advance(step.ms);
                break;
            }
            await check(i);
          }
        } finally {
          await gate.close();
          await settle();
          await meetings.deleteMany({ _id: { $in: ids } });
        }
      }),
      { numRuns: 100 },
    );
  });
});

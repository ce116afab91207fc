import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Auth } from '../../server/auth/authMiddleware.js';
import { SocketSeats, type Seat } from '../../server/meetings/SocketSeats.js';

const auth: Auth = { kind: 'user', userId: 'u', extension: '200', role: 'user', plan: 'basic' };
const SOCKETS = ['a', 'b', 'c'];
const MEETINGS = ['m1', 'm2'];

type Op =
  | { op: 'claim'; s: number; m: number }
  | { op: 'release'; s: number }
  | { op: 'wait'; s: number; m: number; knocking: boolean }
  | { op: 'seat'; s: number; m: number }
  | { op: 'free'; s: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('claim' as const), s: fc.nat(2), m: fc.nat(1) }),
  fc.record({ op: fc.constant('release' as const), s: fc.nat(2) }),
  fc.record({ op: fc.constant('wait' as const), s: fc.nat(2), m: fc.nat(1), knocking: fc.boolean() }),
  fc.record({ op: fc.constant('seat' as const), s: fc.nat(2), m: fc.nat(1) }),
  fc.record({ op: fc.constant('free' as const), s: fc.nat(2) }),
);

function seatOf(op: { s: number; m: number; knocking?: boolean }, state: 'waiting' | 'joined'): Seat {
  const meetingId = MEETINGS[op.m] ?? '';
  return state === 'waiting'
    ? {
        state,
        meetingId,
        auth,
        req: { meetingId },
        waiterId: `w-${op.s}`,
        displayName: 'x',
        knocking: op.knocking ?? false,
      }
    : { state, meetingId, participantId: `p-${op.s}`, isOrganizer: false, auth };
}

describe('SocketSeats', () => {
  it('never puts a socket in two meetings, and its lists agree with each socket’s seat', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const seats = new SocketSeats();
        // The model: each socket's seat, and its claim (meeting and count).
        const model = new Map<string, Seat>();
        const claims = new Map<string, { m: string; n: number }>();
        const placeOf = (sid: string): string | undefined => model.get(sid)?.meetingId ?? claims.get(sid)?.m;
        for (const op of ops) {
          const sid = SOCKETS[op.s] ?? '';
          switch (op.op) {
            case 'claim': {
              const m = MEETINGS[op.m] ?? '';
              const expected = placeOf(sid) === undefined || placeOf(sid) === m;
              assert.equal(seats.claim(sid, m), expected);
              if (expected) claims.set(sid, { m, n: (claims.get(sid)?.n ?? 0) + 1 });
              break;
            }
            case 'release': {
              seats.release(sid);
              const c = claims.get(sid);
              if (c && --c.n === 0) claims.delete(sid);
              break;
            }
            case 'wait':
            case 'seat': {
              // The gate only seats a socket in the meeting it claimed; anything else is refused as a bug.
              const seat = seatOf(op, op.op === 'wait' ? 'waiting' : 'joined');
              const place = placeOf(sid);
              if (place !== undefined && place !== seat.meetingId) {
                assert.throws(() => seats.set(sid, seat));
              } else {
                seats.set(sid, seat);
                model.set(sid, seat);
              }
              break;
            }
            case 'free':
              assert.deepEqual(seats.free(sid), model.get(sid));
              model.delete(sid);
              break;
          }
          for (const s of SOCKETS) {
            assert.equal(seats.meetingOf(s), placeOf(s));
            assert.deepEqual(seats.get(s), model.get(s));
          }
          for (const m of MEETINGS) {
            const waiting = seats.waitingIn(m).map(([s]) => s);
            const joined = seats.joinedIn(m).map(([s]) => s);
            const expectedWaiting = [...model].filter(([, x]) => x.state === 'waiting' && x.meetingId === m);
            const expectedJoined = [...model].filter(([, x]) => x.state === 'joined' && x.meetingId === m);
            assert.deepEqual(waiting.sort(), expectedWaiting.map(([s]) => s).sort());
            assert.deepEqual(joined.sort(), expectedJoined.map(([s]) => s).sort());
            assert.ok(!waiting.some((s) => joined.includes(s)), 'waiting and joined at once');
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the waiting room in arrival order, a socket that waits again going to the back', () => {
    const seats = new SocketSeats();
    const wait = (sid: string): void => seats.set(sid, seatOf({ s: 0, m: 0 }, 'waiting'));
    wait('a');
    wait('b');
    wait('c');
    wait('a');
    assert.deepEqual(
      seats.waitingIn('m1').map(([s]) => s),
      ['b', 'c', 'a'],
    );
  });
});

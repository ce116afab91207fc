import assert from 'node:assert/strict';
import { ManualClock } from '../../server/clock.js';
import type { JoinedInfo } from '../../shared/protocol.js';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';
import {
  nextEvent,
  request,
  SocketPool,
  type ClientSocket,
  ackErrorCode,
  joined,
} from '../harness/sockets.js';
import { testStack } from '../harness/testStack.js';

const GRACE_MS = 120_000;

interface StoredMeeting {
  live: boolean;
  participants: { displayName: string; leftAt?: Date }[];
  denylist: unknown[];
}

describe('admission that holds', () => {
  let fx: ServerFixture;
  let clock: ManualClock;
  let sockets: SocketPool;
  let organizer: TestUser;
  let giulia: TestUser;
  let luca: TestUser;

  async function start(meetings: Partial<ReturnType<typeof testStack>['config']['meetings']> = {}) {
    const base = testStack().config;
    fx = await startServer({
      clock,
      config: {
        rejoinGraceMs: GRACE_MS,
        meetings: { ...base.meetings, ...meetings },
        rateLimits: { ...base.rateLimits, guestJoinPerIpAndLink: 4 },
      },
    });
    sockets = new SocketPool(fx.baseUrl);
    organizer = await fx.createUser({ firstName: 'Mario', lastName: 'Rossi', plan: 'pro' });
    giulia = await fx.createUser({ firstName: 'Giulia', lastName: 'Bianchi' });
    luca = await fx.createUser({ firstName: 'Luca', lastName: 'Colombo' });
  }

  beforeEach(() => {
    clock = new ManualClock(Date.UTC(2026, 11, 1, 9, 0, 0));
  });

  afterEach(async () => {
    sockets.closeAll();
    await fx.close();
  });

  async function schedule(): Promise<MeetingView> {
    const res = await fx.api('POST', '/api/meetings', {
      token: organizer.token,
      body: {
        title: 'Riunione',
        startAt: new Date(clock.now()).toISOString(),
        durationMinutes: 60,
        inviteeIds: [giulia.id, luca.id],
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as MeetingView;
  }

  const codeOf = (m: MeetingView): string => m.guestUrl.split('/m/')[1] ?? '';

  /** A guest token minted from the link, in a "browser" that holds `cookie` (if any); returns the new cookie. */
  async function mint(
    m: MeetingView,
    cookie?: string,
    name = 'Anna Ospite',
  ): Promise<{ status: number; token: string; guestId: string; cookie: string; code?: string }> {
    const res = await fx.api('POST', `/api/guest/${codeOf(m)}/join`, {
      body: { displayName: name },
      headers: cookie ? { cookie } : {},
    });
    const body = res.body as { guestToken?: string; guestId?: string; error?: { code: string } };
    const set = res.headers.get('set-cookie') ?? '';
    return {
      status: res.status,
      token: body.guestToken ?? '',
      guestId: body.guestId ?? '',
      cookie: set.split(';')[0] ?? '',
      code: body.error?.code,
    };
  }

  async function stored(m: MeetingView): Promise<StoredMeeting> {
    const doc = (await fx.db.connection
      .collection('meetings')
      .findOne({ guestCode: codeOf(m) })) as StoredMeeting | null;
    assert.ok(doc);
    return doc;
  }

  async function organizerIn(m: MeetingView): Promise<{ org: ClientSocket; info: JoinedInfo }> {
    const org = await sockets.connect(organizer.token);
    return { org, info: joined(await request(org, { type: 'meeting.join', meetingId: m.id })) };
  }

  describe('one place per socket', () => {
    beforeEach(() => start());

    it('refuses a second waiting room, and a socket that waited and disconnected is never admitted later', async () => {
      const [m1, m2] = [await schedule(), await schedule()];
      const g = await sockets.connect(giulia.token);
      assert.deepEqual(await request(g, { type: 'meeting.join', meetingId: m1.id }), {
        ok: true,
        data: { state: 'waiting', waitingFor: 'organizer' },
      });
      assert.equal(ackErrorCode(await request(g, { type: 'meeting.join', meetingId: m2.id })), 'CONFLICT');
      g.disconnect();
      // The organizer opens both meetings: Giulia's closed socket is in neither.
      const { org, info } = await organizerIn(m2);
      assert.deepEqual(
        info.participants.map((p) => p.displayName),
        ['Rossi Mario'],
      );
      await request(org, { type: 'meeting.leave' });
      const second = await organizerIn(m1);
      assert.deepEqual(
        second.info.participants.map((p) => p.displayName),
        ['Rossi Mario'],
      );
      const doc = await stored(m1);
      assert.deepEqual(
        doc.participants.filter((p) => !p.leftAt).map((p) => p.displayName),
        ['Rossi Mario'],
      );
    });

    it('does not let a socket waiting in one meeting join another, so a disconnect leaves no one behind', async () => {
      const [waitHere, liveThere] = [await schedule(), await schedule()];
      const { org } = await organizerIn(liveThere);
      const g = await sockets.connect(giulia.token);
      assert.equal((await request(g, { type: 'meeting.join', meetingId: waitHere.id })).ok, true);
      assert.equal(
        ackErrorCode(await request(g, { type: 'meeting.join', meetingId: liveThere.id })),
        'CONFLICT',
      );
      // Leaving the waiting room frees the socket for the other meeting; its disconnect then leaves that one.
      assert.deepEqual(await request(g, { type: 'meeting.leave' }), { ok: true, data: { left: true } });
      joined(await request(g, { type: 'meeting.join', meetingId: liveThere.id }));
      const reconnecting = nextEvent(org, 'meeting.participantUpdated');
      g.disconnect();
      assert.equal((await reconnecting).connection, 'reconnecting');
      const gone = nextEvent(org, 'meeting.participantLeft');
      clock.advance(GRACE_MS + 1);
      await gone;
      const l = await sockets.connect(luca.token);
      const info = joined(await request(l, { type: 'meeting.join', meetingId: liveThere.id }));
      assert.deepEqual(info.participants.map((p) => p.displayName).sort(), ['Colombo Luca', 'Rossi Mario']);
    });

    it('admits an upper-case meeting id like the lower-case one', async () => {
      const m = await schedule();
      const g = await sockets.connect(giulia.token);
      assert.deepEqual(await request(g, { type: 'meeting.join', meetingId: m.id.toUpperCase() }), {
        ok: true,
        data: { state: 'waiting', waitingFor: 'organizer' },
      });
      const admitted = nextEvent(g, 'meeting.admitted');
      const { info } = await organizerIn(m);
      assert.equal((await admitted).meetingId, m.id);
      assert.deepEqual(info.participants.map((p) => p.displayName).sort(), ['Bianchi Giulia', 'Rossi Mario']);
      const res = await fx.api('GET', `/api/meetings/${m.id.toUpperCase()}`, { token: giulia.token });
      assert.equal(res.status, 200);
      assert.equal((res.body as MeetingView).id, m.id);
    });
  });

  describe('removal that holds', () => {
    beforeEach(() => start());

    it('gives the same browser the same guest id, so a removed guest minting again is still removed', async () => {
      const m = await schedule();
      const { org } = await organizerIn(m);
      const first = await mint(m);
      assert.match(first.cookie, /^ucc_guest=/);
      const guest = await sockets.connect(first.token);
      const info = joined(await request(guest, { type: 'meeting.join', meetingId: m.id }));
      const removed = nextEvent(guest, 'meeting.removed');
      await request(org, { type: 'meeting.removeParticipant', participantId: info.participantId });
      assert.deepEqual(await removed, { reason: 'removed' });

      const again = await mint(m, first.cookie, 'Un altro nome');
      assert.equal(again.guestId, first.guestId);
      const back = await sockets.connect(again.token);
      assert.equal(
        ackErrorCode(await request(back, { type: 'meeting.join', meetingId: m.id })),
        'REMOVED_FROM_MEETING',
      );
    });

    it('after a removal, a guest from a new browser knocks; the organizer sees them and lets them in', async () => {
      const m = await schedule();
      const { org } = await organizerIn(m);
      const first = await mint(m);
      const guest = await sockets.connect(first.token);
      const info = joined(await request(guest, { type: 'meeting.join', meetingId: m.id }));
      await request(org, { type: 'meeting.removeParticipant', participantId: info.participantId });

      const fresh = await mint(m, undefined, 'Anna di nuovo');
      assert.notEqual(fresh.guestId, first.guestId);
      const knocker = await sockets.connect(fresh.token);
      const lobby = nextEvent(org, 'meeting.lobby');
      assert.deepEqual(await request(knocker, { type: 'meeting.join', meetingId: m.id }), {
        ok: true,
        data: { state: 'waiting', waitingFor: 'admission' },
      });
      const { waiting } = await lobby;
      assert.equal(waiting.length, 1);
      assert.equal(waiting[0]?.displayName, 'Anna di nuovo');
      // Only the organizer decides.
      const g = await sockets.connect(giulia.token);
      joined(await request(g, { type: 'meeting.join', meetingId: m.id }));
      assert.equal(
        ackErrorCode(await request(g, { type: 'meeting.admit', waiterId: waiting[0]?.waiterId })),
        'FORBIDDEN',
      );
      // A colleague is not asked to knock.
      const admitted = nextEvent(knocker, 'meeting.admitted');
      const emptied = nextEvent(org, 'meeting.lobby');
      assert.deepEqual(await request(org, { type: 'meeting.admit', waiterId: waiting[0]?.waiterId }), {
        ok: true,
        data: { admitted: true },
      });
      assert.ok((await admitted).participants.some((p) => p.displayName === 'Anna di nuovo'));
      assert.deepEqual(await emptied, { waiting: [] });
    });

    it('turns a knocking guest away for good', async () => {
      const m = await schedule();
      const { org } = await organizerIn(m);
      const first = await mint(m);
      const guest = await sockets.connect(first.token);
      const info = joined(await request(guest, { type: 'meeting.join', meetingId: m.id }));
      await request(org, { type: 'meeting.removeParticipant', participantId: info.participantId });

      const fresh = await mint(m);
      const knocker = await sockets.connect(fresh.token);
      const lobby = nextEvent(org, 'meeting.lobby');
      await request(knocker, { type: 'meeting.join', meetingId: m.id });
      const waiterId = (await lobby).waiting[0]?.waiterId;
      const out = nextEvent(knocker, 'meeting.removed');
      assert.deepEqual(await request(org, { type: 'meeting.deny', waiterId }), {
        ok: true,
        data: { denied: true },
      });
      assert.deepEqual(await out, { reason: 'denied' });
      assert.equal(
        ackErrorCode(await request(knocker, { type: 'meeting.join', meetingId: m.id })),
        'REMOVED_FROM_MEETING',
      );
      assert.equal(ackErrorCode(await request(org, { type: 'meeting.deny', waiterId })), 'NOT_FOUND');
    });

    it('limits guest tokens per IP and link with 429', async () => {
      const m = await schedule();
      for (let i = 0; i < 4; i++) assert.equal((await mint(m)).status, 201);
      const over = await mint(m);
      assert.equal(over.status, 429);
      assert.equal(over.code, 'RATE_LIMITED');
    });
  });

  describe('limits', () => {
    it('refuses a newcomer past the participant cap with MEETING_FULL; the organizer still gets in', async () => {
      await start({ maxParticipants: 2 });
      const m = await schedule();
      const g = await sockets.connect(giulia.token);
      await request(g, { type: 'meeting.join', meetingId: m.id });
      const l = await sockets.connect(luca.token);
      await request(l, { type: 'meeting.join', meetingId: m.id });
      const rejected = nextEvent(l, 'meeting.rejected');
      const { info } = await organizerIn(m);
      assert.equal(info.participants.length, 2);
      assert.equal((await rejected).error.code, 'MEETING_FULL');
      const l2 = await sockets.connect(luca.token);
      assert.equal(
        ackErrorCode(await request(l2, { type: 'meeting.join', meetingId: m.id })),
        'MEETING_FULL',
      );
    });

    it("the organizer's arrival lets the whole lobby in at once; each sees who came in before them", async () => {
      await start({ maxWaiting: 20 });
      const m = await schedule();
      const waiters: { name: string; token: string }[] = [
        { name: 'Bianchi Giulia', token: giulia.token },
        { name: 'Colombo Luca', token: luca.token },
      ];
      for (const name of ['Anna Ospite', 'Bea Ospite', 'Carlo Ospite']) {
        const g = await mint(m, undefined, name);
        assert.equal(g.status, 201);
        waiters.push({ name, token: g.token });
      }
      const lobby: ClientSocket[] = [];
      for (const w of waiters) {
        const socket = await sockets.connect(w.token);
        assert.equal((await request(socket, { type: 'meeting.join', meetingId: m.id })).ok, true);
        lobby.push(socket);
      }
      const names = waiters.map((w) => w.name);
      const admitted = lobby.map((g) => nextEvent(g, 'meeting.admitted'));
      const { info } = await organizerIn(m);
      assert.deepEqual(info.participants.map((p) => p.displayName).sort(), ['Rossi Mario', ...names].sort());
      const infos = await Promise.all(admitted);
      // In arrival order: the n-th is let in with the organizer and those before it.
      infos.forEach((inner, n) => {
        assert.deepEqual(
          inner.participants.map((p) => p.displayName),
          ['Rossi Mario', ...names.slice(0, n + 1)],
        );
      });
      const doc = await stored(m);
      assert.equal(doc.live, true);
      assert.deepEqual(doc.participants.map((p) => p.displayName).sort(), ['Rossi Mario', ...names].sort());
    });

    it('refuses a waiter past the waiting-room cap with MEETING_FULL', async () => {
      await start({ maxWaiting: 1 });
      const m = await schedule();
      const g = await sockets.connect(giulia.token);
      assert.equal((await request(g, { type: 'meeting.join', meetingId: m.id })).ok, true);
      const l = await sockets.connect(luca.token);
      assert.equal(ackErrorCode(await request(l, { type: 'meeting.join', meetingId: m.id })), 'MEETING_FULL');
    });

    it('prunes the records of people long gone when a session ends, and bounds the denylist', async () => {
      await start({ maxDenylist: 2 });
      const m = await schedule();
      const { org } = await organizerIn(m);
      for (const name of ['Uno', 'Due', 'Tre']) {
        const t = await mint(m, undefined, name);
        const s = await sockets.connect(t.token);
        const lobbyOrJoin = await request(s, { type: 'meeting.join', meetingId: m.id });
        if (lobbyOrJoin.ok && lobbyOrJoin.data.state === 'waiting') continue;
        const info = joined(lobbyOrJoin);
        await request(org, { type: 'meeting.removeParticipant', participantId: info.participantId });
      }
      assert.equal((await stored(m)).denylist.length, 1, 'after the first removal the others knock');
      const g = await sockets.connect(giulia.token);
      const gInfo = joined(await request(g, { type: 'meeting.join', meetingId: m.id }));
      const l = await sockets.connect(luca.token);
      const lInfo = joined(await request(l, { type: 'meeting.join', meetingId: m.id }));
      await request(org, { type: 'meeting.removeParticipant', participantId: gInfo.participantId });
      await request(org, { type: 'meeting.removeParticipant', participantId: lInfo.participantId });
      assert.equal((await stored(m)).denylist.length, 2);

      await request(org, { type: 'meeting.leave' });
      const ended = await stored(m);
      assert.equal(ended.live, false);
      // Only the organizer's record is left, within its rejoin window; the removed are gone from the document.
      assert.deepEqual(
        ended.participants.map((p) => p.displayName),
        ['Rossi Mario'],
      );
      clock.advance(GRACE_MS + 1);
      const back = await organizerIn(m);
      assert.deepEqual(
        back.info.participants.map((p) => p.displayName),
        ['Rossi Mario'],
      );
      assert.equal((await stored(m)).participants.length, 1);
    });
  });

  describe('cancel and link rotation reach the live meeting', () => {
    beforeEach(() => start());

    it('cancelling ends a running call: everyone in it or waiting is told and out', async () => {
      const m = await schedule();
      const waitingRoom = await schedule();
      const { org } = await organizerIn(m);
      const g = await sockets.connect(giulia.token);
      joined(await request(g, { type: 'meeting.join', meetingId: m.id }));
      const l = await sockets.connect(luca.token);
      await request(l, { type: 'meeting.join', meetingId: waitingRoom.id });

      const orgOut = nextEvent(org, 'meeting.removed');
      const gOut = nextEvent(g, 'meeting.removed');
      assert.equal((await fx.api('DELETE', `/api/meetings/${m.id}`, { token: organizer.token })).status, 204);
      assert.deepEqual(await orgOut, { reason: 'cancelled' });
      assert.deepEqual(await gOut, { reason: 'cancelled' });
      assert.equal(ackErrorCode(await request(g, { type: 'meeting.raiseHand', raised: true })), 'FORBIDDEN');
      assert.equal(
        ackErrorCode(await request(g, { type: 'meeting.join', meetingId: m.id })),
        'MEETING_CANCELLED',
      );
      const doc = await stored(m);
      assert.equal(doc.live, false);
      assert.equal(doc.participants.filter((p) => !p.leftAt).length, 0);

      const lOut = nextEvent(l, 'meeting.removed');
      await fx.api('DELETE', `/api/meetings/${waitingRoom.id}`, { token: organizer.token });
      assert.deepEqual(await lOut, { reason: 'cancelled' });
      // Out of that waiting room: the socket is free for another meeting.
      const other = await schedule();
      assert.equal((await request(l, { type: 'meeting.join', meetingId: other.id })).ok, true);
    });

    it('rotating the guest link puts guests of the old link out of the meeting and the waiting room', async () => {
      const m = await schedule();
      const early = await mint(m, undefined, 'In attesa');
      const w = await sockets.connect(early.token);
      await request(w, { type: 'meeting.join', meetingId: m.id });
      const wAdmitted = nextEvent(w, 'meeting.admitted');
      const { org } = await organizerIn(m);
      const wInfo = await wAdmitted;
      const g = await sockets.connect(giulia.token);
      joined(await request(g, { type: 'meeting.join', meetingId: m.id }));
      const inside = await mint(m, undefined, 'Dentro');
      const guest = await sockets.connect(inside.token);
      const guestInfo = joined(await request(guest, { type: 'meeting.join', meetingId: m.id }));

      const outs = [nextEvent(w, 'meeting.removed'), nextEvent(guest, 'meeting.removed')];
      const left: string[] = [];
      const bothLeft = new Promise<void>((resolve) => {
        org.on('meeting.participantLeft', ({ participantId }) => {
          left.push(participantId);
          if (left.length === 2) resolve();
        });
      });
      const res = await fx.api('POST', `/api/meetings/${m.id}/guest-link/rotate`, { token: organizer.token });
      assert.equal(res.status, 200);
      assert.deepEqual(await Promise.all(outs), [{ reason: 'linkRotated' }, { reason: 'linkRotated' }]);
      await bothLeft;
      assert.deepEqual(left.sort(), [wInfo.participantId, guestInfo.participantId].sort());
      // Giulia, a colleague, stays.
      const l = await sockets.connect(luca.token);
      const info = joined(await request(l, { type: 'meeting.join', meetingId: m.id }));
      assert.deepEqual(info.participants.map((p) => p.displayName).sort(), [
        'Bianchi Giulia',
        'Colombo Luca',
        'Rossi Mario',
      ]);
      assert.equal(
        ackErrorCode(await request(guest, { type: 'meeting.join', meetingId: m.id })),
        'FORBIDDEN',
      );
    });

    it('puts a guest still waiting with the old link out of the waiting room', async () => {
      const m = await schedule();
      const t = await mint(m);
      const w = await sockets.connect(t.token);
      await request(w, { type: 'meeting.join', meetingId: m.id });
      const out = nextEvent(w, 'meeting.removed');
      await fx.api('POST', `/api/meetings/${m.id}/guest-link/rotate`, { token: organizer.token });
      assert.deepEqual(await out, { reason: 'linkRotated' });
      const { info } = await organizerIn(m);
      assert.deepEqual(
        info.participants.map((p) => p.displayName),
        ['Rossi Mario'],
      );
    });
  });
});

import assert from 'node:assert/strict';
import ICAL from 'ical.js';
import { ManualClock } from '../../server/clock.js';
import { meetingModel } from '../../server/meetings/Meeting.js';
import type { Ack, JoinedInfo, JoinOutcome } from '../../shared/protocol.js';
import type { GuestMeetingView, MeetingView } from '../../shared/schemas/meetings.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';
import { SmtpSink } from '../harness/smtpSink.js';
import { eventually } from '../harness/eventually.js';
import {
  ackData,
  nextEvent,
  request,
  roundTrip,
  SocketPool,
  type ClientSocket,
  ackErrorCode,
  joined,
} from '../harness/sockets.js';
import { testStack } from '../harness/testStack.js';

const HOUR = 3_600_000;
const GRACE_MS = 120_000;

interface ErrorBody {
  error: { code: string; message: string };
}

describe('scheduled meetings', () => {
  let fx: ServerFixture;
  let clock: ManualClock;
  let smtp: SmtpSink;
  let sockets: SocketPool;
  let organizer: TestUser;
  let giulia: TestUser;
  let luca: TestUser;
  let basic: TestUser;

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 10, 27, 9, 0, 0));
    smtp = await SmtpSink.start();
    fx = await startServer({
      clock,
      config: { mail: { smtpUrl: smtp.url, from: 'UCC <ucc@example.test>' }, rejoinGraceMs: GRACE_MS },
    });
    sockets = new SocketPool(fx.baseUrl);
    organizer = await fx.createUser({
      firstName: 'Mario',
      lastName: 'Rossi',
      plan: 'pro',
      email: 'mario@example.test',
    });
    giulia = await fx.createUser({ firstName: 'Giulia', lastName: 'Bianchi', email: 'giulia@example.test' });
    luca = await fx.createUser({ firstName: 'Luca', lastName: 'Colombo' });
    basic = await fx.createUser({ firstName: 'Sofia', lastName: 'Ricci' });
  });

  afterEach(async () => {
    sockets.closeAll();
    await fx.close();
    await smtp.close();
  });

  /** A meeting starting in an hour, lasting an hour, with Giulia and Luca invited. */
  async function schedule(fields: Record<string, unknown> = {}): Promise<MeetingView> {
    const res = await fx.api('POST', '/api/meetings', {
      token: organizer.token,
      body: {
        title: 'Riunione settimanale',
        description: 'Ordine del giorno',
        startAt: new Date(clock.now() + HOUR).toISOString(),
        durationMinutes: 60,
        inviteeIds: [giulia.id, luca.id],
        ...fields,
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as MeetingView;
  }

  function guestCodeOf(meeting: MeetingView): string {
    return meeting.guestUrl.split('/m/')[1] ?? '';
  }

  /** A meeting (see schedule) with the organizer and then Giulia in it, each on a socket of their own. */
  async function organizerAndGiuliaIn(): Promise<{
    meeting: MeetingView;
    org: ClientSocket;
    g: ClientSocket;
    info: JoinedInfo;
  }> {
    const meeting = await schedule();
    const org = await sockets.connect(organizer.token);
    joined(await request(org, { type: 'meeting.join', meetingId: meeting.id }));
    const g = await sockets.connect(giulia.token);
    const info = joined(await request(g, { type: 'meeting.join', meetingId: meeting.id }));
    return { meeting, org, g, info };
  }

  async function guestSocket(meeting: MeetingView, name = 'Anna Ospite'): Promise<ClientSocket> {
    const res = await fx.api('POST', `/api/guest/${guestCodeOf(meeting)}/join`, {
      body: { displayName: name },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return sockets.connect((res.body as { guestToken: string }).guestToken);
  }

  describe('scheduling API', () => {
    it('does not let a non-PRO user create a meeting', async () => {
      const res = await fx.api('POST', '/api/meetings', {
        token: basic.token,
        body: { title: 'x', startAt: new Date(clock.now()).toISOString(), durationMinutes: 30 },
      });
      assert.equal(res.status, 403);
      assert.equal((res.body as ErrorBody).error.code, 'FORBIDDEN');
    });

    it('creates a meeting with links, invited count and roles, and lists it for organizer and invitees', async () => {
      const invitee = await sockets.connect(giulia.token);
      const invited = nextEvent(invitee, 'meeting.invited');
      const meeting = await schedule();
      assert.equal(meeting.invitedCount, 2);
      assert.equal(meeting.myRole, 'organizer');
      assert.equal(meeting.state, 'waiting');
      assert.equal(meeting.joinUrl, `${testStack().config.http.publicUrl}/meetings/${meeting.id}`);
      assert.match(meeting.guestUrl, /\/m\/[A-Za-z0-9_-]{24,}$/);
      assert.deepEqual(await invited, { meetingId: meeting.id });

      const mine = (await fx.api('GET', '/api/meetings?scope=upcoming', { token: giulia.token })).body as {
        items: MeetingView[];
      };
      assert.deepEqual(
        mine.items.map((m) => [m.id, m.myRole]),
        [[meeting.id, 'invitee']],
      );
      const past = (await fx.api('GET', '/api/meetings?scope=past', { token: organizer.token })).body as {
        items: MeetingView[];
      };
      assert.equal(past.items.length, 0);
      clock.advance(3 * HOUR);
      const later = (await fx.api('GET', '/api/meetings?scope=past', { token: organizer.token })).body as {
        items: MeetingView[];
      };
      assert.deepEqual(
        later.items.map((m) => [m.id, m.state]),
        [[meeting.id, 'expired']],
      );
      assert.equal((await fx.api('GET', `/api/meetings/${meeting.id}`, { token: basic.token })).status, 403);
    });

    it('allows a link-only meeting with no invitees', async () => {
      const meeting = await schedule({ inviteeIds: [] });
      assert.equal(meeting.invitedCount, 0);
    });

    it('refuses unknown invitees and bad fields with VALIDATION_FAILED', async () => {
      for (const body of [
        { title: '', startAt: new Date(clock.now()).toISOString(), durationMinutes: 30 },
        { title: 'x', startAt: 'tomorrow', durationMinutes: 30 },
        { title: 'x', startAt: new Date(clock.now()).toISOString(), durationMinutes: 0 },
        { title: 'x', startAt: new Date(clock.now()).toISOString(), durationMinutes: 1441 },
        {
          title: 'x',
          startAt: new Date(clock.now()).toISOString(),
          durationMinutes: 30,
          inviteeIds: ['0'.repeat(24)],
        },
      ]) {
        const res = await fx.api('POST', '/api/meetings', { token: organizer.token, body });
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal((res.body as ErrorBody).error.code, 'VALIDATION_FAILED');
      }
    });

    it('serves an iCalendar invitation that an independent parser reads back', async () => {
      const meeting = await schedule();
      const res = await fetch(`${fx.baseUrl}/api/meetings/${meeting.id}/invite.ics`, {
        headers: { Authorization: `Bearer ${giulia.token}` },
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/calendar/);
      const calendar = new ICAL.Component(ICAL.parse(await res.text()) as unknown[]);
      assert.equal(calendar.getFirstPropertyValue('method'), 'REQUEST');
      const vevent = calendar.getFirstSubcomponent('vevent');
      assert.ok(vevent);
      const event = new ICAL.Event(vevent);
      assert.equal(event.uid, `${meeting.id}@opivoice-ucc`);
      assert.equal(vevent.getFirstPropertyValue('sequence'), 0);
      assert.equal(event.summary, 'Riunione settimanale');
      assert.equal(event.startDate.toJSDate().toISOString(), meeting.startAt);
      assert.equal(event.endDate.toJSDate().toISOString(), meeting.endsAt);
      assert.equal(event.startDate.zone?.tzid, 'UTC');
      assert.equal(vevent.getFirstPropertyValue('url'), meeting.joinUrl);
      assert.ok(event.description.includes(meeting.joinUrl));
      const pin = meeting.dialIn?.pin ?? '';
      assert.match(pin, /^\d{9}$/);
      const grouped = `${pin.slice(0, 3)} ${pin.slice(3, 6)} ${pin.slice(6)}`;
      assert.ok(
        event.description.split('\n').includes(`Partecipa per telefono: chiama 8000, PIN ${grouped}`),
        event.description,
      );
      assert.match(String(vevent.getFirstPropertyValue('organizer')), /mailto:mario@example\.test/i);
      const attendees = event.attendees.map((a) => String(a.getFirstValue()).toLowerCase());
      assert.ok(attendees.includes('mailto:giulia@example.test'), attendees.join(','));
      assert.equal(attendees.length, 2);
      const alarm = vevent.getFirstSubcomponent('valarm');
      assert.equal(String(alarm?.getFirstPropertyValue('trigger')), '-PT10M');
    });

    it('mails the invitation, the update (SEQUENCE up) and the cancellation to invitees with email', async () => {
      const giuliaSocket = await sockets.connect(giulia.token);
      const meeting = await schedule();
      const [invite] = await smtp.waitFor(1);
      assert.equal(invite?.subject, 'Invito: Riunione settimanale');
      const grouped = (meeting.dialIn?.pin ?? '').replace(/(\d{3})(?=\d)/g, '$1 ');
      assert.match(
        invite?.text ?? '',
        new RegExp(`^Partecipa per telefono: chiama 8000, PIN ${grouped}$`, 'm'),
      );
      const icsOf = (mail: (typeof smtp.messages)[number] | undefined): ICAL.Component => {
        const part = mail?.attachments.find((a) => a.contentType.startsWith('text/calendar'));
        assert.ok(part, 'no calendar part');
        return new ICAL.Component(ICAL.parse(part.content.toString('utf8')) as unknown[]);
      };
      assert.equal(icsOf(invite).getFirstPropertyValue('method'), 'REQUEST');

      const updated = nextEvent(giuliaSocket, 'meeting.updated');
      const patch = await fx.api('PATCH', `/api/meetings/${meeting.id}`, {
        token: organizer.token,
        body: { title: 'Riunione spostata' },
      });
      assert.equal(patch.status, 200);
      assert.equal((patch.body as MeetingView).sequence, 1);
      await updated;
      const mails = await smtp.waitFor(2);
      assert.equal(icsOf(mails[1]).getFirstSubcomponent('vevent')?.getFirstPropertyValue('sequence'), 1);

      const cancelledEvent = nextEvent(giuliaSocket, 'meeting.cancelled');
      assert.equal(
        (await fx.api('DELETE', `/api/meetings/${meeting.id}`, { token: giulia.token })).status,
        403,
      );
      assert.equal(
        (await fx.api('DELETE', `/api/meetings/${meeting.id}`, { token: organizer.token })).status,
        204,
      );
      await cancelledEvent;
      const all = await smtp.waitFor(3);
      assert.equal(icsOf(all[2]).getFirstPropertyValue('method'), 'CANCEL');
      // A cancellation says nothing of how to join.
      const cancelDescription = String(
        icsOf(all[2]).getFirstSubcomponent('vevent')?.getFirstPropertyValue('description') ?? '',
      );
      assert.doesNotMatch(cancelDescription, /telefono/);
      assert.ok(all.every((m) => (Array.isArray(m.to) ? '' : m.to?.text) === 'giulia@example.test'));

      const s = await sockets.connect(organizer.token);
      assert.equal(
        ackErrorCode(await request(s, { type: 'meeting.join', meetingId: meeting.id })),
        'MEETING_CANCELLED',
      );
    });
  });

  describe('guest links', () => {
    it('shows a guest only the title, organizer, start, state and how to join by phone', async () => {
      const meeting = await schedule();
      assert.ok(meeting.dialIn);
      const res = await fx.api('GET', `/api/guest/${guestCodeOf(meeting)}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, {
        title: 'Riunione settimanale',
        organizerName: 'Rossi Mario',
        startAt: meeting.startAt,
        state: 'waiting',
        dialIn: { extension: '8000', pin: meeting.dialIn.pin },
      });
    });

    it('checks the guest name: trimmed, 1-64 characters, no control characters', async () => {
      const meeting = await schedule();
      const code = guestCodeOf(meeting);
      for (const displayName of ['', '   ', 'x'.repeat(65), 'Anna\u0007', 42]) {
        const res = await fx.api('POST', `/api/guest/${code}/join`, { body: { displayName } });
        assert.equal(res.status, 400, JSON.stringify(displayName));
      }
      const ok = await fx.api('POST', `/api/guest/${code}/join`, { body: { displayName: '  Anna  ' } });
      assert.equal(ok.status, 201);
    });

    it('refuses a rotated guest link, and tokens issued from it', async () => {
      const meeting = await schedule();
      const oldCode = guestCodeOf(meeting);
      const guest = await guestSocket(meeting);
      const rotated = await fx.api('POST', `/api/meetings/${meeting.id}/guest-link/rotate`, {
        token: organizer.token,
      });
      assert.equal(rotated.status, 200);
      assert.notEqual(guestCodeOf(rotated.body as MeetingView), oldCode);
      const old = await fx.api('GET', `/api/guest/${oldCode}`);
      assert.equal(old.status, 404);
      assert.equal((old.body as ErrorBody).error.code, 'MEETING_NOT_FOUND');
      assert.equal(
        ackErrorCode(await request(guest, { type: 'meeting.join', meetingId: meeting.id })),
        'FORBIDDEN',
      );
    });

    it('does not let a guest token join another meeting or call user APIs', async () => {
      const first = await schedule();
      const second = await schedule({ title: 'Altro' });
      const join = await fx.api('POST', `/api/guest/${guestCodeOf(first)}/join`, {
        body: { displayName: 'Anna' },
      });
      const token = (join.body as { guestToken: string }).guestToken;
      const guest = await sockets.connect(token);
      assert.equal(
        ackErrorCode(await request(guest, { type: 'meeting.join', meetingId: second.id })),
        'FORBIDDEN',
      );
      assert.equal((await fx.api('GET', '/api/meetings', { token })).status, 403);
      assert.equal((await fx.api('GET', '/api/directory', { token })).status, 403);
    });
  });

  describe('admission (organizer first)', () => {
    it('lets the organizer start early, before the start time', async () => {
      const meeting = await schedule();
      const s = await sockets.connect(organizer.token);
      const info = joined(await request(s, { type: 'meeting.join', meetingId: meeting.id }));
      assert.equal(info.isOrganizer, true);
      const view = (await fx.api('GET', `/api/meetings/${meeting.id}`, { token: organizer.token }))
        .body as MeetingView;
      assert.equal(view.state, 'live');
    });

    it('makes a guest wait, then admits them the moment the organizer joins', async () => {
      const meeting = await schedule();
      const guest = await guestSocket(meeting);
      const waiting = await request(guest, { type: 'meeting.join', meetingId: meeting.id });
      assert.deepEqual(waiting, { ok: true, data: { state: 'waiting', waitingFor: 'organizer' } });

      const admitted = nextEvent(guest, 'meeting.admitted');
      const org = await sockets.connect(organizer.token);
      const orgInfo = joined(await request(org, { type: 'meeting.join', meetingId: meeting.id }));
      const info = await admitted;
      assert.equal(info.meetingId, meeting.id);
      assert.deepEqual(info.participants.map((p) => p.displayName).sort(), ['Anna Ospite', 'Rossi Mario']);
      // The organizer's answer already lists the guest it let in.
      assert.deepEqual(orgInfo.participants.map((p) => p.displayName).sort(), ['Anna Ospite', 'Rossi Mario']);
      // Someone arriving later is announced to those inside.
      const announced = nextEvent(org, 'meeting.participantJoined');
      joined(
        await request(await sockets.connect(giulia.token), { type: 'meeting.join', meetingId: meeting.id }),
      );
      assert.equal((await announced).displayName, 'Bianchi Giulia');
    });

    it('makes an invitee wait likewise', async () => {
      const meeting = await schedule();
      const invitee = await sockets.connect(giulia.token);
      assert.deepEqual(await request(invitee, { type: 'meeting.join', meetingId: meeting.id }), {
        ok: true,
        data: { state: 'waiting', waitingFor: 'organizer' },
      });
      const admitted = nextEvent(invitee, 'meeting.admitted');
      joined(
        await request(await sockets.connect(organizer.token), {
          type: 'meeting.join',
          meetingId: meeting.id,
        }),
      );
      assert.equal((await admitted).isOrganizer, false);
    });

    it('lets a colleague who is not invited in only with the link', async () => {
      const meeting = await schedule();
      const org = await sockets.connect(organizer.token);
      joined(await request(org, { type: 'meeting.join', meetingId: meeting.id }));
      const other = await sockets.connect(basic.token);
      assert.equal(
        ackErrorCode(await request(other, { type: 'meeting.join', meetingId: meeting.id })),
        'FORBIDDEN',
      );
      joined(
        await request(other, {
          type: 'meeting.join',
          meetingId: meeting.id,
          guestCode: guestCodeOf(meeting),
        }),
      );
    });

    it('leaves no one waiting when two people join at the same instant as the organizer', async () => {
      const meeting = await schedule();
      const [a, b, org] = await Promise.all([
        sockets.connect(giulia.token),
        sockets.connect(luca.token),
        sockets.connect(organizer.token),
      ]);
      const admittedOrJoined = async (s: ClientSocket, ack: Promise<Ack<JoinOutcome>>): Promise<string> => {
        const admitted = nextEvent(s, 'meeting.admitted', 5_000);
        const result = await ack;
        assert.ok(result.ok);
        if (result.data.state === 'joined') {
          admitted.catch(() => undefined);
          return result.data.participantId;
        }
        return (await admitted).participantId;
      };
      const ids = await Promise.all([
        admittedOrJoined(a, request(a, { type: 'meeting.join', meetingId: meeting.id })),
        admittedOrJoined(b, request(b, { type: 'meeting.join', meetingId: meeting.id })),
        admittedOrJoined(org, request(org, { type: 'meeting.join', meetingId: meeting.id })),
      ]);
      assert.equal(new Set(ids).size, 3);
    });

    it('ends the session when the last one leaves; the next arrival waits for the organizer again', async () => {
      const meeting = await schedule();
      const org = await sockets.connect(organizer.token);
      joined(await request(org, { type: 'meeting.join', meetingId: meeting.id }));
      assert.deepEqual(await request(org, { type: 'meeting.leave' }), { ok: true, data: { left: true } });
      const invitee = await sockets.connect(giulia.token);
      assert.deepEqual(await request(invitee, { type: 'meeting.join', meetingId: meeting.id }), {
        ok: true,
        data: { state: 'waiting', waitingFor: 'organizer' },
      });
    });
  });

  describe('expiry and rejoin', () => {
    it('refuses newcomers after the end time with MEETING_EXPIRED while those inside stay', async () => {
      const meeting = await schedule();
      const org = await sockets.connect(organizer.token);
      joined(await request(org, { type: 'meeting.join', meetingId: meeting.id }));
      const inside = await sockets.connect(giulia.token);
      joined(await request(inside, { type: 'meeting.join', meetingId: meeting.id }));

      clock.advance(2 * HOUR + 1);
      const late = await sockets.connect(luca.token);
      assert.equal(
        ackErrorCode(await request(late, { type: 'meeting.join', meetingId: meeting.id })),
        'MEETING_EXPIRED',
      );
      const view = (await fx.api('GET', `/api/meetings/${meeting.id}`, { token: organizer.token }))
        .body as MeetingView;
      assert.equal(view.state, 'live', 'the live session does not expire');
      // Still inside: a repeated join on the same socket is accepted.
      joined(await request(inside, { type: 'meeting.join', meetingId: meeting.id }));
    });

    it('refuses an organizer starting a never-started meeting after its end time', async () => {
      const meeting = await schedule();
      clock.advance(3 * HOUR);
      const org = await sockets.connect(organizer.token);
      assert.equal(
        ackErrorCode(await request(org, { type: 'meeting.join', meetingId: meeting.id })),
        'MEETING_EXPIRED',
      );
    });

    it('lets a dropped participant rejoin within the grace window, but not after it', async () => {
      const meeting = await schedule();
      const org = await sockets.connect(organizer.token);
      joined(await request(org, { type: 'meeting.join', meetingId: meeting.id }));
      const first = await sockets.connect(giulia.token);
      const info = joined(await request(first, { type: 'meeting.join', meetingId: meeting.id }));

      clock.advance(2 * HOUR + 1); // past the end
      const reconnecting = nextEvent(org, 'meeting.participantUpdated');
      first.disconnect();
      assert.equal((await reconnecting).connection, 'reconnecting');

      clock.advance(GRACE_MS - 1_000);
      const second = await sockets.connect(giulia.token);
      const without = await request(second, { type: 'meeting.join', meetingId: meeting.id });
      assert.equal(ackErrorCode(without), 'MEETING_EXPIRED', 'a rejoin needs the credential');
      const back = joined(
        await request(second, { type: 'meeting.join', meetingId: meeting.id, rejoinToken: info.rejoinToken }),
      );
      assert.equal(back.participantId, info.participantId, 'the same participant, not a new one');
      assert.equal(back.participants.length, 2);

      // The server has taken the drop (and started its grace window) once the organizer hears of it.
      const droppedAgain = nextEvent(org, 'meeting.participantUpdated');
      second.disconnect();
      assert.equal((await droppedAgain).connection, 'reconnecting');
      clock.advance(GRACE_MS + 1_000);
      const third = await sockets.connect(giulia.token);
      assert.equal(
        ackErrorCode(
          await request(third, {
            type: 'meeting.join',
            meetingId: meeting.id,
            rejoinToken: back.rejoinToken,
          }),
        ),
        'MEETING_EXPIRED',
      );
    });

    it('binds the rejoin credential to its participant', async () => {
      const { meeting, info } = await organizerAndGiuliaIn();
      clock.advance(2 * HOUR + 1);
      const l = await sockets.connect(luca.token);
      const stolen = await request(l, {
        type: 'meeting.join',
        meetingId: meeting.id,
        rejoinToken: info.rejoinToken,
      });
      assert.equal(ackErrorCode(stolen), 'MEETING_EXPIRED');
    });
  });

  describe('reconnecting participants', () => {
    /** Every participantJoined and participantLeft a socket hears, in order. */
    function arrivalsAndDepartures(s: ClientSocket): string[] {
      const seen: string[] = [];
      s.on('meeting.participantJoined', (p) => seen.push(`joined ${p.displayName}`));
      s.on('meeting.participantLeft', (p) => seen.push(`left ${p.participantId}`));
      return seen;
    }

    /** Polls `check` until it holds (the server acts on a disconnect or a timer on its own time). */
    const until = (check: () => Promise<boolean>, what: string): Promise<true> =>
      eventually(what, 2_000, async () => ((await check()) ? true : undefined), 20);

    it('shows a dropped participant as reconnecting, connected again on return, and gone only when the grace window ends', async () => {
      const meeting = await schedule();
      const org = await sockets.connect(organizer.token);
      joined(await request(org, { type: 'meeting.join', meetingId: meeting.id }));
      const first = await sockets.connect(giulia.token);
      const info = joined(await request(first, { type: 'meeting.join', meetingId: meeting.id }));
      assert.ok(info.participants.every((p) => p.connection === 'connected'));
      const seen = arrivalsAndDepartures(org);

      const dropped = nextEvent(org, 'meeting.participantUpdated');
      first.disconnect();
      assert.deepEqual(await dropped, {
        participantId: info.participantId,
        displayName: 'Bianchi Giulia',
        kind: 'user',
        isOrganizer: false,
        handRaised: false,
        connection: 'reconnecting',
      });

      // Someone arriving meanwhile finds her in the list, marked as reconnecting.
      const l = await sockets.connect(luca.token);
      const lucaInfo = joined(await request(l, { type: 'meeting.join', meetingId: meeting.id }));
      assert.deepEqual(lucaInfo.participants.map((p) => [p.displayName, p.connection]).sort(), [
        ['Bianchi Giulia', 'reconnecting'],
        ['Colombo Luca', 'connected'],
        ['Rossi Mario', 'connected'],
      ]);

      clock.advance(GRACE_MS - 1_000);
      const back = nextEvent(org, 'meeting.participantUpdated');
      const second = await sockets.connect(giulia.token);
      const again = joined(
        await request(second, { type: 'meeting.join', meetingId: meeting.id, rejoinToken: info.rejoinToken }),
      );
      assert.equal(again.participantId, info.participantId);
      assert.deepEqual(await back, { ...(await dropped), connection: 'connected' });
      assert.ok(again.participants.every((p) => p.connection === 'connected'));
      await roundTrip(org);
      // Luca's arrival only: her return is not a second arrival, and she never left.
      assert.deepEqual(seen, ['joined Colombo Luca']);

      // An explicit leave is announced at once, as before.
      const lucaLeft = nextEvent(org, 'meeting.participantLeft');
      await request(l, { type: 'meeting.leave' });
      assert.deepEqual(await lucaLeft, { participantId: lucaInfo.participantId });

      // Dropped again, and not back in time: she stays until her (new) window ends, then she is gone.
      const droppedAgain = nextEvent(org, 'meeting.participantUpdated');
      second.disconnect();
      assert.equal((await droppedAgain).connection, 'reconnecting');
      clock.advance(GRACE_MS - 1_000);
      await roundTrip(org);
      assert.deepEqual(seen, ['joined Colombo Luca', `left ${lucaInfo.participantId}`]);
      const gone = nextEvent(org, 'meeting.participantLeft');
      clock.advance(2_000);
      assert.deepEqual(await gone, { participantId: info.participantId });

      // Coming back now (before the end time, so no credential is needed) is an arrival again.
      const arrived = nextEvent(org, 'meeting.participantJoined');
      const third = await sockets.connect(giulia.token);
      const late = joined(await request(third, { type: 'meeting.join', meetingId: meeting.id }));
      assert.equal(late.participantId, info.participantId);
      assert.equal((await arrived).connection, 'connected');
    });

    it('keeps a raised hand up through a blip, and lowers it when the grace window ends', async () => {
      const { meeting, org, g, info } = await organizerAndGiuliaIn();
      const up = nextEvent(org, 'meeting.participantUpdated');
      await request(g, { type: 'meeting.raiseHand', raised: true });
      await up;

      const dropped = nextEvent(org, 'meeting.participantUpdated');
      g.disconnect();
      assert.deepEqual([(await dropped).connection, (await dropped).handRaised], ['reconnecting', true]);
      const gone = nextEvent(org, 'meeting.participantLeft');
      clock.advance(GRACE_MS + 1);
      await gone;
      const back = await sockets.connect(giulia.token);
      const again = joined(await request(back, { type: 'meeting.join', meetingId: meeting.id }));
      assert.equal(again.participants.find((p) => p.participantId === info.participantId)?.handRaised, false);
    });

    it('counts an organizer who dropped as present: the session goes on through the grace window, then ends', async () => {
      const meeting = await schedule();
      const org = await sockets.connect(organizer.token);
      const orgInfo = joined(await request(org, { type: 'meeting.join', meetingId: meeting.id }));
      org.disconnect();
      await until(
        async () =>
          (await meetingModel(fx.db.connection).findById(meeting.id))?.participants[0]?.dropped === true,
        'the organizer marked as dropped',
      );
      const stateOf = async (): Promise<string> =>
        ((await fx.api('GET', `/api/meetings/${meeting.id}`, { token: organizer.token })).body as MeetingView)
          .state;
      assert.equal(await stateOf(), 'live');

      // An invitee arriving meanwhile comes straight in, and sees the organizer reconnecting.
      const g = await sockets.connect(giulia.token);
      const info = joined(await request(g, { type: 'meeting.join', meetingId: meeting.id }));
      assert.deepEqual(
        info.participants.find((p) => p.participantId === orgInfo.participantId),
        {
          participantId: orgInfo.participantId,
          displayName: 'Rossi Mario',
          kind: 'user',
          isOrganizer: true,
          handRaised: false,
          connection: 'reconnecting',
        },
      );
      // With the organizer still reconnecting, the last one to leave does not end the session...
      await request(g, { type: 'meeting.leave' });
      assert.equal(await stateOf(), 'live');
      // ...the end of the organizer's grace window does.
      clock.advance(GRACE_MS + 1);
      await until(async () => (await stateOf()) === 'waiting', 'the session ended');
      const l = await sockets.connect(luca.token);
      assert.deepEqual(await request(l, { type: 'meeting.join', meetingId: meeting.id }), {
        ok: true,
        data: { state: 'waiting', waitingFor: 'organizer' },
      });
    });

    it('lets the organizer remove someone reconnecting: gone at once, not again when the window ends', async () => {
      const { org, g, info } = await organizerAndGiuliaIn();
      const dropped = nextEvent(org, 'meeting.participantUpdated');
      g.disconnect();
      await dropped;
      const seen = arrivalsAndDepartures(org);
      assert.deepEqual(
        await request(org, { type: 'meeting.removeParticipant', participantId: info.participantId }),
        { ok: true, data: { removed: true } },
      );
      await roundTrip(org);
      assert.deepEqual(seen, [`left ${info.participantId}`]);
      clock.advance(GRACE_MS + 1);
      // The window's end, had it still run, is a turn of the meeting's queue, taken now (the clock fires it at
      // once); a raised hand takes the next turn, so its answer comes after anything that turn told.
      ackData(await request(org, { type: 'meeting.raiseHand', raised: true }));
      assert.deepEqual(seen, [`left ${info.participantId}`]);
    });
  });

  describe('raised hands', () => {
    it('shows everyone in the meeting who raised a hand, and when it goes down', async () => {
      const { meeting, org, g, info } = await organizerAndGiuliaIn();

      const up = nextEvent(org, 'meeting.participantUpdated');
      assert.deepEqual(await request(g, { type: 'meeting.raiseHand', raised: true }), {
        ok: true,
        data: { raised: true },
      });
      const raised = await up;
      assert.equal(raised.participantId, info.participantId);
      assert.equal(raised.handRaised, true);

      // A newcomer sees the raised hand in the participant list.
      const l = await sockets.connect(luca.token);
      const lucaInfo = joined(await request(l, { type: 'meeting.join', meetingId: meeting.id }));
      assert.equal(
        lucaInfo.participants.find((p) => p.participantId === info.participantId)?.handRaised,
        true,
      );

      const down = nextEvent(l, 'meeting.participantUpdated');
      await request(g, { type: 'meeting.raiseHand', raised: false });
      assert.equal((await down).handRaised, false);
      const outsider = await sockets.connect(basic.token);
      assert.equal(
        ackErrorCode(await request(outsider, { type: 'meeting.raiseHand', raised: true })),
        'FORBIDDEN',
      );
    });
  });

  describe('moderation', () => {
    it('keeps a removed participant out, even with a fresh token', async () => {
      const { meeting, org, g, info } = await organizerAndGiuliaIn();

      assert.equal(
        ackErrorCode(
          await request(g, { type: 'meeting.removeParticipant', participantId: info.participantId }),
        ),
        'FORBIDDEN',
      );
      const removed = nextEvent(g, 'meeting.removed');
      assert.deepEqual(
        await request(org, { type: 'meeting.removeParticipant', participantId: info.participantId }),
        {
          ok: true,
          data: { removed: true },
        },
      );
      assert.deepEqual(await removed, { reason: 'removed' });

      const relogin = await fx.api('POST', '/api/auth/login', {
        body: { extension: giulia.extension, password: giulia.password },
      });
      const fresh = await sockets.connect((relogin.body as { accessToken: string }).accessToken);
      assert.equal(
        ackErrorCode(await request(fresh, { type: 'meeting.join', meetingId: meeting.id })),
        'REMOVED_FROM_MEETING',
      );
    });

    it('ends the meeting for everyone; later joins get MEETING_ENDED', async () => {
      const meeting = await schedule();
      const org = await sockets.connect(organizer.token);
      joined(await request(org, { type: 'meeting.join', meetingId: meeting.id }));
      const g = await sockets.connect(giulia.token);
      joined(await request(g, { type: 'meeting.join', meetingId: meeting.id }));
      const out = nextEvent(g, 'meeting.removed');
      assert.deepEqual(await request(org, { type: 'meeting.end' }), { ok: true, data: { ended: true } });
      assert.deepEqual(await out, { reason: 'ended' });
      const l = await sockets.connect(luca.token);
      assert.equal(
        ackErrorCode(await request(l, { type: 'meeting.join', meetingId: meeting.id })),
        'MEETING_ENDED',
      );
      const view = await fx.api('GET', `/api/guest/${guestCodeOf(meeting)}`);
      assert.equal((view.body as GuestMeetingView).state, 'ended');
    });
  });

  describe('robustness', () => {
    it('answers malformed requests with VALIDATION_FAILED and keeps serving', async () => {
      const s = await sockets.connect(giulia.token);
      for (const payload of [
        null,
        42,
        'join',
        {},
        { type: 'nope' },
        { type: 'meeting.join' },
        { type: 'meeting.join', meetingId: 'xyz' },
        { type: 'meeting.join', meetingId: '0'.repeat(24), extra: true },
        { type: 'meeting.removeParticipant', participantId: 'not-a-uuid' },
      ]) {
        const ack = (await s.timeout(5_000).emitWithAck('request', payload)) as Ack<unknown>;
        assert.equal(ackErrorCode(ack), 'VALIDATION_FAILED', JSON.stringify(payload));
      }
      assert.equal(
        ackErrorCode(await request(s, { type: 'meeting.join', meetingId: '0'.repeat(24) })),
        'MEETING_NOT_FOUND',
      );
      assert.ok((await request(s, { type: 'hello', client: 'still-alive' })).ok);
    });

    it("loses neither the organizer's edits nor the admissions when both happen at once", async () => {
      const meeting = await schedule();
      const org = await sockets.connect(organizer.token);
      joined(await request(org, { type: 'meeting.join', meetingId: meeting.id }));
      // Edits of the schedule race people joining, raising hands and leaving: all write the same document.
      const edits = Array.from({ length: 8 }, (_, i) =>
        fx.api('PATCH', `/api/meetings/${meeting.id}`, {
          token: organizer.token,
          body: i === 7 ? { title: 'Titolo finale', description: 'ultima' } : { description: `bozza ${i}` },
        }),
      );
      const people = await Promise.all([giulia, luca, basic].map((u) => sockets.connect(u.token)));
      const joins = people.map(async (s, i) => {
        const ack = await request(s, {
          type: 'meeting.join',
          meetingId: meeting.id,
          ...(i === 2 ? { guestCode: guestCodeOf(meeting) } : {}),
        });
        joined(ack);
        await request(s, { type: 'meeting.raiseHand', raised: true });
      });
      const [edited] = await Promise.all([Promise.all(edits), Promise.all(joins)]);
      for (const res of edited) assert.equal(res.status, 200, JSON.stringify(res.body));

      const stored = await fx.db.connection.collection('meetings').findOne({});
      assert.ok(stored);
      assert.equal(stored.title, 'Titolo finale');
      assert.equal(stored.sequence, meeting.sequence + 8, 'every edit counted');
      const inside = (stored.participants as { leftAt?: Date; handRaised?: boolean }[]).filter(
        (p) => !p.leftAt,
      );
      assert.equal(inside.length, 4, 'the organizer and the three who joined');
      assert.equal(inside.filter((p) => p.handRaised).length, 3);
    });

    it('keeps the session, who was in and the denylist across a server restart', async () => {
      const { meeting, org, info } = await organizerAndGiuliaIn();
      const l = await sockets.connect(luca.token);
      const lucaInfo = joined(await request(l, { type: 'meeting.join', meetingId: meeting.id }));
      await request(org, { type: 'meeting.removeParticipant', participantId: lucaInfo.participantId });

      // A second server on the same database stands in for the restarted process, shortly before the end.
      clock.advance(2 * HOUR - 30_000);
      const restarted = await startServer({ clock, reuseDb: fx.db });
      try {
        clock.advance(60_000); // past the end, within the grace window the restart granted
        const late = await new SocketPool(restarted.baseUrl).connect(basic.token);
        assert.equal(
          ackErrorCode(
            await request(late, {
              type: 'meeting.join',
              meetingId: meeting.id,
              guestCode: guestCodeOf(meeting),
            }),
          ),
          'MEETING_EXPIRED',
        );
        late.disconnect();
        const again = new SocketPool(restarted.baseUrl);
        try {
          const g2 = await again.connect(giulia.token);
          const back = joined(
            await request(g2, { type: 'meeting.join', meetingId: meeting.id, rejoinToken: info.rejoinToken }),
          );
          assert.equal(back.participantId, info.participantId);
          // The organizer has not reconnected to this process yet: still in, as reconnecting.
          assert.deepEqual(back.participants.map((p) => [p.displayName, p.connection]).sort(), [
            ['Bianchi Giulia', 'connected'],
            ['Rossi Mario', 'reconnecting'],
          ]);
          const l2 = await again.connect(luca.token);
          assert.equal(
            ackErrorCode(await request(l2, { type: 'meeting.join', meetingId: meeting.id })),
            'REMOVED_FROM_MEETING',
          );
        } finally {
          again.closeAll();
        }
      } finally {
        await restarted.close();
      }
    });
  });
});

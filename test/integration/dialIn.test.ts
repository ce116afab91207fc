import assert from 'node:assert/strict';
import ICAL from 'ical.js';
import { ManualClock } from '../../server/clock.js';
import { userModel } from '../../server/directory/User.js';
import { AppError } from '../../server/errors.js';
import { DialInPins } from '../../server/meetings/DialInPins.js';
import { meetingModel } from '../../server/meetings/Meeting.js';
import { KeyedSerial } from '../../server/util/KeyedSerial.js';
import { RateLimits } from '../../server/util/RateLimits.js';
import type { GuestMeetingView, MeetingView } from '../../shared/schemas/meetings.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';
import { testStack } from '../harness/testStack.js';

const HOUR = 3_600_000;

/**
 * The dial-in PIN through the server: what organizers, invitees and guests are shown, rotation with the guest
 * link, and meetings from before PINs. A PIN is resolved as the phone side will (DialInPins on the same data).
 */
describe('meetings by phone: the dial-in PIN', () => {
  let fx: ServerFixture;
  let clock: ManualClock;
  let organizer: TestUser;
  let giulia: TestUser;
  let pins: DialInPins;

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 11, 3, 9, 0, 0));
    fx = await startServer({ clock });
    organizer = await fx.createUser({ firstName: 'Mario', lastName: 'Rossi', plan: 'pro' });
    giulia = await fx.createUser({ firstName: 'Giulia', lastName: 'Bianchi' });
    pins = await DialInPins.create({
      connection: fx.db.connection,
      meetings: meetingModel(fx.db.connection),
      users: userModel(fx.db.connection),
      writes: new KeyedSerial(),
      clock,
      limits: { attemptsPerCaller: 100, attemptsGlobal: 100, windowMs: HOUR },
      counters: RateLimits.inMemory(),
      logger: testStack().logger,
    });
  });

  afterEach(async () => {
    await fx.close();
  });

  async function schedule(title = 'Riunione settimanale'): Promise<MeetingView> {
    const res = await fx.api('POST', '/api/meetings', {
      token: organizer.token,
      body: {
        title,
        startAt: new Date(clock.now() + HOUR).toISOString(),
        durationMinutes: 60,
        inviteeIds: [giulia.id],
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as MeetingView;
  }

  const guestCodeOf = (m: MeetingView): string => m.guestUrl.split('/m/')[1] ?? '';

  async function resolvedCode(pin: string): Promise<string> {
    try {
      return (await pins.resolve(pin, '201')).meetingId;
    } catch (err) {
      assert.ok(err instanceof AppError, String(err));
      return err.code;
    }
  }

  async function icsDescription(meetingId: string): Promise<string> {
    const res = await fetch(`${fx.baseUrl}/api/meetings/${meetingId}/invite.ics`, {
      headers: { Authorization: `Bearer ${giulia.token}` },
    });
    assert.equal(res.status, 200);
    const calendar = new ICAL.Component(ICAL.parse(await res.text()) as unknown[]);
    return String(calendar.getFirstSubcomponent('vevent')?.getFirstPropertyValue('description') ?? '');
  }

  it('gives each meeting its own PIN, shown with the extension to organizer, invitees and guests', async () => {
    const first = await schedule('Prima');
    const second = await schedule('Seconda');
    assert.equal(first.dialIn?.extension, '8000');
    assert.match(first.dialIn?.pin ?? '', /^\d{9}$/);
    assert.notEqual(first.dialIn?.pin, second.dialIn?.pin);

    const asInvitee = await fx.api('GET', `/api/meetings/${first.id}`, { token: giulia.token });
    assert.deepEqual((asInvitee.body as MeetingView).dialIn, first.dialIn);
    const list = await fx.api('GET', '/api/meetings', { token: giulia.token });
    assert.deepEqual(
      (list.body as { items: MeetingView[] }).items.map((m) => [m.title, m.dialIn]),
      [
        ['Prima', first.dialIn],
        ['Seconda', second.dialIn],
      ],
    );
    const guest = await fx.api('GET', `/api/guest/${guestCodeOf(first)}`);
    assert.deepEqual((guest.body as GuestMeetingView).dialIn, first.dialIn);

    assert.equal(await resolvedCode(first.dialIn?.pin ?? ''), first.id);
    assert.equal(await resolvedCode(second.dialIn?.pin ?? ''), second.id);
  });

  it('rotates the PIN with the guest link: the old one opens nothing, the invitation says the new one', async () => {
    const meeting = await schedule();
    const oldPin = meeting.dialIn?.pin ?? '';
    const rotated = await fx.api('POST', `/api/meetings/${meeting.id}/guest-link/rotate`, {
      token: organizer.token,
    });
    assert.equal(rotated.status, 200);
    const newPin = (rotated.body as MeetingView).dialIn?.pin ?? '';
    assert.match(newPin, /^\d{9}$/);
    assert.notEqual(newPin, oldPin);
    assert.equal(await resolvedCode(oldPin), 'PIN_UNKNOWN');
    assert.equal(await resolvedCode(newPin), meeting.id);

    const description = await icsDescription(meeting.id);
    const grouped = `${newPin.slice(0, 3)} ${newPin.slice(3, 6)} ${newPin.slice(6)}`;
    assert.ok(description.includes(`Partecipa per telefono: chiama 8000, PIN ${grouped}`), description);
    assert.ok(!description.includes(oldPin.slice(0, 3) + ' ' + oldPin.slice(3, 6) + ' ' + oldPin.slice(6)));
    const guest = await fx.api('GET', `/api/guest/${guestCodeOf(rotated.body as MeetingView)}`);
    assert.equal((guest.body as GuestMeetingView).dialIn?.pin, newPin);
  });

  it('shows guests no PIN once the meeting is cancelled or over, and a caller hears why', async () => {
    const cancelled = await schedule('Annullata');
    const over = await schedule('Finita');
    assert.equal(
      (await fx.api('DELETE', `/api/meetings/${cancelled.id}`, { token: organizer.token })).status,
      204,
    );
    const cancelledView = (await fx.api('GET', `/api/guest/${guestCodeOf(cancelled)}`))
      .body as GuestMeetingView;
    assert.equal(cancelledView.state, 'cancelled');
    assert.equal(cancelledView.dialIn, undefined);
    assert.equal(await resolvedCode(cancelled.dialIn?.pin ?? ''), 'MEETING_CANCELLED');

    clock.advance(2 * HOUR);
    const overView = (await fx.api('GET', `/api/guest/${guestCodeOf(over)}`)).body as GuestMeetingView;
    assert.equal(overView.state, 'expired');
    assert.equal(overView.dialIn, undefined);
    assert.equal(await resolvedCode(over.dialIn?.pin ?? ''), 'MEETING_EXPIRED');
  });

  it('gives a meeting saved before PINs existed one when the server starts', async () => {
    const meeting = await schedule();
    // As a meeting of an older version was stored: no PIN at all.
    await meetingModel(fx.db.connection).updateOne({ _id: meeting.id }, { $unset: { dialInPin: 1 } });
    const before = await fx.api('GET', `/api/meetings/${meeting.id}`, { token: organizer.token });
    assert.equal((before.body as MeetingView).dialIn, undefined);

    const restarted = await startServer({ clock, reuseDb: fx.db });
    try {
      const after = await restarted.api('GET', `/api/meetings/${meeting.id}`, { token: organizer.token });
      const dialIn = (after.body as MeetingView).dialIn;
      assert.equal(dialIn?.extension, '8000');
      assert.match(dialIn?.pin ?? '', /^\d{9}$/);
      assert.equal(await resolvedCode(dialIn?.pin ?? ''), meeting.id);
    } finally {
      await restarted.close();
    }
  });
});

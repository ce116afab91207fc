import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Types } from 'mongoose';
import { ManualClock } from '../../server/clock.js';
import { Database } from '../../server/db/Database.js';
import { userModel, type UserModel } from '../../server/directory/User.js';
import { AppError } from '../../server/errors.js';
import { DialInPins, type DialInPinsOptions } from '../../server/meetings/DialInPins.js';
import { meetingModel, type MeetingModel } from '../../server/meetings/Meeting.js';
import { KeyedSerial } from '../../server/util/KeyedSerial.js';
import { RateLimits } from '../../server/util/RateLimits.js';
import { groupPinDigits, isDialInPinFormat } from '../../shared/dialIn.js';
import { connectTestDatabase, dropTestDatabase, testStack } from '../harness/testStack.js';

const HOUR = 3_600_000;

/** The refusal's code, or a failure naming what else came back (a resolve must never throw anything else). */
async function codeOf(attempt: Promise<unknown>): Promise<string> {
  try {
    await attempt;
  } catch (err) {
    assert.ok(err instanceof AppError, `not an AppError: ${String(err)}`);
    assert.ok(err.status < 500, `${err.code} is a ${err.status}`);
    return err.code;
  }
  return 'resolved';
}

/** DialInPins on its own (no HTTP), against the suite's FerretDB, with a clock moved by hand. */
describe('dial-in PINs', () => {
  let db: Database;
  let meetings: MeetingModel;
  let users: UserModel;
  let clock: ManualClock;
  let organizerId: string;

  beforeEach(async () => {
    db = await connectTestDatabase();
    meetings = meetingModel(db.connection);
    users = userModel(db.connection);
    await Promise.all([meetings.init(), users.init()]);
    clock = new ManualClock(Date.UTC(2026, 11, 3, 9, 0, 0));
    const organizer = await users.create({
      extension: '200',
      firstName: 'Mario',
      lastName: 'Rossi',
      passwordHash: 'x',
      plan: 'pro',
    });
    organizerId = String(organizer._id);
  });

  afterEach(async () => {
    await dropTestDatabase(db);
  });

  function pinsWith(options: Partial<DialInPinsOptions> = {}): Promise<DialInPins> {
    return DialInPins.create({
      connection: db.connection,
      meetings,
      users,
      writes: new KeyedSerial(),
      clock,
      limits: { attemptsPerCaller: 5, attemptsGlobal: 50, windowMs: HOUR },
      counters: RateLimits.inMemory(),
      logger: testStack().logger,
      ...options,
    });
  }

  /** A meeting starting in an hour for an hour, holding a PIN claimed as MeetingService does. */
  async function meetingWithPin(pins: DialInPins, title = 'Riunione'): Promise<{ id: string; pin: string }> {
    const _id = new Types.ObjectId();
    const pin = await pins.claim(String(_id));
    await meetings.create({
      _id,
      title,
      startAt: new Date(clock.now() + HOUR),
      durationMinutes: 60,
      organizerId,
      guestCode: randomUUID().replaceAll('-', ''),
      dialInPin: pin,
    });
    return { id: String(_id), pin };
  }

  it('hands out 9 random digits, a different PIN to each meeting', async () => {
    const pins = await pinsWith();
    const made = await Promise.all(
      Array.from({ length: 40 }, () => pins.claim(String(new Types.ObjectId()))),
    );
    for (const pin of made) assert.match(pin, /^\d{9}$/);
    assert.equal(new Set(made).size, made.length);
  });

  it('writes a PIN in groups of three and knows its form', () => {
    assert.equal(groupPinDigits('123456789'), '123 456 789');
    assert.equal(groupPinDigits('012345678901'), '012 345 678 901');
    assert.equal(isDialInPinFormat('000000000'), true);
    for (const bad of ['12345678', '1234567890123', '12345678a', '１２３４５６７８９', 42, undefined]) {
      assert.equal(isDialInPinFormat(bad), false, String(bad));
    }
  });

  it('tries another PIN when the one drawn is held, so two meetings never share one', async () => {
    const drawn = ['111111111', '111111111', '111111111', '222222222'];
    const pins = await pinsWith({ randomPin: () => drawn.shift() ?? '999999999' });
    const first = await meetingWithPin(pins, 'Prima');
    const second = await meetingWithPin(pins, 'Seconda');
    assert.equal(first.pin, '111111111');
    assert.equal(second.pin, '222222222');
    assert.equal((await pins.resolve('111111111', '201')).title, 'Prima');
    assert.equal((await pins.resolve('222222222', '201')).title, 'Seconda');
  });

  it('gives a PIN drawn by many meetings at once to exactly one of them', async () => {
    // The first ten draws (one per claim, all in flight together) are the same PIN; retries draw distinct ones.
    let draws = 0;
    const pins = await pinsWith({
      randomPin: () => (++draws <= 10 ? '333333333' : String(500_000_000 + draws)),
    });
    const ids = Array.from({ length: 10 }, () => String(new Types.ObjectId()));
    const claimed = await Promise.all(ids.map((id) => pins.claim(id)));
    assert.equal(claimed.filter((p) => p === '333333333').length, 1, claimed.join(','));
    assert.equal(new Set(claimed).size, 10);
  });

  it('fails plainly, not forever, when every PIN drawn is held', async () => {
    const pins = await pinsWith({ randomPin: () => '444444444' });
    await pins.claim(String(new Types.ObjectId()));
    await assert.rejects(pins.claim(String(new Types.ObjectId())), /no free dial-in PIN/);
  });

  it('resolves a PIN to its meeting and organizer', async () => {
    const pins = await pinsWith();
    const { id, pin } = await meetingWithPin(pins, 'Riunione settimanale');
    assert.deepEqual(await pins.resolve(pin, '+390391234567'), {
      meetingId: id,
      title: 'Riunione settimanale',
      organizer: { id: organizerId, displayName: 'Rossi Mario', extension: '200' },
    });
  });

  it('answers garbage with PIN_INVALID and a PIN nobody holds with PIN_UNKNOWN, never with a crash', async () => {
    const pins = await pinsWith({ limits: { attemptsPerCaller: 100, attemptsGlobal: 100, windowMs: HOUR } });
    const garbage: unknown[] = [
      '',
      '*#',
      '12345678',
      '1234567890123',
      '9'.repeat(100_000),
      '12345678a',
      ' 123456789',
      '123 456 789',
      '１２３４５６７８９',
      '123456789\n',
      null,
      undefined,
      123456789,
      { $gt: '' },
      ['123456789'],
    ];
    for (const pin of garbage) {
      assert.equal(await codeOf(pins.resolve(pin, '201')), 'PIN_INVALID', JSON.stringify(pin)?.slice(0, 40));
    }
    assert.equal(await codeOf(pins.resolve('000000000', '201')), 'PIN_UNKNOWN');
    // A caller number of any shape is only a key.
    for (const caller of [undefined, '', 'x'.repeat(10_000), { toString: null }]) {
      assert.equal(await codeOf(pins.resolve('000000000', caller)), 'PIN_UNKNOWN');
    }
  });

  it('opens nothing with a PIN given up, even if a claim of it was left behind', async () => {
    const pins = await pinsWith();
    const { id, pin } = await meetingWithPin(pins);
    await pins.release(id, pin);
    assert.equal(await codeOf(pins.resolve(pin, '201')), 'PIN_UNKNOWN');
    // A claim whose meeting has another PIN now (a rotation cut short) is no way in either.
    const fresh = await pins.claim(id);
    await meetings.updateOne({ _id: id }, { $set: { dialInPin: fresh } });
    const stale = await pins.claim(id);
    assert.equal(await codeOf(pins.resolve(stale, '201')), 'PIN_UNKNOWN');
    assert.equal((await pins.resolve(fresh, '201')).meetingId, id);
    // Releasing checks the holder: another meeting's claim on a PIN stays.
    await pins.release(String(new Types.ObjectId()), fresh);
    assert.equal((await pins.resolve(fresh, '201')).meetingId, id);
  });

  it('says a meeting is cancelled, ended by the organizer, or past its end time by the injected clock', async () => {
    const pins = await pinsWith();
    const cancelled = await meetingWithPin(pins);
    await meetings.updateOne({ _id: cancelled.id }, { $set: { status: 'cancelled' } });
    assert.equal(await codeOf(pins.resolve(cancelled.pin, '201')), 'MEETING_CANCELLED');
    const ended = await meetingWithPin(pins);
    await meetings.updateOne({ _id: ended.id }, { $set: { status: 'ended' } });
    assert.equal(await codeOf(pins.resolve(ended.pin, '201')), 'MEETING_ENDED');

    const open = await meetingWithPin(pins);
    clock.advance(2 * HOUR - 1);
    assert.equal(await codeOf(pins.resolve(open.pin, '201')), 'resolved');
    clock.advance(1);
    assert.equal(await codeOf(pins.resolve(open.pin, '201')), 'MEETING_EXPIRED');
    // A session still going after the end time: callers still find it (the gate decides who gets in).
    await meetings.updateOne({ _id: open.id }, { $set: { live: true } });
    assert.equal(await codeOf(pins.resolve(open.pin, '201')), 'resolved');
  });

  it('limits wrong PINs per caller number; a right PIN costs nothing, and other callers go on', async () => {
    const pins = await pinsWith({ limits: { attemptsPerCaller: 3, attemptsGlobal: 50, windowMs: HOUR } });
    const { pin } = await meetingWithPin(pins);
    for (let i = 0; i < 10; i++) assert.equal(await codeOf(pins.resolve(pin, '201')), 'resolved');
    assert.equal(await codeOf(pins.resolve('000000001', '201')), 'PIN_UNKNOWN');
    assert.equal(await codeOf(pins.resolve('garbage', '201')), 'PIN_INVALID');
    assert.equal(await codeOf(pins.resolve('000000002', '201')), 'PIN_UNKNOWN');
    // Out of wrong guesses: refused before any lookup, even with the right PIN.
    assert.equal(await codeOf(pins.resolve(pin, '201')), 'RATE_LIMITED');
    assert.equal(await codeOf(pins.resolve('000000003', '201')), 'RATE_LIMITED');
    assert.equal(await codeOf(pins.resolve(pin, '202')), 'resolved');
    // Parallel guesses are counted before they are checked: no more than the budget gets through.
    const burst = await Promise.all(
      Array.from({ length: 10 }, (_, i) => codeOf(pins.resolve(`10000000${i}`, '203'))),
    );
    assert.equal(burst.filter((c) => c === 'PIN_UNKNOWN').length, 3, burst.join(','));
    assert.equal(burst.filter((c) => c === 'RATE_LIMITED').length, 7, burst.join(','));
  });

  it('limits wrong PINs over all callers together, whatever numbers they call from', async () => {
    const pins = await pinsWith({ limits: { attemptsPerCaller: 3, attemptsGlobal: 5, windowMs: HOUR } });
    const { pin } = await meetingWithPin(pins);
    for (let i = 0; i < 5; i++) {
      assert.equal(await codeOf(pins.resolve('000000000', `+39333000000${i}`)), 'PIN_UNKNOWN');
    }
    assert.equal(await codeOf(pins.resolve('000000000', '+393330000099')), 'RATE_LIMITED');
    assert.equal(await codeOf(pins.resolve(pin, '+393330000098')), 'RATE_LIMITED');
  });

  it('gives meetings saved before PINs existed one each at start-up, and leaves them alone after', async () => {
    const old = await Promise.all(
      ['A', 'B', 'C'].map((title) =>
        meetings.create({
          title,
          startAt: new Date(clock.now() + HOUR),
          durationMinutes: 30,
          organizerId,
          guestCode: randomUUID().replaceAll('-', ''),
        }),
      ),
    );
    assert.equal(await meetings.countDocuments({ dialInPin: { $exists: true } }), 0);
    const pins = await pinsWith();
    const given = await meetings.find({}, { dialInPin: 1, title: 1 }).lean();
    const byTitle = new Map(given.map((m) => [m.title, m.dialInPin]));
    assert.equal(new Set(byTitle.values()).size, 3);
    for (const m of old) {
      const pin = byTitle.get(m.title);
      assert.ok(pin && isDialInPinFormat(pin), m.title);
      assert.equal((await pins.resolve(pin, '201')).meetingId, String(m._id));
    }
    await pinsWith();
    const again = await meetings.find({}, { dialInPin: 1, title: 1 }).lean();
    assert.deepEqual(new Map(again.map((m) => [m.title, m.dialInPin])), byTitle);
  });
});

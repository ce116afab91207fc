import { randomInt } from 'node:crypto';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { Schema, type Connection, type Model } from 'mongoose';
import { DIAL_IN_PIN_DIGITS, isDialInPinFormat } from '../../shared/dialIn.js';
import type { Clock } from '../clock.js';
import type { NumberHolder } from '../directory/NumberPlan.js';
import { displayName, type UserModel } from '../directory/User.js';
import type { Logger } from '../logger.js';
import type { KeyedSerial } from '../util/KeyedSerial.js';
import { consumeOrLimit, type RateLimits } from '../util/RateLimits.js';
import { meetingCancelled, meetingEnded, meetingExpired, pinInvalid, pinUnknown } from './errors.js';
import { isObjectId, type MeetingModel } from './Meeting.js';
import { meetingState } from './MeetingService.js';
import { isDuplicateKey } from '../db/duplicateKey.js';

/**
 * A PIN held by one meeting. The PIN is the document's `_id`: of two inserts of one `_id` exactly one succeeds,
 * on FerretDB v1 as on MongoDB (docs/architecture.md, "What FerretDB v1 does not guarantee"), so two meetings can
 * never hold one PIN, whatever runs at once. A unique index on the meeting would have to be partial or sparse (for
 * the meetings without a PIN), which nothing measured on FerretDB v1 vouches for.
 */
interface PinClaim {
  _id: string;
  meetingId: string;
  at: Date;
}

type PinClaimModel = Model<PinClaim>;

const pinClaimSchema = new Schema<PinClaim>(
  {
    _id: { type: String, required: true },
    meetingId: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { versionKey: false },
);
pinClaimSchema.index({ meetingId: 1 });

function pinClaimModel(connection: Connection): PinClaimModel {
  return (
    (connection.models.DialInPin as PinClaimModel | undefined) ??
    connection.model<PinClaim>('DialInPin', pinClaimSchema, 'dialinpins')
  );
}

/** What a caller who typed a right PIN is joining. */
export interface DialInMeeting {
  meetingId: string;
  title: string;
  organizer: { id: string; displayName: string; extension: string };
}

export interface DialInLimits {
  /** Wrong PINs per caller number per window. */
  attemptsPerCaller: number;
  /** Wrong PINs of every caller together per window. */
  attemptsGlobal: number;
  windowMs: number;
}

export interface DialInPinsOptions {
  connection: Connection;
  meetings: MeetingModel;
  users: UserModel;
  /** The per-meeting queue of every write to a meeting's document (shared with MeetingService and the gate). */
  writes: KeyedSerial;
  clock: Clock;
  limits: DialInLimits;
  /** Where the guesses are counted: shared by every node when Redis is. */
  counters: RateLimits;
  logger: Logger;
  /** Where PINs come from; tests give a fixed sequence to force collisions. Default: crypto randomness. */
  randomPin?: () => string;
}

/** Tries before giving up on finding a free PIN: with 10^9 PINs, even a million held makes 8 misses unheard of. */
const CLAIM_TRIES = 8;

/** A caller number longer than this is cut: the key is for counting, and must not grow with what a trunk sends. */
const CALLER_KEY_MAX = 64;

function cryptoPin(): string {
  let pin = '';
  // One digit at a time: randomInt is uniform (no modulo bias), and leading zeros are digits like any other.
  for (let i = 0; i < DIAL_IN_PIN_DIGITS; i++) pin += String(randomInt(10));
  return pin;
}

/** Anonymous and withheld callers share one bucket, which is stricter for them, not looser. */
function callerKey(callerNumber: unknown): string {
  if (typeof callerNumber !== 'string' || callerNumber.trim() === '') return 'caller:anonymous';
  return `caller:${callerNumber.trim().slice(0, CALLER_KEY_MAX)}`;
}

/**
 * The meetings' dial-in PINs: each meeting holds one numeric PIN, unique among the PINs held (a PIN is released
 * when the guest link, and with it the PIN, is rotated), and `resolve` turns what a caller typed into the
 * meeting, with wrong guesses limited per caller number and over all callers.
 *
 * The rate limits count in rate-limiter-flexible (Redis or memory, see RateLimits), which reads the wall clock (it
 * takes no clock); the meeting's state (expired or not) reads the injected one.
 */
export class DialInPins {
  readonly #o: DialInPinsOptions;
  readonly #claims: PinClaimModel;
  readonly #perCaller: RateLimiterAbstract;
  readonly #global: RateLimiterAbstract;
  readonly #randomPin: () => string;
  readonly #log: Logger;

  private constructor(options: DialInPinsOptions, claims: PinClaimModel) {
    this.#o = options;
    this.#claims = claims;
    this.#log = options.logger.child({ component: 'dial-in' });
    this.#randomPin = options.randomPin ?? cryptoPin;
    const { windowMs } = options.limits;
    this.#perCaller = options.counters.counter({
      name: 'dialin-caller',
      points: options.limits.attemptsPerCaller,
      windowMs,
    });
    this.#global = options.counters.counter({
      name: 'dialin-all',
      points: options.limits.attemptsGlobal,
      windowMs,
    });
  }

  /**
   * Ready to use, with every meeting holding a PIN. Meetings saved before PINs existed get theirs here, once, at
   * start-up rather than lazily when read: `resolve` finds a meeting by its PIN, so a meeting without one would be
   * unreachable by phone until someone happened to open it, and a lazy write would turn every read (list, view,
   * ICS) into a write through the meeting's queue. After this pass "every meeting has a PIN" simply holds.
   */
  static async create(options: DialInPinsOptions): Promise<DialInPins> {
    const claims = pinClaimModel(options.connection);
    await claims.init();
    const pins = new DialInPins(options, claims);
    await pins.#giveEveryMeetingAPin();
    return pins;
  }

  /** The numbering plan's holder for the dial-in extension: no user or call queue may take that number. */
  static numberHolder(extension: string): NumberHolder {
    return (number) =>
      Promise.resolve(
        number === extension ? "the meetings' dial-in number (UCC_DIALIN_EXTENSION)" : undefined,
      );
  }

  /**
   * A new PIN held for `meetingId`: random digits, claimed by an insert that fails if another meeting holds them
   * (then the next random PIN is tried). The caller saves it on the meeting, or releases it if that fails.
   */
  async claim(meetingId: string): Promise<string> {
    for (let attempt = 0; attempt < CLAIM_TRIES; attempt++) {
      const pin = this.#randomPin();
      try {
        await this.#claims.create({ _id: pin, meetingId, at: new Date(this.#o.clock.now()) });
        return pin;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        this.#log.debug({ meetingId, attempt }, 'dial-in PIN taken, trying another');
      }
    }
    throw new Error(`no free dial-in PIN found in ${CLAIM_TRIES} tries`);
  }

  /** Gives `pin` up, if `meetingId` holds it (never another meeting's claim on the same PIN). */
  async release(meetingId: string, pin: string | undefined): Promise<void> {
    if (!pin) return;
    await this.#claims.deleteOne({ _id: pin, meetingId });
  }

  /**
   * The meeting a caller joins with `pin`. Refusals: RATE_LIMITED (too many wrong PINs from this caller number, or
   * from everyone), PIN_INVALID (not 9-12 digits: garbage DTMF), PIN_UNKNOWN, MEETING_CANCELLED, MEETING_ENDED,
   * MEETING_EXPIRED. Every attempt is counted before the lookup (parallel guesses cannot slip past) and a right PIN
   * gives its attempt back, so only wrong ones use up the budget. Nothing a caller types makes it throw anything
   * else. It says who is joining; admission is the gate's, as for any other participant.
   */
  async resolve(pin: unknown, callerNumber: unknown): Promise<DialInMeeting> {
    const caller = callerKey(callerNumber);
    await this.#count(caller);
    if (!isDialInPinFormat(pin)) throw pinInvalid();
    const claim = await this.#claims.findById(pin).lean();
    const meeting =
      claim && isObjectId(claim.meetingId) ? await this.#o.meetings.findById(claim.meetingId).lean() : null;
    // A claim whose meeting no longer has that PIN is left over (a rotation cut short): it opens nothing.
    if (!meeting || meeting.dialInPin !== pin) throw pinUnknown();
    await this.#giveBack(caller);

    const state = meetingState(meeting, this.#o.clock.now());
    if (state === 'cancelled') throw meetingCancelled();
    if (state === 'ended') throw meetingEnded();
    if (state === 'expired') throw meetingExpired();
    const organizer = await this.#o.users
      .findById(meeting.organizerId, { firstName: 1, lastName: 1, extension: 1 })
      .lean();
    return {
      meetingId: String(meeting._id),
      title: meeting.title,
      organizer: {
        id: meeting.organizerId,
        displayName: organizer ? displayName(organizer) : '',
        extension: organizer?.extension ?? '',
      },
    };
  }

  /** One attempt against the caller's budget, then against everyone's (a caller out of budget spends no more). */
  async #count(caller: string): Promise<void> {
    await consumeOrLimit(this.#perCaller, caller);
    await consumeOrLimit(this.#global, 'all');
  }

  async #giveBack(caller: string): Promise<void> {
    await Promise.all([this.#perCaller.reward(caller, 1), this.#global.reward('all', 1)]);
  }

  /** The start-up pass of `create`: a PIN for each meeting saved without one (none after the first run). */
  async #giveEveryMeetingAPin(): Promise<void> {
    const missing = await this.#o.meetings.find({ dialInPin: { $exists: false } }, { _id: 1 }).lean();
    for (const { _id } of missing) {
      const id = String(_id);
      await this.#o.writes.run(id, async () => {
        const doc = await this.#o.meetings.findById(id);
        if (!doc || doc.dialInPin) return;
        const pin = await this.claim(id);
        doc.dialInPin = pin;
        try {
          await doc.save();
        } catch (err) {
          await this.release(id, pin);
          throw err;
        }
      });
    }
    if (missing.length > 0) this.#log.info({ count: missing.length }, 'dial-in PINs given to older meetings');
  }
}

import { createHash, randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import type { DialInInfo } from '../../shared/dialIn.js';
import type {
  CreateMeetingRequest,
  GuestMeetingView,
  MeetingState,
  MeetingView,
  UpdateMeetingRequest,
} from '../../shared/schemas/meetings.js';
import type { UserAuth } from '../auth/authMiddleware.js';
import type { TokenService } from '../auth/TokenService.js';
import type { Clock } from '../clock.js';
import { displayName, type UserModel } from '../directory/User.js';
import { ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Mailer } from '../mail/Mailer.js';
import type { KeyedSerial } from '../util/KeyedSerial.js';
import { SafeEmitter } from '../util/SafeEmitter.js';
import type { AdmissionGate } from './AdmissionGate.js';
import type { DialInPins } from './DialInPins.js';
import { guestLinkNotValid, meetingCancelled, meetingNotFound, notInvited, organizerOnly } from './errors.js';
import { buildInvitation, dialInLine } from './invitation.js';
import {
  isObjectId,
  meetingEndsAt,
  type Meeting,
  type MeetingDocument,
  type MeetingModel,
} from './Meeting.js';

/**
 * What the meetings service tells, once the change is saved: which directory users were invited to a meeting, saw
 * it change, or lost it (cancelled, or no longer invited). The server turns them into realtime notices.
 */
export interface MeetingServiceEvents {
  'meeting.invited': [userIds: string[], meetingId: string];
  'meeting.updated': [userIds: string[], meetingId: string];
  'meeting.cancelled': [userIds: string[], meetingId: string];
}

export interface MeetingServiceOptions {
  meetings: MeetingModel;
  users: UserModel;
  tokens: TokenService;
  mailer: Mailer;
  clock: Clock;
  publicUrl: string;
  /** Each meeting's dial-in PIN: claimed at creation, a new one with each new guest link. */
  pins: Pick<DialInPins, 'claim' | 'release'>;
  /** The extension a caller rings before typing the PIN (UCC_DIALIN_EXTENSION). */
  dialInExtension: string;
  /**
   * Writes to one meeting's document, one at a time, shared with the AdmissionGate: a load-modify-save must not
   * overlap another (a lost SEQUENCE increment; on FerretDB, whose updates rewrite the whole document, lost fields).
   */
  writes: KeyedSerial;
  /** The live side of a meeting: told after a cancel or a link rotation, so it can put people out. */
  sessions?: Pick<AdmissionGate, 'meetingCancelled' | 'guestLinkRotated'>;
  logger: Logger;
}

/** 256 random bits, URL-safe: a browser's guest key, kept in an HttpOnly cookie. */
export function newGuestBrowserKey(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The guest id of a browser in a meeting: derived from the browser's secret key, so the same browser always gets
 * the same id back (and a denylisted one stays denylisted), and ids do not link one meeting to another.
 */
function guestIdOf(browserKey: string, meetingId: string): string {
  const h = createHash('sha256').update(`${meetingId}:${browserKey}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** 144 random bits, URL-safe: the guest link's secret. */
function newGuestCode(): string {
  return randomBytes(18).toString('base64url');
}

export function meetingState(meeting: Meeting, now: number): MeetingState {
  if (meeting.status === 'cancelled') return 'cancelled';
  if (meeting.status === 'ended') return 'ended';
  if (meeting.live) return 'live';
  if (now >= meetingEndsAt(meeting).getTime()) return 'expired';
  return 'waiting';
}

/** Scheduling: create, list, change, cancel, guest links and invitations. Admission is AdmissionGate's job. */
export class MeetingService extends SafeEmitter<MeetingServiceEvents> {
  readonly #o: MeetingServiceOptions;
  readonly #log: Logger;

  constructor(options: MeetingServiceOptions) {
    const log = options.logger.child({ component: 'meetings' });
    super(log);
    this.#log = log;
    this.#o = options;
  }

  /** After the save: nobody to tell is no event. */
  #notify(event: keyof MeetingServiceEvents, userIds: string[], meetingId: string): void {
    if (userIds.length > 0) this.safeEmit(event, userIds, meetingId);
  }

  joinUrl(meetingId: string): string {
    return `${this.#o.publicUrl}/meetings/${meetingId}`;
  }

  guestUrl(guestCode: string): string {
    return `${this.#o.publicUrl}/m/${guestCode}`;
  }

  async create(organizer: UserAuth, req: CreateMeetingRequest): Promise<MeetingView> {
    const inviteeIds = await this.#activeInvitees(req.inviteeIds.filter((id) => id !== organizer.userId));
    // The id is made here so that the PIN can be claimed for it before the meeting is saved with it.
    const _id = new Types.ObjectId();
    const dialInPin = await this.#o.pins.claim(String(_id));
    let meeting: MeetingDocument;
    try {
      meeting = await this.#o.meetings.create({
        _id,
        title: req.title,
        description: req.description,
        startAt: new Date(req.startAt),
        durationMinutes: req.durationMinutes,
        organizerId: organizer.userId,
        inviteeIds,
        guestCode: newGuestCode(),
        dialInPin,
      });
    } catch (err) {
      await this.#o.pins.release(String(_id), dialInPin);
      throw err;
    }
    await this.#invite(meeting, inviteeIds, 'REQUEST');
    this.#notify('meeting.invited', inviteeIds, String(meeting._id));
    return this.#view(meeting, organizer.userId);
  }

  async list(user: UserAuth, scope: 'upcoming' | 'past'): Promise<MeetingView[]> {
    const now = this.#o.clock.now();
    const mine = await this.#o.meetings
      .find({
        $or: [{ organizerId: user.userId }, { inviteeIds: user.userId }],
        status: { $ne: 'cancelled' },
      })
      .sort({ startAt: 1 });
    // "Past" is derived (end time or an ended session), so it is filtered here rather than in the query.
    const isPast = (m: Meeting): boolean =>
      m.status === 'ended' || (!m.live && now >= meetingEndsAt(m).getTime());
    const selected = mine.filter((m) => (scope === 'past' ? isPast(m) : !isPast(m)));
    if (scope === 'past') selected.reverse();
    return Promise.all(selected.map((m) => this.#view(m, user.userId)));
  }

  async get(user: UserAuth, id: string): Promise<MeetingView> {
    const meeting = await this.#find(id);
    if (meeting.organizerId !== user.userId && !meeting.inviteeIds.includes(user.userId)) {
      throw notInvited();
    }
    return this.#view(meeting, user.userId);
  }

  async update(user: UserAuth, id: string, req: UpdateMeetingRequest): Promise<MeetingView> {
    const invitees =
      req.inviteeIds === undefined
        ? undefined
        : await this.#activeInvitees(req.inviteeIds.filter((i) => i !== user.userId));
    const { meeting, before } = await this.#o.writes.run(id, async () => {
      const doc = await this.#ownMeeting(user, id);
      if (doc.status === 'cancelled') throw meetingCancelled();
      const previous = new Set(doc.inviteeIds);
      if (req.title !== undefined) doc.title = req.title;
      if (req.description !== undefined) doc.description = req.description;
      if (req.startAt !== undefined) doc.startAt = new Date(req.startAt);
      if (req.durationMinutes !== undefined) doc.durationMinutes = req.durationMinutes;
      if (invitees !== undefined) doc.inviteeIds = invitees;
      doc.sequence += 1;
      await doc.save();
      return { meeting: doc, before: previous };
    });

    const after = meeting.inviteeIds;
    const removed = [...before].filter((i) => !after.includes(i));
    const added = after.filter((i) => !before.has(i));
    const kept = after.filter((i) => before.has(i));
    await this.#invite(meeting, after, 'REQUEST');
    await this.#invite(meeting, removed, 'CANCEL');
    const meetingId = String(meeting._id);
    this.#notify('meeting.updated', kept, meetingId);
    this.#notify('meeting.invited', added, meetingId);
    this.#notify('meeting.cancelled', removed, meetingId);
    return this.#view(meeting, user.userId);
  }

  /** DELETE is a cancel: the meeting stays on record, invitees get a CANCEL. */
  async cancel(user: UserAuth, id: string): Promise<void> {
    const meeting = await this.#o.writes.run(id, async () => {
      const doc = await this.#ownMeeting(user, id);
      if (doc.status === 'cancelled') return undefined;
      doc.status = 'cancelled';
      doc.live = false;
      doc.sequence += 1;
      await doc.save();
      return doc;
    });
    if (!meeting) return;
    // A running call ends too: everyone in it or waiting is told and put out.
    await this.#o.sessions?.meetingCancelled(String(meeting._id));
    await this.#invite(meeting, meeting.inviteeIds, 'CANCEL');
    this.#notify('meeting.cancelled', meeting.inviteeIds, String(meeting._id));
  }

  /** A new guest link and a new dial-in PIN: whoever had the old link or PIN can no longer get in with it. */
  async rotateGuestLink(user: UserAuth, id: string): Promise<MeetingView> {
    const meeting = await this.#o.writes.run(id, async () => {
      const doc = await this.#ownMeeting(user, id);
      const oldPin = doc.dialInPin;
      const newPin = await this.#o.pins.claim(id);
      doc.guestCode = newGuestCode();
      doc.guestCodeVersion += 1;
      doc.dialInPin = newPin;
      try {
        await doc.save();
      } catch (err) {
        await this.#o.pins.release(id, newPin);
        throw err;
      }
      // Released only once the meeting no longer has it: a failure here leaves a claim that opens nothing.
      await this.#o.pins.release(id, oldPin);
      return doc;
    });
    // Guests who came with the old link are put out of the session and its waiting room.
    await this.#o.sessions?.guestLinkRotated(String(meeting._id));
    return this.#view(meeting, user.userId);
  }

  async invitationIcs(user: UserAuth, id: string): Promise<string> {
    const meeting = await this.#find(id);
    if (meeting.organizerId !== user.userId && !meeting.inviteeIds.includes(user.userId)) {
      throw notInvited();
    }
    return (await this.#invitation(meeting, meeting.inviteeIds, 'REQUEST')).toString();
  }

  async guestView(guestCode: string): Promise<GuestMeetingView> {
    const meeting = await this.#byGuestCode(guestCode);
    const organizer = await this.#o.users.findById(meeting.organizerId, { firstName: 1, lastName: 1 }).lean();
    const state = meetingState(meeting, this.#o.clock.now());
    const dialIn = this.#dialIn(meeting);
    return {
      title: meeting.title,
      organizerName: organizer ? displayName(organizer) : '',
      startAt: meeting.startAt.toISOString(),
      state,
      // The guest page shows how to join by phone too: the PIN opens what the link opens, no more, and is rotated
      // with it. Only while it can be used: a meeting that is over has nothing to dial into.
      ...((state === 'waiting' || state === 'live') && dialIn ? { dialIn } : {}),
    };
  }

  #dialIn(meeting: Meeting): DialInInfo | undefined {
    return meeting.dialInPin ? { extension: this.#o.dialInExtension, pin: meeting.dialInPin } : undefined;
  }

  /**
   * Issues a guest token scoped to this one meeting and to the current link. `browserKey` is the browser's
   * guest key (see guestIdOf): the guest id follows from it.
   */
  async guestJoin(
    guestCode: string,
    displayNameOfGuest: string,
    browserKey: string,
  ): Promise<{ guestToken: string; expiresInMs: number; meetingId: string; guestId: string }> {
    const meeting = await this.#byGuestCode(guestCode);
    if (meeting.status === 'cancelled') throw meetingCancelled();
    const guestId = guestIdOf(browserKey, String(meeting._id));
    const meetingId = String(meeting._id);
    const { token, expiresInMs } = this.#o.tokens.signGuest({
      guestId,
      meetingId,
      displayName: displayNameOfGuest,
      linkVersion: meeting.guestCodeVersion,
    });
    return { guestToken: token, expiresInMs, meetingId, guestId };
  }

  async #find(id: string): Promise<MeetingDocument> {
    if (!isObjectId(id)) throw meetingNotFound();
    const meeting = await this.#o.meetings.findById(id);
    if (!meeting) throw meetingNotFound();
    return meeting;
  }

  async #ownMeeting(user: UserAuth, id: string): Promise<MeetingDocument> {
    const meeting = await this.#find(id);
    if (meeting.organizerId !== user.userId) throw organizerOnly();
    return meeting;
  }

  async #byGuestCode(code: string): Promise<MeetingDocument> {
    const meeting = await this.#o.meetings.findOne({ guestCode: code });
    if (!meeting) throw guestLinkNotValid();
    return meeting;
  }

  /** Invitees must be active directory users; unknown ids are a validation error, not silently dropped. */
  async #activeInvitees(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const found = await this.#o.users.find({ _id: { $in: ids }, disabled: false }, { _id: 1 }).lean();
    const known = new Set(found.map((u) => String(u._id)));
    const unknown = ids.filter((id) => !known.has(id));
    if (unknown.length > 0) {
      throw new ValidationError('Some invitees are not active colleagues', [
        { path: 'inviteeIds', message: `unknown or disabled: ${unknown.join(', ')}` },
      ]);
    }
    return ids;
  }

  async #invitation(meeting: MeetingDocument, attendeeIds: string[], method: 'REQUEST' | 'CANCEL') {
    const people = await this.#o.users
      .find(
        { _id: { $in: [meeting.organizerId, ...attendeeIds] } },
        { extension: 1, firstName: 1, lastName: 1, email: 1 },
      )
      .lean();
    const byId = new Map(people.map((p) => [String(p._id), p]));
    const organizer = byId.get(meeting.organizerId);
    return buildInvitation({
      meetingId: String(meeting._id),
      method,
      title: meeting.title,
      description: meeting.description,
      startAt: meeting.startAt,
      endAt: meetingEndsAt(meeting),
      sequence: meeting.sequence,
      joinUrl: this.joinUrl(String(meeting._id)),
      // A cancellation says nothing of how to join.
      dialIn: method === 'REQUEST' ? this.#dialIn(meeting) : undefined,
      organizer: { name: organizer ? displayName(organizer) : 'OpiVoice UCC', email: organizer?.email },
      attendees: attendeeIds.flatMap((id) => {
        const p = byId.get(id);
        return p ? [{ name: displayName(p), extension: p.extension, email: p.email }] : [];
      }),
    });
  }

  /** Mails the invitation (or its cancellation) to every attendee who has an email. Failures are logged. */
  async #invite(
    meeting: MeetingDocument,
    attendeeIds: string[],
    method: 'REQUEST' | 'CANCEL',
  ): Promise<void> {
    if (attendeeIds.length === 0 || !this.#o.mailer.enabled) return;
    const ics = (await this.#invitation(meeting, meeting.inviteeIds, method)).toString();
    const recipients = await this.#o.users
      .find({ _id: { $in: attendeeIds }, email: { $exists: true } }, { email: 1 })
      .lean();
    const subject = method === 'CANCEL' ? `Annullato: ${meeting.title}` : `Invito: ${meeting.title}`;
    const dialIn = this.#dialIn(meeting);
    const text = [
      meeting.title,
      `${meeting.startAt.toISOString()} (${meeting.durationMinutes} min)`,
      '',
      meeting.description,
      '',
      ...(method === 'CANCEL'
        ? ['Il meeting è stato annullato.']
        : [`Partecipa: ${this.joinUrl(String(meeting._id))}`, ...(dialIn ? [dialInLine(dialIn)] : [])]),
    ].join('\n');
    await Promise.all(
      recipients.map(async (r) => {
        if (!r.email) return;
        try {
          await this.#o.mailer.send({
            to: r.email,
            subject,
            text,
            icalEvent: { method, content: ics, filename: 'invite.ics' },
          });
        } catch (err) {
          this.#log.error({ err, meetingId: String(meeting._id) }, 'invitation mail failed');
        }
      }),
    );
  }

  async #view(meeting: MeetingDocument, viewerId: string): Promise<MeetingView> {
    const ids = [meeting.organizerId, ...meeting.inviteeIds];
    const people = await this.#o.users
      .find({ _id: { $in: ids } }, { extension: 1, firstName: 1, lastName: 1 })
      .lean();
    const brief = (id: string) => {
      const p = people.find((u) => String(u._id) === id);
      return { id, extension: p?.extension ?? '', displayName: p ? displayName(p) : '' };
    };
    const id = String(meeting._id);
    const dialIn = this.#dialIn(meeting);
    return {
      id,
      title: meeting.title,
      description: meeting.description,
      startAt: meeting.startAt.toISOString(),
      durationMinutes: meeting.durationMinutes,
      endsAt: meetingEndsAt(meeting).toISOString(),
      organizer: brief(meeting.organizerId),
      invitees: meeting.inviteeIds.map(brief),
      invitedCount: meeting.inviteeIds.length,
      myRole: meeting.organizerId === viewerId ? 'organizer' : 'invitee',
      state: meetingState(meeting, this.#o.clock.now()),
      joinUrl: this.joinUrl(id),
      guestUrl: this.guestUrl(meeting.guestCode),
      ...(dialIn ? { dialIn } : {}),
      sequence: meeting.sequence,
    };
  }
}

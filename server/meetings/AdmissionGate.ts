import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ErrorBody } from '../../shared/errors.js';
import type { JoinedInfo, JoinOutcome, ParticipantView, RemovalReason } from '../../shared/protocol.js';
import type { Auth } from '../auth/authMiddleware.js';
import type { Clock } from '../clock.js';
import { displayName, type UserModel } from '../directory/User.js';
import { AppError, ForbiddenError, toAppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { KeyedSerial } from '../util/KeyedSerial.js';
import {
  isObjectId,
  meetingEndsAt,
  type MeetingDocument,
  type MeetingModel,
  type Participant,
} from './Meeting.js';
import { meetingNotFound } from './MeetingService.js';

export interface JoinRequest {
  meetingId: string;
  guestCode?: string | undefined;
  rejoinToken?: string | undefined;
}

/** What the gate tells the transport layer; socket.io wiring lives in signaling/. */
export interface AdmissionGateEvents {
  admitted: [socketId: string, info: JoinedInfo];
  rejected: [socketId: string, error: ErrorBody];
  participantJoined: [meetingId: string, participant: ParticipantView, socketId: string];
  /** Out for good: left, removed, or dropped and not back within the grace window. Their media goes too. */
  participantLeft: [meetingId: string, participantId: string];
  /** A raised hand, or the connection: `reconnecting` after a drop, `connected` again on their return. */
  participantUpdated: [meetingId: string, participant: ParticipantView];
  removed: [socketId: string, meetingId: string, reason: RemovalReason];
}

export interface AdmissionGateOptions {
  meetings: MeetingModel;
  users: UserModel;
  clock: Clock;
  /** How long someone who dropped may come back, even after the meeting's end time. */
  rejoinGraceMs: number;
  /** The per-meeting queue of writes, shared with MeetingService (see there). */
  writes: KeyedSerial;
  logger: Logger;
}

const expired = (): AppError =>
  new AppError(410, 'MEETING_EXPIRED', 'This meeting has ended its scheduled time');
const ended = (): AppError => new AppError(410, 'MEETING_ENDED', 'The organizer ended this meeting');
const cancelled = (): AppError => new AppError(409, 'MEETING_CANCELLED', 'This meeting was cancelled');
const removedError = (): AppError =>
  new AppError(403, 'REMOVED_FROM_MEETING', 'The organizer removed you from this meeting');

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

interface Identity {
  userId?: string;
  guestId?: string;
}

function identityOf(auth: Auth): Identity {
  return auth.kind === 'user' ? { userId: auth.userId } : { guestId: auth.guestId };
}

/** Dropped, and still within the grace window: in the meeting, shown as reconnecting. */
function isReconnecting(p: Participant, now: number): boolean {
  return p.leftAt !== undefined && p.dropped === true && (p.rejoinUntil?.getTime() ?? 0) > now;
}

/** Connected, or reconnecting: who the others see in the meeting, and who keeps its session going. */
function isIn(p: Participant, now: number): boolean {
  return p.leftAt === undefined || isReconnecting(p, now);
}

/** The view of someone in the meeting (see `isIn`). */
function viewOf(meeting: MeetingDocument, p: Participant): ParticipantView {
  return {
    participantId: p.participantId,
    displayName: p.displayName,
    kind: p.kind,
    isOrganizer: p.userId !== undefined && p.userId === meeting.organizerId,
    handRaised: p.handRaised ?? false,
    connection: p.leftAt === undefined ? 'connected' : 'reconnecting',
  };
}

function sameIdentity(a: Identity, b: Identity): boolean {
  return a.userId !== undefined ? a.userId === b.userId : a.guestId !== undefined && a.guestId === b.guestId;
}

/**
 * The authoritative admission rules of a meeting: organizer first, waiting room, expiry, rejoin grace, removal
 * and end. The session state (live, who is in, the denylist) is kept in the meeting document, so it survives a
 * restart; only the mapping of sockets to participants and the waiting sockets live in memory.
 *
 * All decisions about one meeting run one at a time (a per-meeting queue), so a join racing the organizer's is
 * either admitted by it or sees the live session: nobody is left waiting. This holds within one server process.
 */
export class AdmissionGate extends EventEmitter<AdmissionGateEvents> {
  readonly #o: AdmissionGateOptions;
  readonly #joined = new Map<string, { meetingId: string; participantId: string; isOrganizer: boolean }>();
  readonly #waiting = new Map<string, Map<string, { auth: Auth; req: JoinRequest }>>();
  /** Decisions about one meeting, one at a time (keyed by meeting id), in the queue the schedule edits share. */
  readonly #serial: KeyedSerial;
  /** The end of each dropped participant's grace window (cancels, by participant id). */
  readonly #graceTimers = new Map<string, () => void>();
  #closed = false;

  constructor(options: AdmissionGateOptions) {
    super();
    this.#o = options;
    this.#serial = options.writes;
  }

  /**
   * After a restart no socket is connected: everyone still "in" a live session is marked as dropped, with the
   * full grace window to come back; those who had dropped before keep what is left of theirs.
   */
  async recover(): Promise<void> {
    const now = this.#o.clock.now();
    const live = await this.#o.meetings.find({ live: true });
    for (const meeting of live) {
      for (const p of meeting.participants) {
        if (!p.leftAt) {
          p.leftAt = new Date(now);
          p.rejoinUntil = new Date(now + this.#o.rejoinGraceMs);
          p.dropped = true;
        }
      }
      await meeting.save();
      for (const p of meeting.participants) {
        if (p.dropped && p.rejoinUntil) this.#startGrace(String(meeting._id), p.participantId, p.rejoinUntil);
      }
    }
  }

  /** Stops the grace timers: nothing is decided after this. */
  close(): void {
    this.#closed = true;
    for (const cancel of this.#graceTimers.values()) cancel();
    this.#graceTimers.clear();
  }

  /** The meeting a socket is in, if any. */
  meetingOf(socketId: string): string | undefined {
    return this.#joined.get(socketId)?.meetingId;
  }

  /** Who a socket is in its meeting, if it was admitted. */
  participantOf(
    socketId: string,
  ): { meetingId: string; participantId: string; isOrganizer: boolean } | undefined {
    const entry = this.#joined.get(socketId);
    return entry ? { ...entry } : undefined;
  }

  /** The socket currently carrying a participant, if connected. */
  socketOf(participantId: string): string | undefined {
    for (const [socketId, entry] of this.#joined) if (entry.participantId === participantId) return socketId;
    return undefined;
  }

  async join(socketId: string, auth: Auth, req: JoinRequest): Promise<JoinOutcome> {
    if (!isObjectId(req.meetingId)) throw meetingNotFound();
    return this.#serial.run(req.meetingId, async () => {
      const current = this.#joined.get(socketId);
      if (current && current.meetingId !== req.meetingId) {
        throw new AppError(409, 'CONFLICT', 'This connection is already in another meeting');
      }
      const meeting = await this.#load(req.meetingId);
      const outcome = await this.#admit(meeting, socketId, auth, req);
      if (outcome.state === 'waiting') {
        const waiting =
          this.#waiting.get(req.meetingId) ?? new Map<string, { auth: Auth; req: JoinRequest }>();
        waiting.set(socketId, { auth, req });
        this.#waiting.set(req.meetingId, waiting);
        return outcome;
      }
      // The organizer's arrival opens the session: everyone waiting comes in, in arrival order, and the
      // organizer's answer lists them (its socket is not in the meeting's room yet to hear them arrive).
      if (outcome.isOrganizer && this.#waiting.has(req.meetingId)) {
        await this.#admitWaiting(meeting);
        return { ...outcome, participants: this.#present(meeting) };
      }
      return outcome;
    });
  }

  /**
   * An explicit leave or a dropped connection: both keep the rejoin grace window. Whoever leaves is out at once;
   * whoever dropped stays in the meeting as reconnecting until they return or the window ends.
   */
  async leave(socketId: string, how: 'left' | 'dropped' = 'left'): Promise<boolean> {
    for (const [meetingId, waiting] of this.#waiting) {
      if (waiting.delete(socketId)) {
        if (waiting.size === 0) this.#waiting.delete(meetingId);
        return true;
      }
    }
    const entry = this.#joined.get(socketId);
    if (!entry) return false;
    await this.#serial.run(entry.meetingId, async () => {
      // Re-read under the queue: the socket may have been replaced or removed meanwhile.
      if (this.#joined.get(socketId) !== entry) return;
      this.#joined.delete(socketId);
      const meeting = await this.#o.meetings.findById(entry.meetingId);
      if (!meeting) return;
      const now = this.#o.clock.now();
      const p = meeting.participants.find((x) => x.participantId === entry.participantId);
      const dropped = how === 'dropped' && p !== undefined && !p.leftAt;
      if (p && !p.leftAt) {
        p.leftAt = new Date(now);
        p.rejoinUntil = new Date(now + this.#o.rejoinGraceMs);
        p.dropped = dropped;
        // A blip keeps a raised hand up: the person is still in the meeting, and their client still shows it.
        if (!dropped) p.handRaised = false;
      }
      // The last one out ends the session; the next arrival waits for the organizer again. Someone reconnecting
      // (the organizer too) still counts: the session goes on through their grace window.
      this.#endSessionIfEmpty(meeting, now);
      await meeting.save();
      if (dropped && p) {
        this.#startGrace(entry.meetingId, p.participantId, p.rejoinUntil ?? new Date(now));
        this.emit('participantUpdated', entry.meetingId, viewOf(meeting, p));
      } else {
        this.emit('participantLeft', entry.meetingId, entry.participantId);
      }
    });
    return true;
  }

  /** Raises or lowers the caller's hand; everyone in the meeting is told. */
  async raiseHand(socketId: string, raised: boolean): Promise<void> {
    const entry = this.#joined.get(socketId);
    if (!entry) throw new ForbiddenError('Join the meeting first');
    await this.#serial.run(entry.meetingId, async () => {
      const meeting = await this.#load(entry.meetingId);
      const p = meeting.participants.find((x) => x.participantId === entry.participantId);
      if (!p || p.handRaised === raised) return;
      p.handRaised = raised;
      await meeting.save();
      this.emit('participantUpdated', entry.meetingId, viewOf(meeting, p));
    });
  }

  /** The organizer removes someone; that person can never come back, whatever token they hold. */
  async removeParticipant(socketId: string, auth: Auth, participantId: string): Promise<void> {
    const meetingId = this.#requireOrganizerSocket(socketId);
    await this.#serial.run(meetingId, async () => {
      const meeting = await this.#load(meetingId);
      this.#requireOrganizer(meeting, auth);
      const p = meeting.participants.find((x) => x.participantId === participantId);
      if (!p) throw new AppError(404, 'NOT_FOUND', 'No such participant');
      if (p.userId === meeting.organizerId)
        throw new ForbiddenError('The organizer cannot remove themselves');
      meeting.denylist.push({ userId: p.userId, guestId: p.guestId, at: new Date(this.#o.clock.now()) });
      // Also someone reconnecting: they are out now, not when their grace window would have ended.
      this.#cancelGrace(p.participantId);
      p.leftAt = new Date(this.#o.clock.now());
      p.rejoinUntil = undefined;
      p.dropped = false;
      await meeting.save();
      for (const [sid, entry] of this.#joined) {
        if (entry.meetingId === meetingId && entry.participantId === participantId) {
          this.#joined.delete(sid);
          this.emit('removed', sid, meetingId, 'removed');
        }
      }
      this.emit('participantLeft', meetingId, participantId);
    });
  }

  /** The organizer ends the meeting for everyone; later joins get MEETING_ENDED. */
  async endMeeting(socketId: string, auth: Auth): Promise<void> {
    const meetingId = this.#requireOrganizerSocket(socketId);
    await this.#serial.run(meetingId, async () => {
      const meeting = await this.#load(meetingId);
      this.#requireOrganizer(meeting, auth);
      const now = new Date(this.#o.clock.now());
      meeting.status = 'ended';
      meeting.live = false;
      meeting.endedAt = now;
      meeting.sessionEndedAt = now;
      for (const p of meeting.participants) {
        this.#cancelGrace(p.participantId);
        p.leftAt ??= now;
        p.rejoinUntil = undefined;
        p.dropped = false;
      }
      await meeting.save();
      for (const [sid, entry] of [...this.#joined]) {
        if (entry.meetingId !== meetingId) continue;
        this.#joined.delete(sid);
        this.emit('removed', sid, meetingId, 'ended');
      }
      for (const sid of this.#waiting.get(meetingId)?.keys() ?? [])
        this.emit('removed', sid, meetingId, 'ended');
      this.#waiting.delete(meetingId);
    });
  }

  /** Nobody connected or reconnecting: the session is over, and the next arrival waits for the organizer. */
  #endSessionIfEmpty(meeting: MeetingDocument, now: number): void {
    if (meeting.live && !meeting.participants.some((x) => isIn(x, now))) {
      meeting.live = false;
      meeting.sessionEndedAt = new Date(now);
    }
  }

  /** At `until`, a dropped participant who has not come back is out for good. */
  #startGrace(meetingId: string, participantId: string, until: Date): void {
    if (this.#closed) return;
    this.#cancelGrace(participantId);
    const expire = (): void => {
      this.#graceTimers.delete(participantId);
      this.#serial
        .run(meetingId, () => this.#graceOver(meetingId, participantId))
        .catch((err: unknown) =>
          this.#o.logger.error({ err, meetingId, participantId }, 'ending a grace window failed'),
        );
    };
    const delay = until.getTime() - this.#o.clock.now();
    if (delay <= 0) {
      expire();
      return;
    }
    this.#graceTimers.set(participantId, this.#o.clock.setTimer(delay, expire));
  }

  #cancelGrace(participantId: string): void {
    this.#graceTimers.get(participantId)?.();
    this.#graceTimers.delete(participantId);
  }

  async #graceOver(meetingId: string, participantId: string): Promise<void> {
    if (this.#closed) return;
    const meeting = await this.#o.meetings.findById(meetingId);
    const p = meeting?.participants.find((x) => x.participantId === participantId);
    const now = this.#o.clock.now();
    // Back meanwhile, removed, or dropped again later (a newer window): nothing to do.
    if (!meeting || !p?.dropped || !p.leftAt || (p.rejoinUntil?.getTime() ?? 0) > now) return;
    p.dropped = false;
    p.handRaised = false;
    this.#endSessionIfEmpty(meeting, now);
    await meeting.save();
    this.emit('participantLeft', meetingId, participantId);
  }

  async #load(meetingId: string): Promise<MeetingDocument> {
    const meeting = await this.#o.meetings.findById(meetingId);
    if (!meeting) throw meetingNotFound();
    return meeting;
  }

  #requireOrganizerSocket(socketId: string): string {
    const entry = this.#joined.get(socketId);
    if (!entry) throw new ForbiddenError('Join the meeting first');
    return entry.meetingId;
  }

  #requireOrganizer(meeting: MeetingDocument, auth: Auth): void {
    if (auth.kind !== 'user' || auth.userId !== meeting.organizerId) {
      throw new ForbiddenError('Only the organizer can do this');
    }
  }

  /** Decides one join against the meeting as it is now; saves and announces an admission. */
  async #admit(
    meeting: MeetingDocument,
    socketId: string,
    auth: Auth,
    req: JoinRequest,
  ): Promise<JoinOutcome> {
    const now = this.#o.clock.now();
    if (meeting.status === 'cancelled') throw cancelled();
    if (meeting.status === 'ended') throw ended();

    if (auth.kind === 'guest') {
      if (auth.meetingId !== String(meeting._id))
        throw new ForbiddenError('This guest link is for another meeting');
      if (auth.linkVersion !== meeting.guestCodeVersion)
        throw new ForbiddenError('This guest link was replaced');
    } else {
      const invited = auth.userId === meeting.organizerId || meeting.inviteeIds.includes(auth.userId);
      if (!invited && req.guestCode !== meeting.guestCode) {
        throw new ForbiddenError('You are not invited to this meeting');
      }
    }
    const identity = identityOf(auth);
    if (meeting.denylist.some((d) => sameIdentity(identity, d))) throw removedError();

    const isOrganizer = auth.kind === 'user' && auth.userId === meeting.organizerId;
    const existing = meeting.participants.find((p) => sameIdentity(identity, p));
    const stillIn = existing !== undefined && !existing.leftAt;
    const reconnecting = existing !== undefined && isReconnecting(existing, now);
    const canRejoin =
      existing?.leftAt !== undefined &&
      existing.rejoinUntil !== undefined &&
      existing.rejoinUntil.getTime() > now &&
      req.rejoinToken !== undefined &&
      sha256(req.rejoinToken) === existing.rejoinTokenHash;
    if (now >= meetingEndsAt(meeting).getTime() && !stillIn && !canRejoin) throw expired();

    // A session whose people all dropped and never came back within the grace window is over (its timers may
    // not have run: a restart, or a clock that jumped).
    this.#endSessionIfEmpty(meeting, now);
    if (!meeting.live && !isOrganizer) return { state: 'waiting' };

    if (!meeting.live) {
      meeting.live = true;
      meeting.sessionStartedAt = new Date(now);
    }
    const rejoinToken = randomBytes(24).toString('base64url');
    let participant: Participant;
    if (existing) {
      participant = existing;
      this.#cancelGrace(participant.participantId);
      participant.leftAt = undefined;
      participant.rejoinUntil = undefined;
      participant.dropped = false;
      participant.rejoinTokenHash = sha256(rejoinToken);
    } else {
      participant = {
        participantId: randomUUID(),
        kind: auth.kind,
        ...identity,
        displayName: await this.#nameOf(auth),
        joinedAt: new Date(now),
        rejoinTokenHash: sha256(rejoinToken),
      };
      meeting.participants.push(participant);
    }
    await meeting.save();

    const meetingId = String(meeting._id);
    // One socket per participant: an older connection of the same person is replaced, never left as a ghost.
    for (const [sid, entry] of [...this.#joined]) {
      if (
        sid !== socketId &&
        entry.meetingId === meetingId &&
        entry.participantId === participant.participantId
      ) {
        this.#joined.delete(sid);
        this.emit('removed', sid, meetingId, 'replaced');
      }
    }
    this.#joined.set(socketId, { meetingId, participantId: participant.participantId, isOrganizer });
    this.#waiting.get(meetingId)?.delete(socketId);

    // Back from a drop, the others still have them (as reconnecting): an update, not a second arrival.
    if (reconnecting) this.emit('participantUpdated', meetingId, viewOf(meeting, participant));
    else if (!stillIn) this.emit('participantJoined', meetingId, viewOf(meeting, participant), socketId);
    return {
      state: 'joined',
      meetingId,
      participantId: participant.participantId,
      isOrganizer,
      rejoinToken,
      rejoinWindowMs: this.#o.rejoinGraceMs,
      participants: this.#present(meeting),
    };
  }

  /** Everyone in the meeting, those reconnecting included (marked so). */
  #present(meeting: MeetingDocument): ParticipantView[] {
    const now = this.#o.clock.now();
    return meeting.participants.filter((p) => isIn(p, now)).map((p) => viewOf(meeting, p));
  }

  async #admitWaiting(meeting: MeetingDocument): Promise<void> {
    const meetingId = String(meeting._id);
    const waiting = this.#waiting.get(meetingId);
    if (!waiting) return;
    this.#waiting.delete(meetingId);
    for (const [socketId, { auth, req }] of waiting) {
      try {
        const outcome = await this.#admit(meeting, socketId, auth, req);
        if (outcome.state === 'joined') {
          this.emit('admitted', socketId, {
            meetingId: outcome.meetingId,
            participantId: outcome.participantId,
            isOrganizer: outcome.isOrganizer,
            rejoinToken: outcome.rejoinToken,
            rejoinWindowMs: outcome.rejoinWindowMs,
            participants: outcome.participants,
          });
        }
      } catch (err) {
        this.emit('rejected', socketId, toAppError(err).toBody());
      }
    }
  }

  async #nameOf(auth: Auth): Promise<string> {
    if (auth.kind === 'guest') return auth.displayName;
    const user = await this.#o.users.findById(auth.userId, { firstName: 1, lastName: 1 }).lean();
    return user ? displayName(user) : auth.extension;
  }
}

import type { Auth } from '../auth/authMiddleware.js';
import type { Clock } from '../clock.js';
import { AppError, ForbiddenError, toAppError } from '../errors.js';
import type { KeyedSerial } from '../util/KeyedSerial.js';
import type { JoinOutcome } from '../../shared/protocol.js';
import type { AdmissionGate } from './AdmissionGate.js';
import { canonicalMeetingId, deny, identityOf, infoOf, isIn, requireOrganizer } from './admissionRules.js';
import { noSuchParticipant, noSuchWaiter } from './errors.js';
import type { GraceTimers } from './GraceTimers.js';
import type { MeetingDocument, MeetingModel, Participant } from './Meeting.js';
import type { JoinRequest, SocketSeats, WaitingSeat } from './SocketSeats.js';

/** What the gate lends its moderation: its state, its queue and its one admission decision. */
export interface GateCore {
  readonly seats: SocketSeats;
  readonly serial: KeyedSerial;
  readonly grace: GraceTimers;
  readonly clock: Clock;
  readonly meetings: MeetingModel;
  readonly maxDenylist: number;
  readonly emit: AdmissionGate['safeEmit'];
  load(meetingId: string): Promise<MeetingDocument>;
  admit(
    meeting: MeetingDocument,
    socketId: string,
    auth: Auth,
    req: JoinRequest,
    letIn: boolean,
  ): Promise<JoinOutcome>;
  emitLobby(meetingId: string): void;
  endSessionIfEmpty(meeting: MeetingDocument, now: number): void;
  requireOrganizerSocket(socketId: string): string;
}

/**
 * The organizer's decisions (remove, admit, deny, end) and the schedule's (cancel, link rotation) about a live
 * session: each runs in the meeting's queue, like every admission decision, and keeps the gate's invariants.
 */
export class Moderation {
  readonly #g: GateCore;

  constructor(core: GateCore) {
    this.#g = core;
  }

  /**
   * The organizer removes someone; that identity is denylisted. Removing a guest also turns on knock-to-enter:
   * a guest who is not in the session already waits for the organizer, so a removed guest who comes back under a
   * new guest id (another browser) is seen before getting in.
   */
  async remove(socketId: string, auth: Auth, participantId: string): Promise<void> {
    const meetingId = this.#g.requireOrganizerSocket(socketId);
    await this.#g.serial.run(meetingId, async () => {
      const meeting = await this.#g.load(meetingId);
      requireOrganizer(meeting, auth);
      const p = meeting.participants.find((x) => x.participantId === participantId);
      if (!p) throw noSuchParticipant();
      if (p.userId === meeting.organizerId)
        throw new ForbiddenError('The organizer cannot remove themselves');
      const now = this.#g.clock.now();
      deny(meeting, { userId: p.userId, guestId: p.guestId }, new Date(now), this.#g.maxDenylist);
      if (p.kind === 'guest') meeting.knockRequired = true;
      // Also someone reconnecting: they are out now, not when their grace window would have ended.
      this.#putOut(p, now);
      await meeting.save();
      for (const [sid, seat] of this.#g.seats.joinedIn(meetingId)) {
        if (seat.participantId !== participantId) continue;
        this.#g.seats.free(sid);
        this.#g.emit('removed', sid, meetingId, 'removed');
      }
      this.#g.emit('participantLeft', meetingId, participantId);
    });
  }

  /** The organizer lets in someone knocking. */
  async admitWaiter(socketId: string, auth: Auth, waiterId: string): Promise<void> {
    const meetingId = this.#g.requireOrganizerSocket(socketId);
    await this.#g.serial.run(meetingId, async () => {
      const meeting = await this.#g.load(meetingId);
      requireOrganizer(meeting, auth);
      const [sid, seat] = this.#waiter(meetingId, waiterId);
      try {
        const outcome = await this.#g.admit(meeting, sid, seat.auth, seat.req, true);
        if (outcome.state === 'joined') this.#g.emit('admitted', sid, infoOf(outcome));
      } catch (err) {
        // A full meeting may have room later; anything else (removed, expired) is final for this waiter.
        if (!(err instanceof AppError && err.code === 'MEETING_FULL')) {
          this.#g.seats.free(sid);
          this.#g.emit('rejected', sid, toAppError(err).toBody());
          this.#g.emitLobby(meetingId);
        }
        throw err;
      }
      this.#g.emitLobby(meetingId);
    });
  }

  /** The organizer turns away someone knocking: denylisted like a removal, so they cannot knock again. */
  async denyWaiter(socketId: string, auth: Auth, waiterId: string): Promise<void> {
    const meetingId = this.#g.requireOrganizerSocket(socketId);
    await this.#g.serial.run(meetingId, async () => {
      const meeting = await this.#g.load(meetingId);
      requireOrganizer(meeting, auth);
      const [sid, seat] = this.#waiter(meetingId, waiterId);
      deny(meeting, identityOf(seat.auth), new Date(this.#g.clock.now()), this.#g.maxDenylist);
      await meeting.save();
      this.#g.seats.free(sid);
      this.#g.emit('removed', sid, meetingId, 'denied');
      this.#g.emitLobby(meetingId);
    });
  }

  /** The organizer ends the meeting for everyone; later joins get MEETING_ENDED. */
  async end(socketId: string, auth: Auth): Promise<void> {
    const meetingId = this.#g.requireOrganizerSocket(socketId);
    await this.#g.serial.run(meetingId, async () => {
      const meeting = await this.#g.load(meetingId);
      requireOrganizer(meeting, auth);
      const now = new Date(this.#g.clock.now());
      meeting.status = 'ended';
      meeting.endedAt = now;
      await this.#closeSession(meeting, 'ended');
    });
  }

  /** The meeting was cancelled (MeetingService has saved it): whoever is in it or waiting is out. */
  async meetingCancelled(meetingId: string): Promise<void> {
    const id = canonicalMeetingId(meetingId);
    await this.#g.serial.run(id, async () => {
      const meeting = await this.#g.meetings.findById(id);
      if (meeting?.status !== 'cancelled') return;
      await this.#closeSession(meeting, 'cancelled');
    });
  }

  /**
   * The guest link was rotated (MeetingService has saved the new version): guests admitted or waiting with an
   * older link are out, reconnecting ones too. Colleagues who came with the link stay: they are in the directory.
   */
  async guestLinkRotated(meetingId: string): Promise<void> {
    const id = canonicalMeetingId(meetingId);
    await this.#g.serial.run(id, async () => {
      const meeting = await this.#g.meetings.findById(id);
      if (!meeting) return;
      const version = meeting.guestCodeVersion;
      const stale = (auth: Auth): boolean => auth.kind === 'guest' && auth.linkVersion !== version;
      let lobbyChanged = false;
      for (const [sid, seat] of this.#g.seats.waitingIn(id)) {
        if (!stale(seat.auth)) continue;
        this.#g.seats.free(sid);
        lobbyChanged ||= seat.knocking;
        this.#g.emit('removed', sid, id, 'linkRotated');
      }
      const now = this.#g.clock.now();
      const out = meeting.participants.filter(
        (p) => p.kind === 'guest' && isIn(p, now) && p.linkVersion !== version,
      );
      for (const p of out) this.#putOut(p, now);
      this.#g.endSessionIfEmpty(meeting, now);
      await meeting.save();
      for (const p of out) {
        const sid = this.#g.seats.socketOf(p.participantId);
        if (sid !== undefined) {
          this.#g.seats.free(sid);
          this.#g.emit('removed', sid, id, 'linkRotated');
        }
        this.#g.emit('participantLeft', id, p.participantId);
      }
      if (lobbyChanged) this.#g.emitLobby(id);
    });
  }

  /** Everyone out at once (ended or cancelled): records closed, sockets told, the media closed. */
  async #closeSession(meeting: MeetingDocument, reason: 'ended' | 'cancelled'): Promise<void> {
    const meetingId = String(meeting._id);
    const now = this.#g.clock.now();
    const wasLive = meeting.live;
    meeting.live = false;
    if (wasLive) meeting.sessionEndedAt = new Date(now);
    for (const p of meeting.participants) this.#putOut(p, now);
    await meeting.save();
    for (const [sid] of [...this.#g.seats.joinedIn(meetingId), ...this.#g.seats.waitingIn(meetingId)]) {
      this.#g.seats.free(sid);
      this.#g.emit('removed', sid, meetingId, reason);
    }
    this.#g.emit('sessionClosed', meetingId);
  }

  /** Out for good now: no grace window, no raised hand. */
  #putOut(p: Participant, now: number): void {
    this.#g.grace.cancel(p.participantId);
    p.leftAt ??= new Date(now);
    p.rejoinUntil = undefined;
    p.dropped = false;
    p.handRaised = false;
  }

  #waiter(meetingId: string, waiterId: string): [string, WaitingSeat] {
    const found = this.#g.seats.waitingIn(meetingId).find(([, s]) => s.waiterId === waiterId);
    if (!found) throw noSuchWaiter();
    return found;
  }
}

import { randomBytes, randomUUID } from 'node:crypto';
import type { ErrorBody } from '../../shared/errors.js';
import type {
  JoinedInfo,
  JoinOutcome,
  LobbyEntry,
  ParticipantView,
  RemovalReason,
  WaitingFor,
} from '../../shared/protocol.js';
import type { Auth } from '../auth/authMiddleware.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { displayName, type UserModel } from '../directory/User.js';
import { toAppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { NodeLiveness } from '../redis/NodeRegistry.js';
import type { KeyedSerial } from '../util/KeyedSerial.js';
import { SafeEmitter } from '../util/SafeEmitter.js';
import {
  canonicalMeetingId,
  checkAccess,
  identityOf,
  infoOf,
  isIn,
  isReconnecting,
  pruneParticipants,
  sameIdentity,
  sha256,
  viewOf,
} from './admissionRules.js';
import { meetingEndsAt, type MeetingDocument, type MeetingModel, type Participant } from './Meeting.js';
import { inAnotherMeeting, meetingExpired, meetingFull, meetingNotFound, notAdmitted } from './errors.js';
import { GraceTimers } from './GraceTimers.js';
import { adoptOrphans } from './adoptOrphans.js';
import { Moderation } from './Moderation.js';
import { SocketSeats, type JoinRequest } from './SocketSeats.js';

export type { JoinRequest } from './SocketSeats.js';

/** What the gate tells the transport layer; socket.io wiring lives in signaling/. */
export interface AdmissionGateEvents {
  admitted: [socketId: string, info: JoinedInfo];
  rejected: [socketId: string, error: ErrorBody];
  participantJoined: [meetingId: string, participant: ParticipantView, socketId: string];
  /** Out for good: left, removed, or dropped and not back within the grace window. Their media goes too. */
  participantLeft: [meetingId: string, participantId: string];
  /** A raised hand, or the connection: `reconnecting` after a drop, `connected` again on their return. */
  participantUpdated: [meetingId: string, participant: ParticipantView];
  /** A socket is out of the meeting or its waiting room. */
  removed: [socketId: string, meetingId: string, reason: RemovalReason];
  /** A waiting socket now waits for something else. */
  waiting: [socketId: string, waitingFor: WaitingFor];
  /** Who is knocking changed; `organizerSocketIds` are the organizer's sockets in the meeting. */
  lobby: [organizerSocketIds: string[], waiting: LobbyEntry[]];
  /** The session was closed for everyone (ended or cancelled): its media goes, reconnecting people's too. */
  sessionClosed: [meetingId: string];
}

export interface AdmissionGateOptions {
  meetings: MeetingModel;
  users: UserModel;
  clock: Clock;
  /** How long someone who dropped may come back, even after the meeting's end time. */
  rejoinGraceMs: number;
  limits: Pick<
    Config['meetings'],
    'maxParticipants' | 'maxWaiting' | 'maxDenylist' | 'maxParticipantRecords'
  >;
  /** The per-meeting queue of writes, shared with MeetingService (see there). */
  writes: KeyedSerial;
  /** This node's id on the records it makes, and which nodes are alive (see #adoptOrphans). */
  nodes: NodeLiveness;
  logger: Logger;
}

/**
 * The authoritative admission rules of a meeting: organizer first, waiting room, knock-to-enter, caps, expiry,
 * rejoin grace, removal and end. The session state (live, who is in, the denylist) is kept in the meeting
 * document, so it survives a restart; where each socket is (SocketSeats) lives in memory.
 *
 * Invariants (checked by test/integration/admissionProperties.test.ts): a socket is in at most one meeting,
 * waiting or joined, and a disconnect frees it; nobody is connected without a socket; nobody waits for the
 * organizer while the organizer is in; a session with nobody in it is over.
 *
 * All decisions about one meeting run one at a time (a per-meeting queue, keyed by the canonical id), so a join
 * racing the organizer's is either admitted by it or sees the live session. This holds within one process.
 *
 * Over 500 lines on purpose: it is one state machine whose transitions share the per-meeting queue and the
 * invariants above; its pure parts are already apart (admissionRules, SocketSeats, Moderation, GraceTimers).
 */
/** A join waiting for its meeting's queue; answered by the batch it is decided in. */
interface PendingJoin {
  socketId: string;
  auth: Auth;
  req: JoinRequest;
  resolve: (outcome: JoinOutcome) => void;
  reject: (err: unknown) => void;
}

/** Joins of one meeting queued as one task; `ticket` is the queue's ticket of that task. */
interface JoinBatch {
  joins: PendingJoin[];
  ticket: number | undefined;
}

export class AdmissionGate extends SafeEmitter<AdmissionGateEvents> {
  readonly #openBatches = new Map<string, JoinBatch>();
  readonly #o: AdmissionGateOptions;
  readonly #log: Logger;
  readonly #seats = new SocketSeats();
  readonly #serial: KeyedSerial;
  readonly #grace: GraceTimers;
  readonly #moderation: Moderation;
  #closed = false;

  constructor(options: AdmissionGateOptions) {
    const log = options.logger.child({ component: 'admission' });
    // Events go out after the decision is saved: a throwing listener is logged, the decision stands.
    super(log);
    this.#log = log;
    this.#o = options;
    this.#serial = options.writes;
    // A window's end is a decision like any other: in the meeting's queue.
    this.#grace = new GraceTimers(options.clock, (meetingId, participantId) => {
      this.#serial
        .run(meetingId, () => this.#graceOver(meetingId, participantId))
        .catch((err: unknown) =>
          this.#log.error({ err, meetingId, participantId }, 'ending a grace window failed'),
        );
    });
    this.#moderation = new Moderation({
      seats: this.#seats,
      serial: this.#serial,
      grace: this.#grace,
      clock: options.clock,
      meetings: options.meetings,
      maxDenylist: options.limits.maxDenylist,
      emit: this.safeEmit.bind(this),
      load: (meetingId) => this.#load(meetingId),
      admit: (meeting, socketId, auth, req, letIn) => this.#admit(meeting, socketId, auth, req, letIn),
      emitLobby: (meetingId) => this.#emitLobby(meetingId),
      endSessionIfEmpty: (meeting, now) => this.#endSessionIfEmpty(meeting, now),
      requireOrganizerSocket: (socketId) => this.#requireOrganizerSocket(socketId),
    });
  }

  /**
   * After a restart this process holds no socket: everyone a dead node (an earlier run of this one included) had
   * in a live session is marked as dropped, with the full grace window to come back; those who had dropped before
   * keep what is left of theirs. A meeting another live node holds is left to it: it adopts them at its next
   * decision, in its own queue, rather than racing it from here.
   */
  async recover(): Promise<void> {
    const live = await this.#o.meetings.find({ live: true });
    for (const meeting of live) {
      if (await this.#adoptOrphans(meeting, { unlessHosted: true })) await meeting.save();
    }
  }

  #adoptOrphans(meeting: MeetingDocument, options: { unlessHosted?: boolean } = {}): Promise<boolean> {
    return adoptOrphans(meeting, {
      nodes: this.#o.nodes,
      now: this.#o.clock.now(),
      rejoinGraceMs: this.#o.rejoinGraceMs,
      grace: this.#grace,
      unlessHosted: options.unlessHosted ?? false,
    });
  }

  /** Stops the grace timers: nothing is decided after this. Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    this.#grace.close();
    return Promise.resolve();
  }

  /** The meeting a socket is joined to, if any. */
  meetingOf(socketId: string): string | undefined {
    return this.#seats.joined(socketId)?.meetingId;
  }

  /** Who a socket is in its meeting, if it was admitted. */
  participantOf(
    socketId: string,
  ): { meetingId: string; participantId: string; isOrganizer: boolean } | undefined {
    const seat = this.#seats.joined(socketId);
    return seat
      ? { meetingId: seat.meetingId, participantId: seat.participantId, isOrganizer: seat.isOrganizer }
      : undefined;
  }

  /** The socket currently carrying a participant, if connected. */
  socketOf(participantId: string): string | undefined {
    return this.#seats.socketOf(participantId);
  }

  /** Where a socket is (for checks): waiting (knocking or not) or joined, in which meeting. */
  seatOf(
    socketId: string,
  ): { meetingId: string; state: 'waiting' | 'joined'; knocking: boolean } | undefined {
    const seat = this.#seats.get(socketId);
    if (!seat) return undefined;
    return {
      meetingId: seat.meetingId,
      state: seat.state,
      knocking: seat.state === 'waiting' && seat.knocking,
    };
  }

  /** Whether this process holds any socket of the meeting, waiting or joined. */
  holds(meetingId: string): boolean {
    return this.#seats.waitingIn(meetingId).length > 0 || this.#seats.joinedIn(meetingId).length > 0;
  }

  /** The sockets waiting in a meeting, in arrival order. */
  waitingIn(meetingId: string): { socketId: string; knocking: boolean }[] {
    return this.#seats.waitingIn(meetingId).map(([socketId, s]) => ({ socketId, knocking: s.knocking }));
  }

  async join(socketId: string, auth: Auth, req: JoinRequest): Promise<JoinOutcome> {
    const meetingId = canonicalMeetingId(req.meetingId);
    const request: JoinRequest = { ...req, meetingId };
    // Claimed before anything is awaited: a disconnect from here on is queued behind this decision.
    if (!this.#seats.claim(socketId, meetingId)) throw inAnotherMeeting();
    try {
      return await new Promise<JoinOutcome>((resolve, reject) => {
        const join: PendingJoin = { socketId, auth, req: request, resolve, reject };
        // Joins that arrive while the meeting's queue is busy are decided together, in one save (group commit),
        // as long as nothing else was queued behind them: a leave queued earlier still runs first.
        const open = this.#openBatches.get(meetingId);
        if (open && this.#serial.lastTicket(meetingId) === open.ticket) {
          open.joins.push(join);
          return;
        }
        const batch: JoinBatch = { joins: [join], ticket: undefined };
        this.#openBatches.set(meetingId, batch);
        this.#serial
          .run(meetingId, () => {
            if (this.#openBatches.get(meetingId) === batch) this.#openBatches.delete(meetingId);
            return this.#joinBatch(meetingId, batch.joins);
          })
          .catch((err: unknown) => {
            for (const j of batch.joins) j.reject(err);
          });
        batch.ticket = this.#serial.lastTicket(meetingId);
      });
    } finally {
      this.#seats.release(socketId);
    }
  }

  /**
   * Decides each join in arrival order against the meeting as the ones before it left it, saves once, then seats
   * and answers each. The organizer's arrival opens the session: everyone waiting for it comes in, and the
   * organizer's answer lists them (its socket is not in the meeting's room yet to hear them arrive).
   */
  async #joinBatch(meetingId: string, joins: PendingJoin[]): Promise<void> {
    const meeting = await this.#load(meetingId);
    // A meeting moved here from a dead node: its people are reconnecting, not in (they come back as themselves).
    const adopted = await this.#adoptOrphans(meeting);
    const admissions: { join: PendingJoin; commit: () => JoinOutcome }[] = [];
    for (const join of joins) {
      try {
        const decision = await this.#decide(meeting, join.socketId, join.auth, join.req, false);
        if (decision.state === 'admit') {
          admissions.push({ join, commit: decision.commit });
        } else {
          await this.#wait(meeting, join.socketId, join.auth, join.req, decision.waitingFor);
          join.resolve(decision);
        }
      } catch (err) {
        join.reject(err);
      }
    }
    if (admissions.length === 0) {
      if (adopted) await meeting.save();
      return;
    }
    try {
      await meeting.save();
    } catch (err) {
      for (const { join } of admissions) join.reject(err);
      return;
    }
    const answers = admissions.map(({ join, commit }) => ({ join, outcome: commit() }));
    const organizer = answers.find(({ outcome }) => outcome.state === 'joined' && outcome.isOrganizer);
    const saved = organizer ? await this.#admitWaiting(meeting) : meeting;
    for (const { join, outcome } of answers) {
      if (outcome.state === 'joined' && outcome.isOrganizer) {
        join.resolve({ ...outcome, participants: this.#present(saved), lobby: this.#lobby(meetingId) });
      } else {
        join.resolve(outcome);
      }
    }
  }

  /**
   * An explicit leave or a dropped connection, from the waiting room or the meeting: the socket is out of
   * everything. Whoever leaves is out at once; whoever dropped stays in the meeting as reconnecting until they
   * return or the grace window ends.
   */
  async leave(socketId: string, how: 'left' | 'dropped' = 'left'): Promise<boolean> {
    const meetingId = this.#seats.meetingOf(socketId);
    if (meetingId === undefined) return false;
    // In the meeting's queue: behind a join still being decided, so its outcome is undone, not left as a ghost.
    return this.#serial.run(meetingId, () => this.#leaveNow(socketId, meetingId, how));
  }

  async #leaveNow(socketId: string, meetingId: string, how: 'left' | 'dropped'): Promise<boolean> {
    const seat = this.#seats.get(socketId);
    if (seat?.meetingId !== meetingId) return false;
    this.#seats.free(socketId);
    if (seat.state === 'waiting') {
      if (seat.knocking) this.#emitLobby(meetingId);
      return true;
    }
    const meeting = await this.#o.meetings.findById(meetingId);
    if (!meeting) return true;
    const now = this.#o.clock.now();
    const p = meeting.participants.find((x) => x.participantId === seat.participantId);
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
      this.#grace.start(meetingId, p.participantId, p.rejoinUntil ?? new Date(now));
      this.safeEmit('participantUpdated', meetingId, viewOf(meeting, p));
    } else {
      this.safeEmit('participantLeft', meetingId, seat.participantId);
    }
    return true;
  }

  /** Raises or lowers the caller's hand; everyone in the meeting is told. */
  async raiseHand(socketId: string, raised: boolean): Promise<void> {
    const seat = this.#seats.joined(socketId);
    if (!seat) throw notAdmitted();
    await this.#serial.run(seat.meetingId, async () => {
      const meeting = await this.#load(seat.meetingId);
      const p = meeting.participants.find((x) => x.participantId === seat.participantId);
      if (!p || p.handRaised === raised) return;
      p.handRaised = raised;
      await meeting.save();
      this.safeEmit('participantUpdated', seat.meetingId, viewOf(meeting, p));
    });
  }

  /** The organizer removes someone (denylisted; a guest's removal turns on knock-to-enter). See Moderation. */
  removeParticipant(socketId: string, auth: Auth, participantId: string): Promise<void> {
    return this.#moderation.remove(socketId, auth, participantId);
  }

  /** The organizer lets in someone knocking. */
  admitWaiter(socketId: string, auth: Auth, waiterId: string): Promise<void> {
    return this.#moderation.admitWaiter(socketId, auth, waiterId);
  }

  /** The organizer turns away someone knocking (denylisted). */
  denyWaiter(socketId: string, auth: Auth, waiterId: string): Promise<void> {
    return this.#moderation.denyWaiter(socketId, auth, waiterId);
  }

  /** The organizer ends the meeting for everyone; later joins get MEETING_ENDED. */
  endMeeting(socketId: string, auth: Auth): Promise<void> {
    return this.#moderation.end(socketId, auth);
  }

  /** The meeting was cancelled: whoever is in it or waiting is out. */
  meetingCancelled(meetingId: string): Promise<void> {
    return this.#moderation.meetingCancelled(meetingId);
  }

  /** The guest link was rotated: guests of older links are out of the session and the waiting room. */
  guestLinkRotated(meetingId: string): Promise<void> {
    return this.#moderation.guestLinkRotated(meetingId);
  }

  /** Nobody connected or reconnecting: the session is over, and the next arrival waits for the organizer. */
  #endSessionIfEmpty(meeting: MeetingDocument, now: number): void {
    if (meeting.live && !meeting.participants.some((x) => isIn(x, now))) {
      meeting.live = false;
      meeting.sessionEndedAt = new Date(now);
    }
    // A session over leaves only the records still within a rejoin window: the document does not grow.
    pruneParticipants(meeting, now, this.#o.limits.maxParticipantRecords);
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
    this.safeEmit('participantLeft', meetingId, participantId);
  }

  async #load(meetingId: string): Promise<MeetingDocument> {
    const meeting = await this.#o.meetings.findById(meetingId);
    if (!meeting) throw meetingNotFound();
    return meeting;
  }

  #requireOrganizerSocket(socketId: string): string {
    const seat = this.#seats.joined(socketId);
    if (!seat) throw notAdmitted();
    return seat.meetingId;
  }

  /** Puts a socket in the waiting room (or updates what it waits for); the organizer hears of a knock. */
  async #wait(
    meeting: MeetingDocument,
    socketId: string,
    auth: Auth,
    req: JoinRequest,
    waitingFor: WaitingFor,
  ): Promise<void> {
    const meetingId = String(meeting._id);
    const current = this.#seats.get(socketId);
    const already = current?.state === 'waiting' ? current : undefined;
    if (!already && this.#seats.waitingIn(meetingId).length >= this.#o.limits.maxWaiting) {
      throw meetingFull('waiting room');
    }
    const knocking = waitingFor === 'admission';
    this.#seats.set(socketId, {
      state: 'waiting',
      meetingId,
      auth,
      req,
      waiterId: already?.waiterId ?? randomUUID(),
      displayName: already?.displayName ?? (await this.#nameOf(auth)),
      knocking,
    });
    if (knocking || already?.knocking === true) this.#emitLobby(meetingId);
  }

  /** Who is knocking in a meeting's lobby, in arrival order. */
  #lobby(meetingId: string): LobbyEntry[] {
    return this.#seats
      .waitingIn(meetingId)
      .filter(([, s]) => s.knocking)
      .map(([, s]) => ({ waiterId: s.waiterId, displayName: s.displayName, kind: s.auth.kind }));
  }

  #emitLobby(meetingId: string): void {
    const organizers = this.#seats
      .joinedIn(meetingId)
      .filter(([, s]) => s.isOrganizer)
      .map(([sid]) => sid);
    if (organizers.length > 0) this.safeEmit('lobby', organizers, this.#lobby(meetingId));
  }

  /**
   * Decides one join against the meeting as it is now; saves and announces an admission. `letIn`: the organizer
   * admitted this person from the lobby.
   */
  async #admit(
    meeting: MeetingDocument,
    socketId: string,
    auth: Auth,
    req: JoinRequest,
    letIn: boolean,
  ): Promise<JoinOutcome> {
    const decision = await this.#decide(meeting, socketId, auth, req, letIn);
    if (decision.state === 'waiting') return decision;
    await meeting.save();
    return decision.commit();
  }

  /**
   * The decision of #admit without its save: an admission changes the document (saved by the caller, once for
   * any number of them) and is announced by `commit()` only after that save.
   */
  async #decide(
    meeting: MeetingDocument,
    socketId: string,
    auth: Auth,
    req: JoinRequest,
    letIn: boolean,
  ): Promise<Extract<JoinOutcome, { state: 'waiting' }> | { state: 'admit'; commit: () => JoinOutcome }> {
    const now = this.#o.clock.now();
    checkAccess(meeting, auth, req.guestCode);
    const identity = identityOf(auth);

    // A session whose people all dropped and never came back within the grace window is over (its timers may
    // not have run: a restart, or a clock that jumped). Before the lookup below: this prunes gone records.
    this.#endSessionIfEmpty(meeting, now);

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
    if (now >= meetingEndsAt(meeting).getTime() && !stillIn && !canRejoin) throw meetingExpired();

    if (!meeting.live && !isOrganizer) return { state: 'waiting', waitingFor: 'organizer' };
    // Knock-to-enter: a guest who has no record in this session waits for the organizer's say.
    if (auth.kind === 'guest' && meeting.knockRequired && existing === undefined && !letIn) {
      return { state: 'waiting', waitingFor: 'admission' };
    }
    const alreadyIn = existing !== undefined && isIn(existing, now);
    if (!isOrganizer && !alreadyIn) {
      const inNow = meeting.participants.filter((p) => isIn(p, now)).length;
      if (inNow >= this.#o.limits.maxParticipants) throw meetingFull('meeting');
    }

    if (!meeting.live) {
      meeting.live = true;
      meeting.sessionStartedAt = new Date(now);
    }
    const rejoinToken = randomBytes(24).toString('base64url');
    let participant: Participant;
    if (existing) {
      participant = existing;
      this.#grace.cancel(participant.participantId);
      participant.leftAt = undefined;
      participant.rejoinUntil = undefined;
      participant.dropped = false;
      participant.rejoinTokenHash = sha256(rejoinToken);
      participant.node = this.#o.nodes.id;
      if (auth.kind === 'guest') participant.linkVersion = auth.linkVersion;
    } else {
      participant = {
        participantId: randomUUID(),
        kind: auth.kind,
        ...identity,
        displayName: await this.#nameOf(auth),
        joinedAt: new Date(now),
        rejoinTokenHash: sha256(rejoinToken),
        node: this.#o.nodes.id,
        ...(auth.kind === 'guest' ? { linkVersion: auth.linkVersion } : {}),
      };
      pruneParticipants(meeting, now, this.#o.limits.maxParticipantRecords - 1);
      meeting.participants.push(participant);
    }
    // Who is in as of this decision: later admissions of the same batch reach this socket as arrivals.
    const participants = this.#present(meeting);
    return {
      state: 'admit',
      commit: () =>
        this.#commit(meeting, socketId, auth, participant, {
          isOrganizer,
          reconnecting,
          stillIn,
          rejoinToken,
          participants,
        }),
    };
  }

  /** After the save: the socket takes its seat and the meeting hears of the arrival. */
  #commit(
    meeting: MeetingDocument,
    socketId: string,
    auth: Auth,
    participant: Participant,
    d: {
      isOrganizer: boolean;
      reconnecting: boolean;
      stillIn: boolean;
      rejoinToken: string;
      participants: ParticipantView[];
    },
  ): JoinOutcome {
    const meetingId = String(meeting._id);
    const { isOrganizer, reconnecting, stillIn, rejoinToken } = d;
    // One socket per participant: an older connection of the same person is replaced, never left as a ghost.
    for (const [sid, seat] of this.#seats.joinedIn(meetingId)) {
      if (sid !== socketId && seat.participantId === participant.participantId) {
        this.#seats.free(sid);
        this.safeEmit('removed', sid, meetingId, 'replaced');
      }
    }
    this.#seats.set(socketId, {
      state: 'joined',
      meetingId,
      participantId: participant.participantId,
      isOrganizer,
      auth,
    });

    // Back from a drop, the others still have them (as reconnecting): an update, not a second arrival.
    if (reconnecting) this.safeEmit('participantUpdated', meetingId, viewOf(meeting, participant));
    else if (!stillIn) this.safeEmit('participantJoined', meetingId, viewOf(meeting, participant), socketId);
    return {
      state: 'joined',
      meetingId,
      participantId: participant.participantId,
      isOrganizer,
      rejoinToken,
      rejoinWindowMs: this.#o.rejoinGraceMs,
      participants: d.participants,
    };
  }

  /** Everyone in the meeting, those reconnecting included (marked so). */
  #present(meeting: MeetingDocument): ParticipantView[] {
    const now = this.#o.clock.now();
    return meeting.participants.filter((p) => isIn(p, now)).map((p) => viewOf(meeting, p));
  }

  /**
   * The organizer is in: whoever waited for that comes in, or (knock-to-enter) starts knocking. All of them in
   * one save: at nine o'clock a lobby of 200 is one write, not 200 rewrites of a growing document. Returns the
   * meeting as saved (a failed save leaves the one given with admissions that never happened).
   */
  async #admitWaiting(meeting: MeetingDocument): Promise<MeetingDocument> {
    const meetingId = String(meeting._id);
    let lobbyChanged = false;
    const admissions: { socketId: string; commit: () => JoinOutcome }[] = [];
    for (const [socketId, seat] of this.#seats.waitingIn(meetingId)) {
      if (seat.knocking) continue;
      try {
        const decision = await this.#decide(meeting, socketId, seat.auth, seat.req, false);
        if (decision.state === 'admit') {
          admissions.push({ socketId, commit: decision.commit });
        } else if (decision.waitingFor === 'admission') {
          seat.knocking = true;
          lobbyChanged = true;
          this.safeEmit('waiting', socketId, 'admission');
        }
      } catch (err) {
        this.#seats.free(socketId);
        this.safeEmit('rejected', socketId, toAppError(err).toBody());
      }
    }
    if (lobbyChanged) this.#emitLobby(meetingId);
    if (admissions.length === 0) return meeting;
    try {
      await meeting.save();
    } catch (err) {
      // None of them is in; each is told, as one refused join would be. The organizer stays in (saved before).
      const body = toAppError(err).toBody();
      for (const { socketId } of admissions) {
        this.#seats.free(socketId);
        this.safeEmit('rejected', socketId, body);
      }
      return this.#load(meetingId);
    }
    for (const { socketId, commit } of admissions) {
      const outcome = commit();
      if (outcome.state === 'joined') this.safeEmit('admitted', socketId, infoOf(outcome));
    }
    return meeting;
  }

  async #nameOf(auth: Auth): Promise<string> {
    if (auth.kind === 'guest') return auth.displayName;
    const user = await this.#o.users.findById(auth.userId, { firstName: 1, lastName: 1 }).lean();
    return user ? displayName(user) : auth.extension;
  }
}

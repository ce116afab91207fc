import { z } from 'zod';
import type { SessionEndReason } from '../../shared/protocol.js';
import type { SessionTarget } from '../auth/AuthService.js';
import type { TypingElsewhere } from '../chat/ChatTyping.js';
import type { Logger } from '../logger.js';
import type { SeatChange } from '../presence/Presence.js';
import type { MeetingSessionChange, UccServerIo } from './sockets.js';

export interface ClusterEventsOptions {
  io: UccServerIo;
  /** Several nodes share the adapter (Redis): events go to the others too. */
  clustered: boolean;
  logger: Logger;
  /** Ends this node's sockets of the sessions. */
  endSessions: (target: SessionTarget, reason: SessionEndReason) => void;
  /** Applies a meeting's change to this node's seats in it (the gate's rules, on this node's sockets). */
  applyMeetingChange: (meetingId: string, change: MeetingSessionChange) => Promise<void>;
  /** Whether this node holds any socket of the meeting, waiting or joined. */
  holdsMeeting: (meetingId: string) => boolean;
  /** Records a room's typing as another node recorded or was pushed it (ChatService.typingElsewhere). */
  typingElsewhere: (change: TypingElsewhere) => void;
  /** Applies a seat another node's gate gave or took (Presence.seatElsewhere). */
  seatElsewhere: (change: SeatChange) => void;
  /** The seats this node's gate gave (Presence.ownSeats), for a node that starts. */
  ownSeats: () => SeatChange[];
}

const sessionTargetSchema = z.object({
  userId: z.string().min(1),
  sessionId: z.string().min(1).optional(),
  exceptSessionId: z.string().min(1).optional(),
});
const sessionEndReasonSchema = z.enum([
  'logout',
  'revoked',
  'passwordChanged',
  'disabled',
  'deleted',
  'expired',
  'guestLinkRotated',
  'meetingCancelled',
]) satisfies z.ZodType<SessionEndReason>;
const meetingChangeSchema = z.enum(['cancelled', 'linkRotated']) satisfies z.ZodType<MeetingSessionChange>;
const idSchema = z.string().min(1).max(500);
const typingRecordedSchema = z.tuple([idSchema, idSchema, z.boolean()]);
const typingPushedSchema = z.tuple([idSchema, z.array(idSchema).max(1_000)]);
const seatChangeSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('joined'), participantId: idSchema, userId: idSchema, meetingId: idSchema }),
  z.object({ type: z.literal('left'), participantId: idSchema }),
  z.object({ type: z.literal('closed'), meetingId: idSchema }),
]) satisfies z.ZodType<SeatChange>;

/**
 * What one node decides and the other nodes' sockets must follow. A user's sockets may be on any node (the user
 * socket goes wherever the balancer likes), so an ended session is ended on every node. A meeting's sockets are on
 * the node the balancer hashes it to (docs/architecture.md), while a cancel or a link rotation arrives by REST on
 * any node: the node holding the meeting's seats applies it, as the one node did before.
 *
 * The chat's typing too: who is typing in a room is known from our users' API calls (on any node) and Synapse's
 * pushes (to any node), so each node records what the others recorded or were pushed, and tells nobody of it
 * (the node that had it told the members).
 *
 * The origin acts first, in its own process; the others hear it through socket.io's `serverSideEmit` (the Redis
 * adapter's channel). Each payload is checked on arrival like any input.
 */
export class ClusterEvents {
  readonly #o: ClusterEventsOptions;
  readonly #log: Logger;

  constructor(options: ClusterEventsOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'cluster' });
    if (!options.clustered) return;
    options.io.on('sessions.ended', (target: unknown, reason: unknown) => {
      const t = sessionTargetSchema.safeParse(target);
      const r = sessionEndReasonSchema.safeParse(reason);
      if (!t.success || !r.success) return this.#log.warn('malformed sessions.ended from another node');
      options.endSessions(t.data, r.data);
    });
    options.io.on('meeting.session', (meetingId: unknown, change: unknown) => {
      const id = z.string().min(1).safeParse(meetingId);
      const c = meetingChangeSchema.safeParse(change);
      if (!id.success || !c.success) return this.#log.warn('malformed meeting.session from another node');
      // Only where the meeting's seats are: the document itself was already changed by the origin.
      if (!options.holdsMeeting(id.data)) return;
      options.applyMeetingChange(id.data, c.data).catch((err: unknown) => {
        this.#log.error({ err, meetingId: id.data, change: c.data }, 'applying a meeting change failed');
      });
    });
    options.io.on('chat.typingRecorded', (...args: unknown[]) => {
      const parsed = typingRecordedSchema.safeParse(args);
      if (!parsed.success) return this.#log.warn('malformed chat.typingRecorded from another node');
      const [roomId, mxid, typing] = parsed.data;
      options.typingElsewhere({ roomId, mxid, typing });
    });
    options.io.on('chat.typingPushed', (...args: unknown[]) => {
      const parsed = typingPushedSchema.safeParse(args);
      if (!parsed.success) return this.#log.warn('malformed chat.typingPushed from another node');
      const [roomId, mxids] = parsed.data;
      options.typingElsewhere({ roomId, mxids });
    });
    options.io.on('presence.seat', (change: unknown) => {
      const parsed = seatChangeSchema.safeParse(change);
      if (!parsed.success) return this.#log.warn('malformed presence.seat from another node');
      options.seatElsewhere(parsed.data);
    });
    options.io.on('presence.seats', (answer: unknown) => {
      if (typeof answer === 'function') (answer as (seats: SeatChange[]) => void)(options.ownSeats());
    });
  }

  /** A seat this node's gate gave or took, for the other nodes' presence. */
  presenceSeat(change: SeatChange): void {
    if (this.#o.clustered) this.#o.io.serverSideEmit('presence.seat', change);
  }

  /**
   * At start: the seats the other nodes' gates hold now, so this node's presence starts knowing who is in a
   * meeting. If a node does not answer in time, none is learned (later changes still arrive).
   */
  async learnSeats(): Promise<void> {
    if (!this.#o.clustered) return;
    let answers: unknown[];
    try {
      // The Redis adapter gives up on nodes that do not answer within its requestsTimeout (5 s).
      answers = await this.#o.io.serverSideEmitWithAck('presence.seats');
    } catch (err) {
      this.#log.warn({ err }, 'not every node told its meeting seats');
      return;
    }
    for (const answer of answers) {
      const seats = z.array(seatChangeSchema).max(100_000).safeParse(answer);
      if (!seats.success) continue;
      for (const seat of seats.data) this.#o.seatElsewhere(seat);
    }
  }

  /** A typing change made through this node's API, for the other nodes' view of the room. */
  typingRecorded(roomId: string, mxid: string, typing: boolean): void {
    if (this.#o.clustered) this.#o.io.serverSideEmit('chat.typingRecorded', roomId, mxid, typing);
  }

  /** A typing list Synapse pushed to this node, for the other nodes' view of the room. */
  typingPushed(roomId: string, mxids: string[]): void {
    if (this.#o.clustered) this.#o.io.serverSideEmit('chat.typingPushed', roomId, mxids);
  }

  /** Sessions ended (logout, disable, password change…): their sockets go, on every node. */
  sessionsEnded(target: SessionTarget, reason: SessionEndReason): void {
    this.#o.endSessions(target, reason);
    if (this.#o.clustered) this.#o.io.serverSideEmit('sessions.ended', target, reason);
  }

  /** A meeting was cancelled or its guest link rotated: here first, then wherever its seats are. */
  async meetingChanged(meetingId: string, change: MeetingSessionChange): Promise<void> {
    try {
      await this.#o.applyMeetingChange(meetingId, change);
    } finally {
      if (this.#o.clustered) this.#o.io.serverSideEmit('meeting.session', meetingId, change);
    }
  }
}

import type { Auth } from '../auth/authMiddleware.js';

export interface JoinRequest {
  meetingId: string;
  guestCode?: string | undefined;
  rejoinToken?: string | undefined;
}

/** A socket in a meeting's waiting room: for the organizer to arrive, or (`knocking`) to be let in. */
export interface WaitingSeat {
  state: 'waiting';
  meetingId: string;
  auth: Auth;
  req: JoinRequest;
  /** Names this waiter to the organizer (`meeting.admit` / `meeting.deny`) without revealing the socket id. */
  waiterId: string;
  displayName: string;
  knocking: boolean;
}

/** A socket carrying a participant of the live session. */
export interface JoinedSeat {
  state: 'joined';
  meetingId: string;
  participantId: string;
  isOrganizer: boolean;
  auth: Auth;
}

export type Seat = WaitingSeat | JoinedSeat;

/**
 * Where each socket is: waiting in one meeting, joined to one meeting, or nowhere. A socket has at most one
 * seat, so "in two waiting rooms" or "waiting here, joined there" cannot be written down at all.
 *
 * A join decision is asynchronous; while it runs the socket holds a claim on that meeting, so a second join
 * elsewhere is refused and a disconnect knows which meeting's queue to clean up in. Pure bookkeeping: no I/O.
 */
export class SocketSeats {
  readonly #seats = new Map<string, Seat>();
  readonly #claims = new Map<string, { meetingId: string; count: number }>();

  /** Reserves `socketId` for a decision about `meetingId`; false when it is in or joining another meeting. */
  claim(socketId: string, meetingId: string): boolean {
    const other = this.meetingOf(socketId);
    if (other !== undefined && other !== meetingId) return false;
    const claim = this.#claims.get(socketId);
    if (claim) claim.count += 1;
    else this.#claims.set(socketId, { meetingId, count: 1 });
    return true;
  }

  /** The decision that `claim` reserved for is over (whatever its outcome). */
  release(socketId: string): void {
    const claim = this.#claims.get(socketId);
    if (!claim) return;
    claim.count -= 1;
    if (claim.count <= 0) this.#claims.delete(socketId);
  }

  /** The meeting a socket is seated in or being decided about. */
  meetingOf(socketId: string): string | undefined {
    return this.#seats.get(socketId)?.meetingId ?? this.#claims.get(socketId)?.meetingId;
  }

  get(socketId: string): Seat | undefined {
    return this.#seats.get(socketId);
  }

  joined(socketId: string): JoinedSeat | undefined {
    const seat = this.#seats.get(socketId);
    return seat?.state === 'joined' ? seat : undefined;
  }

  /** Seats a socket (waiting or joined), replacing its seat in the same meeting. */
  set(socketId: string, seat: Seat): void {
    const current = this.meetingOf(socketId);
    // A bug, not a client's mistake: every caller claimed the meeting first.
    if (current !== undefined && current !== seat.meetingId) {
      throw new Error(`socket ${socketId} is already in meeting ${current}`);
    }
    // Re-inserting keeps arrival order honest: a socket that waits again goes to the back.
    this.#seats.delete(socketId);
    this.#seats.set(socketId, seat);
  }

  /** Frees a socket's seat, returning what it was. */
  free(socketId: string): Seat | undefined {
    const seat = this.#seats.get(socketId);
    this.#seats.delete(socketId);
    return seat;
  }

  /** The sockets waiting in a meeting, in arrival order. */
  waitingIn(meetingId: string): [string, WaitingSeat][] {
    const out: [string, WaitingSeat][] = [];
    for (const [sid, seat] of this.#seats) {
      if (seat.state === 'waiting' && seat.meetingId === meetingId) out.push([sid, seat]);
    }
    return out;
  }

  joinedIn(meetingId: string): [string, JoinedSeat][] {
    const out: [string, JoinedSeat][] = [];
    for (const [sid, seat] of this.#seats) {
      if (seat.state === 'joined' && seat.meetingId === meetingId) out.push([sid, seat]);
    }
    return out;
  }

  /** The socket carrying a participant (participant ids are unique across meetings). */
  socketOf(participantId: string): string | undefined {
    for (const [sid, seat] of this.#seats) {
      if (seat.state === 'joined' && seat.participantId === participantId) return sid;
    }
    return undefined;
  }

  /** Every seat, for checks and metrics. */
  entries(): [string, Seat][] {
    return [...this.#seats];
  }
}

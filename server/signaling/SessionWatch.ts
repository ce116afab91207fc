import type { SessionEndReason } from '../../shared/protocol.js';
import type { Auth } from '../auth/authMiddleware.js';
import type { SessionTarget } from '../auth/AuthService.js';
import type { Clock } from '../clock.js';
import { ForbiddenError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { UccSocket } from './sockets.js';

export interface SessionWatchOptions {
  clock: Clock;
  logger: Logger;
  /** The same check as the handshake's: a renewal token must pass it too. */
  authenticate: (token: string) => Promise<Auth>;
  /** Takes the socket out of its meeting for good (not as a drop: it cannot come back on this session). */
  leaveMeeting: (socketId: string) => Promise<unknown>;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

interface Watched {
  socket: UccSocket;
  cancelExpiry: () => void;
}

/**
 * Ends live sockets whose session is over. A socket authenticates once, at its handshake; afterwards this keeps it
 * honest: a timer at its token's expiry (moved by `renew`, the `auth.refresh` request), and `end…` calls for the
 * events that end sessions (logout, revocation, password change, a disabled or deleted account, and the
 * admission's guest-link rotation or cancellation through `disconnectSocketsWhere`). Each ended socket gets
 * `session.ended` and is disconnected, which takes it out of its meeting through the ordinary disconnect path.
 * The registry is this process's sockets only, like socket.io's own without an adapter.
 */
export class SessionWatch {
  readonly #o: SessionWatchOptions;
  readonly #logger: Logger;
  readonly #sockets = new Map<string, Watched>();
  #closed = false;

  constructor(options: SessionWatchOptions) {
    this.#o = options;
    this.#logger = options.logger.child({ component: 'sessions' });
  }

  /** Watches a socket that just connected, until it disconnects. */
  track(socket: UccSocket): void {
    if (this.#closed) return;
    const watched: Watched = { socket, cancelExpiry: () => undefined };
    this.#sockets.set(socket.id, watched);
    this.#scheduleExpiry(watched);
    socket.once('disconnect', () => {
      watched.cancelExpiry();
      if (this.#sockets.get(socket.id) === watched) this.#sockets.delete(socket.id);
    });
  }

  /**
   * Moves the socket onto a new token of the same identity (the `auth.refresh` request). Another user's or
   * guest's token is refused: a socket never changes hands.
   */
  async renew(socket: UccSocket, token: string): Promise<{ expiresAt: number }> {
    const next = await this.#o.authenticate(token);
    if (!sameIdentity(socket.data.auth, next)) {
      throw new ForbiddenError('The token belongs to someone else than this connection');
    }
    const watched = this.#sockets.get(socket.id);
    socket.data.auth = next;
    if (watched) this.#scheduleExpiry(watched);
    return { expiresAt: next.expiresAt ?? Number.MAX_SAFE_INTEGER };
  }

  /** The sessions AuthService reports as ended: one session, or every one of a user's (but one). */
  endSessions(target: SessionTarget, reason: SessionEndReason): number {
    return this.disconnectSocketsWhere((auth) => {
      if (auth.kind !== 'user' || auth.userId !== target.userId) return false;
      if (target.sessionId !== undefined) return auth.sessionId === target.sessionId;
      if (target.exceptSessionId !== undefined) return auth.sessionId !== target.exceptSessionId;
      return true;
    }, reason);
  }

  /** Every socket of a directory user. */
  disconnectUser(userId: string, reason: SessionEndReason): number {
    return this.endSessions({ userId }, reason);
  }

  /** The general hook: ends every watched socket whose auth matches. Returns how many were ended. */
  disconnectSocketsWhere(match: (auth: Auth) => boolean, reason: SessionEndReason): number {
    const ended = [...this.#sockets.values()].filter((w) => match(w.socket.data.auth));
    for (const watched of ended) this.#end(watched, reason);
    if (ended.length > 0)
      this.#logger.info({ sockets: ended.length, reason }, 'sessions ended on live sockets');
    return ended.length;
  }

  /** Idempotent: stops the timers (the sockets themselves are closed by the signaling server). */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const watched of this.#sockets.values()) watched.cancelExpiry();
    this.#sockets.clear();
    return Promise.resolve();
  }

  #scheduleExpiry(watched: Watched): void {
    watched.cancelExpiry();
    const expiresAt = watched.socket.data.auth.expiresAt;
    if (expiresAt === undefined) return;
    // Node's timers stop at ~24.8 days (a long guest TTL could be longer): wait in steps, then check again.
    const delay = Math.min(expiresAt - this.#o.clock.now(), MAX_TIMER_MS);
    watched.cancelExpiry = this.#o.clock.setTimer(delay, () => {
      if (this.#o.clock.now() < expiresAt) this.#scheduleExpiry(watched);
      else this.#end(watched, 'expired');
    });
  }

  #end(watched: Watched, reason: SessionEndReason): void {
    const { socket } = watched;
    watched.cancelExpiry();
    this.#sockets.delete(socket.id);
    socket.emit('session.ended', { reason });
    // Leave first, then disconnect: a disconnect alone would keep the person "reconnecting" for the grace window.
    this.#o
      .leaveMeeting(socket.id)
      .catch((err: unknown) => this.#logger.error({ err }, 'leaving the meeting at session end failed'))
      .finally(() => socket.disconnect(true));
  }
}

function sameIdentity(a: Auth, b: Auth): boolean {
  if (a.kind === 'user' && b.kind === 'user') return a.userId === b.userId;
  if (a.kind === 'guest' && b.kind === 'guest') return a.guestId === b.guestId && a.meetingId === b.meetingId;
  return false;
}

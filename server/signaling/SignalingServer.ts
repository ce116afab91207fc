import { createAdapter } from '@socket.io/redis-adapter';
import type { Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import type { AckCallback, RequestResponses, ServerToClientEvents } from '../../shared/protocol.js';
import { clientRequestSchema, type ClientRequestType } from '../../shared/schemas/requests.js';
import { zodIssuesToDetails } from '../../shared/schemas/validate.js';
import type { MeetingChatMessageView } from '../../shared/schemas/chat.js';
import type { PresenceView } from '../../shared/schemas/presence.js';
import type { Auth } from '../auth/authMiddleware.js';
import type { ChatService } from '../chat/ChatService.js';
import type { MeetingChat } from '../chat/MeetingChat.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { RateLimitedError, toAppError, UnauthenticatedError, ValidationError } from '../errors.js';
import type { RedisClients } from '../redis/RedisClients.js';
import type { Logger } from '../logger.js';
import type { AdmissionGate } from '../meetings/AdmissionGate.js';
import type { MediaRooms } from '../meetings/MediaRooms.js';
import { chatHandlers } from './chatHandlers.js';
import { mediaHandlers } from './mediaHandlers.js';
import { forwardMeetingEvents } from './meetingEvents.js';
import { meetingHandlers } from './meetingHandlers.js';
import { payloadProblem } from './payloadBounds.js';
import { dispatch, type RequestHandlerMap } from './requestHandlers.js';
import { RequestThrottle } from './RequestThrottle.js';
import { sessionHandlers } from './sessionHandlers.js';
import type { SessionWatch } from './SessionWatch.js';
import { meetingRoom, userRoom, USERS_ROOM, type UccServerIo, type UccSocket } from './sockets.js';
import { errorAck } from './toAck.js';

export { meetingRoom, userRoom, type SocketData, type UccSocket } from './sockets.js';

export interface SignalingOptions {
  logger: Logger;
  version: string;
  authenticate: (token: string) => Promise<Auth>;
  gate: AdmissionGate;
  media: MediaRooms;
  chat: ChatService;
  meetingChat: MeetingChat;
  /** Per-connection bounds: message size, request rate, payload shape. */
  limits: Config['signaling'];
  /** The throttle's time. */
  clock: Clock;
  /** Ends sockets whose session ends (expiry, logout, revocation) and renews their token (`auth.refresh`). */
  sessions: SessionWatch;
  /** Set: emits to a room reach its sockets on every server node, through Redis. */
  redis?: RedisClients | undefined;
}

/**
 * socket.io on the HTTP server, typed against the shared event maps. Each request passes the connection's
 * checks (rate, shape, zod) and then goes to the one handler of its type (`RequestHandlerMap`).
 */
export class SignalingServer {
  readonly io: UccServerIo;
  readonly #o: SignalingOptions;
  readonly #logger: Logger;
  readonly #handlers: RequestHandlerMap;
  #closed: Promise<void> | undefined;
  /** Leaves of disconnected sockets still being saved: close() waits for them, before the database goes. */
  readonly #leaving = new Set<Promise<void>>();

  constructor(httpServer: HttpServer, options: SignalingOptions) {
    this.#o = options;
    this.#logger = options.logger.child({ component: 'signaling' });
    // A larger message closes the connection in engine.io, before anything of ours runs.
    this.io = new Server(httpServer, {
      serveClient: false,
      maxHttpBufferSize: options.limits.maxMessageBytes,
      ...(options.redis
        ? { adapter: createAdapter(options.redis.forAdapter(), options.redis.sub, { key: 'ucc:io' }) }
        : {}),
    });
    // The handshake carries `auth: { token }`, a user or guest token, checked by the same code as HTTP.
    this.io.use((socket, next) => {
      const token: unknown = (socket.handshake.auth as Record<string, unknown>).token;
      const attempt =
        typeof token === 'string' && token !== ''
          ? options.authenticate(token)
          : Promise.reject(new UnauthenticatedError('A token is required to connect'));
      attempt.then(
        (auth) => {
          socket.data.auth = auth;
          if (auth.kind === 'user') void socket.join([userRoom(auth.userId), USERS_ROOM]);
          next();
        },
        (err: unknown) => {
          const body = toAppError(err).toBody();
          next(Object.assign(new Error(body.message), { data: { error: body } }));
        },
      );
    });
    this.io.on('connection', (socket) => {
      this.#onConnection(socket);
    });
    const meetingDeps = { gate: options.gate, meetingChat: options.meetingChat, logger: this.#logger };
    this.#handlers = {
      ...sessionHandlers(options),
      ...meetingHandlers(meetingDeps),
      ...mediaHandlers(options),
      ...chatHandlers(options),
    };
    forwardMeetingEvents({ ...meetingDeps, io: this.io, media: options.media });
  }

  /** Realtime notices to users' personal rooms (the meetings service's events). */
  notifyUsers(
    userIds: string[],
    event: 'meeting.invited' | 'meeting.updated' | 'meeting.cancelled',
    meetingId: string,
  ): void {
    if (userIds.length === 0) return;
    this.io.to(userIds.map(userRoom)).emit(event, { meetingId });
  }

  /** Chat and call-list events to every socket of these users (the fan-out). */
  emitToUsers<E extends 'chat.message' | 'chat.room' | 'chat.typing' | 'chat.read' | 'calls.changed'>(
    userIds: string[],
    event: E,
    ...payload: Parameters<ServerToClientEvents[E]>
  ): void {
    if (userIds.length === 0) return;
    this.io.to(userIds.map(userRoom)).emit(event, ...payload);
  }

  /** A colleague's presence, to every signed-in user (guests get none). */
  /**
   * To this node's signed-in users only: for what every node knows alike (presence), where each node tells its own
   * sockets, so that nobody hears it once per node.
   */
  emitToAllLocalUsers(event: 'presence.changed', payload: PresenceView): void {
    this.io.local.to(USERS_ROOM).emit(event, payload);
  }

  /** The directory user a connected socket belongs to, if it is a user's. */
  userOfSocket(socketId: string): string | undefined {
    const auth = this.io.sockets.sockets.get(socketId)?.data.auth;
    return auth?.kind === 'user' ? auth.userId : undefined;
  }

  /** A meeting's in-call chat message to everyone in the meeting's room. */
  emitToMeeting(meetingId: string, message: MeetingChatMessageView): void {
    this.io.to(meetingRoom(meetingId)).emit('meeting.chat.message', message);
  }

  #onConnection(socket: UccSocket): void {
    this.#o.sessions.track(socket);
    const limits = this.#o.limits;
    const throttle = new RequestThrottle({
      ratePerSecond: limits.requestsPerSecond,
      burst: limits.requestBurst,
      hammerAfter: limits.disconnectAfterRefused,
      clock: this.#o.clock,
    });
    socket.on('request', (payload: unknown, ack: AckCallback<RequestResponses[ClientRequestType]>) => {
      // Counted before anything else, acks or not: the budget is for the work a request can cause.
      const verdict = throttle.take();
      if (!verdict.allowed) {
        if (typeof ack === 'function') {
          const seconds = Math.ceil(verdict.retryAfterMs / 1000);
          ack(errorAck(new RateLimitedError(seconds, verdict.retryAfterMs), this.#logger));
        }
        if (verdict.hammering) {
          this.#logger.warn({ socketId: socket.id }, 'socket dropped: requests far past the rate limit');
          socket.disconnect(true);
        }
        return;
      }
      // A client that sends no callback gets nothing back; there is nobody to tell.
      if (typeof ack !== 'function') return;
      const problem = payloadProblem(payload, {
        maxDepth: limits.maxPayloadDepth,
        maxNodes: limits.maxPayloadNodes,
      });
      if (problem) {
        ack(errorAck(new ValidationError('Invalid request', [problem]), this.#logger));
        return;
      }
      const parsed = clientRequestSchema.safeParse(payload);
      if (!parsed.success) {
        ack(errorAck(new ValidationError('Invalid request', zodIssuesToDetails(parsed.error)), this.#logger));
        return;
      }
      dispatch(this.#handlers, parsed.data, { socket, auth: socket.data.auth }).then(
        (data) => ack({ ok: true, data }),
        (err: unknown) => ack(errorAck(err, this.#logger)),
      );
    });
    socket.on('disconnect', () => {
      const leaving = this.#o.gate
        .leave(socket.id, 'dropped')
        .then(
          () => undefined,
          (err: unknown) => this.#logger.error({ err }, 'leave on disconnect failed'),
        )
        .finally(() => this.#leaving.delete(leaving));
      this.#leaving.add(leaving);
    });
  }

  /** Idempotent: tells clients why, disconnects them, and waits until their leaves are saved. */
  async close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      // This node's sockets only: with the Redis adapter a plain emit would reach every node's.
      this.io.local.emit('server.shutdown', { reason: 'server stopping' });
      this.io.local.disconnectSockets(true);
      void this.io.close(() => {
        resolve();
      });
    });
    await this.#closed;
    // Each socket's leave is saved (as dropped, with its grace window) while the database is still there.
    await Promise.all([...this.#leaving]);
  }
}

import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type {
  AckCallback,
  ClientToServerEvents,
  InterServerEvents,
  RequestResponses,
  ServerToClientEvents,
} from '../../shared/protocol.js';
import {
  clientRequestSchema,
  type ClientRequest,
  type ClientRequestType,
} from '../../shared/schemas/requests.js';
import { zodIssuesToDetails } from '../../shared/schemas/validate.js';
import type { Auth } from '../auth/authMiddleware.js';
import { toAppError, UnauthenticatedError, ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AdmissionGate } from '../meetings/AdmissionGate.js';
import { errorAck } from './toAck.js';

export interface SocketData {
  auth: Auth;
}

type UccServerIo = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
type UccSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** The personal room of a directory user: every socket of theirs, for realtime notices. */
export function userRoom(userId: string): string {
  return `user:${userId}`;
}

/** The room of a meeting's admitted participants. */
export function meetingRoom(meetingId: string): string {
  return `meeting:${meetingId}`;
}

export interface SignalingOptions {
  logger: Logger;
  version: string;
  authenticate: (token: string) => Promise<Auth>;
  gate: AdmissionGate;
}

/** socket.io on the HTTP server, typed against the shared event maps; one handler per request type. */
export class SignalingServer {
  readonly io: UccServerIo;
  readonly #o: SignalingOptions;
  readonly #logger: Logger;
  #closed: Promise<void> | undefined;

  constructor(httpServer: HttpServer, options: SignalingOptions) {
    this.#o = options;
    this.#logger = options.logger.child({ component: 'signaling' });
    this.io = new Server(httpServer, { serveClient: false, maxHttpBufferSize: 1e6 });
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
          if (auth.kind === 'user') void socket.join(userRoom(auth.userId));
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
    this.#wireGate();
  }

  /** Realtime notices to users' personal rooms (used by the meetings service). */
  notifyUsers(
    userIds: string[],
    event: 'meeting.invited' | 'meeting.updated' | 'meeting.cancelled',
    meetingId: string,
  ): void {
    if (userIds.length === 0) return;
    this.io.to(userIds.map(userRoom)).emit(event, { meetingId });
  }

  #onConnection(socket: UccSocket): void {
    socket.on('request', (payload: unknown, ack: AckCallback<RequestResponses[ClientRequestType]>) => {
      // A client that sends no callback gets nothing back; there is nobody to tell.
      if (typeof ack !== 'function') return;
      const parsed = clientRequestSchema.safeParse(payload);
      if (!parsed.success) {
        ack(errorAck(new ValidationError('Invalid request', zodIssuesToDetails(parsed.error)), this.#logger));
        return;
      }
      this.#handle(socket, parsed.data).then(
        (data) => ack({ ok: true, data }),
        (err: unknown) => ack(errorAck(err, this.#logger)),
      );
    });
    socket.on('disconnect', () => {
      void this.#o.gate
        .leave(socket.id)
        .catch((err: unknown) => this.#logger.error({ err }, 'leave on disconnect failed'));
    });
  }

  async #handle(socket: UccSocket, request: ClientRequest): Promise<RequestResponses[ClientRequestType]> {
    const auth = socket.data.auth;
    switch (request.type) {
      case 'hello':
        return { name: 'OpiVoice UCC', version: this.#o.version, serverTime: new Date().toISOString() };
      case 'meeting.join': {
        const outcome = await this.#o.gate.join(socket.id, auth, request);
        if (outcome.state === 'joined') await socket.join(meetingRoom(outcome.meetingId));
        return outcome;
      }
      case 'meeting.leave': {
        const meetingId = this.#o.gate.meetingOf(socket.id);
        const left = await this.#o.gate.leave(socket.id);
        if (meetingId) await socket.leave(meetingRoom(meetingId));
        return { left };
      }
      case 'meeting.removeParticipant':
        await this.#o.gate.removeParticipant(socket.id, auth, request.participantId);
        return { removed: true };
      case 'meeting.end':
        await this.#o.gate.endMeeting(socket.id, auth);
        return { ended: true };
      default: {
        const unknownRequest: never = request;
        throw new ValidationError('Unknown request', [{ path: 'type', message: String(unknownRequest) }]);
      }
    }
  }

  /** The gate decides; this turns its decisions into socket messages and room membership. */
  #wireGate(): void {
    const gate = this.#o.gate;
    const socketById = (id: string): UccSocket | undefined => this.io.sockets.sockets.get(id);
    gate.on('admitted', (socketId, info) => {
      const socket = socketById(socketId);
      if (!socket) return;
      void socket.join(meetingRoom(info.meetingId));
      socket.emit('meeting.admitted', info);
    });
    gate.on('rejected', (socketId, error) => {
      socketById(socketId)?.emit('meeting.rejected', { error });
    });
    gate.on('participantJoined', (meetingId, participant, socketId) => {
      this.io.to(meetingRoom(meetingId)).except(socketId).emit('meeting.participantJoined', participant);
    });
    gate.on('participantLeft', (meetingId, participantId) => {
      this.io.to(meetingRoom(meetingId)).emit('meeting.participantLeft', { participantId });
    });
    gate.on('removed', (socketId, meetingId, reason) => {
      const socket = socketById(socketId);
      if (!socket) return;
      void socket.leave(meetingRoom(meetingId));
      socket.emit('meeting.removed', { reason });
    });
  }

  /** Idempotent: tells clients why, then disconnects them. */
  async close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.io.emit('server.shutdown', { reason: 'server stopping' });
      this.io.disconnectSockets(true);
      void this.io.close(() => {
        resolve();
      });
    });
    await this.#closed;
  }
}

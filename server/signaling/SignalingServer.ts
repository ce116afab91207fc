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
import type { ChatService } from '../chat/ChatService.js';
import type { MeetingChat } from '../chat/MeetingChat.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import {
  ForbiddenError,
  RateLimitedError,
  toAppError,
  UnauthenticatedError,
  ValidationError,
} from '../errors.js';
import type { Logger } from '../logger.js';
import type { AdmissionGate } from '../meetings/AdmissionGate.js';
import type { MediaRooms } from '../meetings/MediaRooms.js';
import type { MeetingChatMessageView } from '../../shared/schemas/chat.js';
import { payloadProblem } from './payloadBounds.js';
import { RequestThrottle } from './RequestThrottle.js';
import type { SessionWatch } from './SessionWatch.js';
import { errorAck } from './toAck.js';

export interface SocketData {
  auth: Auth;
}

type UccServerIo = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type UccSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

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
  media: MediaRooms;
  chat: ChatService;
  meetingChat: MeetingChat;
  /** Per-connection bounds: message size, request rate, payload shape. */
  limits: Config['signaling'];
  /** The throttle's time. */
  clock: Clock;
  /** Ends sockets whose session ends (expiry, logout, revocation) and renews their token (`auth.refresh`). */
  sessions: SessionWatch;
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
    // A larger message closes the connection in engine.io, before anything of ours runs.
    this.io = new Server(httpServer, {
      serveClient: false,
      maxHttpBufferSize: options.limits.maxMessageBytes,
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

  /** Chat events to every socket of these users (the chat's fan-out). */
  emitToUsers<E extends 'chat.message' | 'chat.room' | 'chat.typing' | 'chat.read'>(
    userIds: string[],
    event: E,
    ...payload: Parameters<ServerToClientEvents[E]>
  ): void {
    if (userIds.length === 0) return;
    this.io.to(userIds.map(userRoom)).emit(event, ...payload);
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
      this.#handle(socket, parsed.data).then(
        (data) => ack({ ok: true, data }),
        (err: unknown) => ack(errorAck(err, this.#logger)),
      );
    });
    socket.on('disconnect', () => {
      void this.#o.gate
        .leave(socket.id, 'dropped')
        .catch((err: unknown) => this.#logger.error({ err }, 'leave on disconnect failed'));
    });
  }

  async #handle(socket: UccSocket, request: ClientRequest): Promise<RequestResponses[ClientRequestType]> {
    const auth = socket.data.auth;
    switch (request.type) {
      case 'hello':
        return { name: 'OpiVoice UCC', version: this.#o.version, serverTime: new Date().toISOString() };
      case 'auth.refresh':
        return this.#o.sessions.renew(socket, request.token);
      case 'meeting.join': {
        const outcome = await this.#o.gate.join(socket.id, auth, request);
        if (outcome.state === 'joined') {
          await socket.join(meetingRoom(outcome.meetingId));
          this.#joinMeetingChat(outcome.meetingId, auth);
        }
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
      case 'meeting.raiseHand':
        await this.#o.gate.raiseHand(socket.id, request.raised);
        return { raised: request.raised };
      case 'meeting.admit':
        await this.#o.gate.admitWaiter(socket.id, auth, request.waiterId);
        return { admitted: true };
      case 'meeting.deny':
        await this.#o.gate.denyWaiter(socket.id, auth, request.waiterId);
        return { denied: true };
      case 'media.getRouterRtpCapabilities': {
        const seat = this.#seat(socket);
        return { rtpCapabilities: await this.#o.media.rtpCapabilities(seat.meetingId) };
      }
      case 'media.createTransport': {
        const seat = this.#seat(socket);
        return this.#o.media.createTransport(seat.meetingId, seat.participantId, request.direction);
      }
      case 'media.connectTransport': {
        const seat = this.#seat(socket);
        await this.#o.media.connectTransport(
          seat.meetingId,
          seat.participantId,
          request.transportId,
          request.dtlsParameters,
        );
        return { connected: true };
      }
      case 'media.closeTransport': {
        const seat = this.#seat(socket);
        await this.#o.media.closeTransport(seat.meetingId, seat.participantId, request.transportId);
        return { closed: true };
      }
      case 'media.restartIce': {
        const seat = this.#seat(socket);
        return {
          iceParameters: await this.#o.media.restartIce(
            seat.meetingId,
            seat.participantId,
            request.transportId,
          ),
        };
      }
      case 'media.produce': {
        const seat = this.#seat(socket);
        const producerId = await this.#o.media.produce(
          seat.meetingId,
          seat.participantId,
          request.transportId,
          request.kind,
          request.rtpParameters,
          request.source,
        );
        return { producerId };
      }
      case 'media.ready': {
        const seat = this.#seat(socket);
        const consumers = await this.#o.media.ready(
          seat.meetingId,
          seat.participantId,
          request.rtpCapabilities,
          socket.id,
        );
        const activeSpeaker = this.#o.media.activeSpeaker(seat.meetingId);
        return activeSpeaker ? { consumers, activeSpeaker } : { consumers };
      }
      case 'media.resumeConsumer': {
        const seat = this.#seat(socket);
        await this.#o.media.resumeConsumer(seat.meetingId, seat.participantId, request.consumerId);
        return { resumed: true };
      }
      case 'media.setPreferredLayers': {
        const seat = this.#seat(socket);
        await this.#o.media.setPreferredLayers(
          seat.meetingId,
          seat.participantId,
          request.consumerId,
          request.spatialLayer,
          request.temporalLayer,
        );
        return { set: true };
      }
      case 'media.pauseProducer': {
        const seat = this.#seat(socket);
        await this.#o.media.pauseProducer(seat.meetingId, seat.participantId, request.producerId, true);
        return { paused: true };
      }
      case 'media.resumeProducer': {
        const seat = this.#seat(socket);
        await this.#o.media.pauseProducer(seat.meetingId, seat.participantId, request.producerId, false);
        return { paused: false };
      }
      case 'media.closeProducer': {
        const seat = this.#seat(socket);
        await this.#o.media.closeProducer(seat.meetingId, seat.participantId, request.producerId);
        return { closed: true };
      }
      case 'media.muteParticipant': {
        const seat = this.#organizerSeat(socket);
        return { muted: await this.#o.media.mute(seat.meetingId, request.participantId, request.lock) };
      }
      case 'media.unlockParticipant': {
        const seat = this.#organizerSeat(socket);
        await this.#o.media.unlock(seat.meetingId, request.participantId);
        return { unlocked: true };
      }
      case 'media.stopCamera': {
        const seat = this.#organizerSeat(socket);
        return { stopped: await this.#o.media.stopCamera(seat.meetingId, request.participantId) };
      }
      case 'chat.typing':
        if (auth.kind !== 'user') throw new ForbiddenError('Chat is for directory users');
        await this.#o.chat.typing(auth, request.roomId, request.typing);
        return { sent: true };
      case 'meeting.chat.send': {
        const seat = this.#seat(socket);
        return this.#o.meetingChat.send(seat, auth, request.body);
      }
      case 'meeting.chat.history': {
        const seat = this.#seat(socket);
        return this.#o.meetingChat.history(seat.meetingId, request);
      }
      default: {
        const unknownRequest: never = request;
        throw new ValidationError('Unknown request', [{ path: 'type', message: String(unknownRequest) }]);
      }
    }
  }

  /** Brings an admitted colleague into the meeting's chat room; the chat itself retries at their first message. */
  #joinMeetingChat(meetingId: string, auth: Auth): void {
    this.#o.meetingChat.admitted(meetingId, auth).catch((err: unknown) => {
      this.#logger.warn({ err: String(err), meetingId }, 'joining the meeting chat failed');
    });
  }

  /** Media and meeting-chat requests need an admitted participant. */
  #seat(socket: UccSocket): { meetingId: string; participantId: string; isOrganizer: boolean } {
    const seat = this.#o.gate.participantOf(socket.id);
    if (!seat) throw new ForbiddenError('Join the meeting first');
    return seat;
  }

  #organizerSeat(socket: UccSocket): { meetingId: string; participantId: string } {
    const seat = this.#seat(socket);
    if (!seat.isOrganizer) throw new ForbiddenError('Only the organizer can do this');
    return seat;
  }

  /** The gate decides; this turns its decisions into socket messages and room membership. */
  #wireGate(): void {
    const gate = this.#o.gate;
    const media = this.#o.media;
    const socketById = (id: string): UccSocket | undefined => this.io.sockets.sockets.get(id);
    const toParticipant = (participantId: string): UccSocket | undefined => {
      const socketId = gate.socketOf(participantId);
      return socketId ? socketById(socketId) : undefined;
    };
    const logged = (p: Promise<void>): void => {
      p.catch((err: unknown) => this.#logger.error({ err }, 'media clean-up failed'));
    };

    media.on('newConsumer', (pid, consumer) => toParticipant(pid)?.emit('media.newConsumer', consumer));
    media.on('consumerClosed', (pid, consumerId) =>
      toParticipant(pid)?.emit('media.consumerClosed', { consumerId }),
    );
    media.on('consumerPaused', (pid, consumerId, paused) =>
      toParticipant(pid)?.emit('media.consumerPaused', { consumerId, paused }),
    );
    media.on('layersChanged', (pid, consumerId, layers) =>
      toParticipant(pid)?.emit('media.layersChanged', {
        consumerId,
        spatialLayer: layers?.spatialLayer ?? null,
        temporalLayer: layers?.temporalLayer ?? null,
      }),
    );
    media.on('activeSpeaker', (meetingId, participantId) =>
      this.io.to(meetingRoom(meetingId)).emit('media.activeSpeaker', { participantId }),
    );
    media.on('mutedByOrganizer', (pid, locked) =>
      toParticipant(pid)?.emit('media.mutedByOrganizer', { locked }),
    );
    media.on('cameraStopped', (pid) => toParticipant(pid)?.emit('media.cameraStoppedByOrganizer', {}));
    media.on('micUnlocked', (pid) => toParticipant(pid)?.emit('media.micUnlocked', {}));
    media.on('restart', (pid, reason) => toParticipant(pid)?.emit('media.restart', { reason }));
    // Whoever is out of the meeting for good loses their media; the last one out closes the meeting's routers.
    // A dropped participant is not out yet (the gate reports them as reconnecting): their transports and
    // producers stay for the grace window, so the others keep their consumers and a return resumes on them.
    gate.on('participantLeft', (meetingId, participantId) => {
      logged(media.leave(meetingId, participantId));
    });
    gate.on('admitted', (socketId, info) => {
      const socket = socketById(socketId);
      if (!socket) return;
      void socket.join(meetingRoom(info.meetingId));
      socket.emit('meeting.admitted', info);
      this.#joinMeetingChat(info.meetingId, socket.data.auth);
    });
    gate.on('rejected', (socketId, error) => {
      socketById(socketId)?.emit('meeting.rejected', { error });
    });
    gate.on('participantJoined', (meetingId, participant, socketId) => {
      this.io.to(meetingRoom(meetingId)).except(socketId).emit('meeting.participantJoined', participant);
    });
    gate.on('participantUpdated', (meetingId, participant) => {
      this.io.to(meetingRoom(meetingId)).emit('meeting.participantUpdated', participant);
    });
    gate.on('participantLeft', (meetingId, participantId) => {
      this.io.to(meetingRoom(meetingId)).emit('meeting.participantLeft', { participantId });
    });
    gate.on('sessionClosed', (meetingId) => {
      logged(media.endMeeting(meetingId));
    });
    gate.on('waiting', (socketId, waitingFor) => {
      socketById(socketId)?.emit('meeting.waiting', { waitingFor });
    });
    gate.on('lobby', (organizerSocketIds, waiting) => {
      this.io.to(organizerSocketIds).emit('meeting.lobby', { waiting });
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

import { io, type Socket } from 'socket.io-client';
import type { z } from 'zod';
import type { ErrorBody, ErrorCode } from '../../../shared/errors.js';
import type {
  Ack,
  ClientToServerEvents,
  JoinedInfo,
  JoinOutcome,
  LobbyEntry,
  ParticipantView,
  RemovalReason,
  RequestResponses,
  ServerToClientEvents,
  WaitingFor,
  SessionEndReason,
} from '../../../shared/protocol.js';
import type { clientRequestSchema, ClientRequestType } from '../../../shared/schemas/requests.js';
import { Emitter } from './Emitter.js';

export type MeetingSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A request as the client writes it (defaults such as `lock: false` may be left out). */
export type RequestPayload = z.input<typeof clientRequestSchema>;
export type RequestOf<T extends ClientRequestType> = Extract<RequestPayload, { type: T }>;

/** An error answer of the server, with its stable code. */
export class RequestError extends Error {
  readonly code: ErrorCode | 'TIMEOUT' | 'DISCONNECTED';
  readonly details: ErrorBody['details'];

  constructor(code: RequestError['code'], message: string, details?: ErrorBody['details']) {
    super(message);
    this.name = 'RequestError';
    this.code = code;
    this.details = details;
  }
}

export type ConnectionState =
  'connecting' | 'connected' | 'waiting' | 'joined' | 'reconnecting' | 'left' | 'closed';

export interface MeetingConnectionEvents extends Record<string, unknown[]> {
  state: [ConnectionState];
  /** In the meeting: first admission, and again after each rejoin that followed a dropped socket. */
  joined: [JoinedInfo, { rejoin: boolean }];
  participantJoined: [ParticipantView];
  /** A raised hand or a connection (reconnecting, connected again) changed; this participant's own hand too. */
  participantUpdated: [ParticipantView];
  participantLeft: [string];
  /**
   * Out of the meeting for good: removed, ended, replaced by another tab, refused while waiting (with the
   * server's error code: MEETING_FULL, MEETING_EXPIRED, …), or the session (login or guest token) ended
   * (`sessionEnded` tells why).
   */
  removed: [RemovalReason | 'rejected' | 'rejoinFailed' | 'sessionEnded' | ErrorCode];
  /** Waiting, and for what: the organizer to start, or (knock-to-enter) to let this person in. */
  waitingFor: [WaitingFor];
  /** The organizer's view of who is knocking (the whole list each time). */
  lobby: [LobbyEntry[]];
  /** The server ended this connection's session; `removed` follows. */
  sessionEnded: [SessionEndReason];
  error: [unknown];
}

export interface MeetingConnectionOptions {
  /** The server's origin; the page's own origin when left out. */
  url?: string;
  /** An access token or a guest token; a function is asked again at each (re)connection. */
  token: string | (() => string | Promise<string>);
  /** How long one request may take. */
  requestTimeoutMs?: number;
  /**
   * The meeting this connection is for, sent as `?meeting=` on the WebSocket: a balancer in front of several
   * server nodes hashes on it, so that every connection of one meeting reaches the node holding its media.
   */
  meetingId?: string;
  /**
   * Subscribes to new tokens of the same user (each refresh): the connection moves onto them (`auth.refresh`)
   * before the server ends it at the current token's expiry. Returns the unsubscribe.
   */
  renewals?: (listener: (token: string) => void) => () => void;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The signaling connection of one meeting: a socket.io client authenticated with a token, typed requests, and
 * the join with its waiting room. When the socket drops and comes back, it rejoins with the rejoin token and emits
 * `joined` with `rejoin: true` (the server kept this participant's media for the grace window: the media layer
 * resumes on the same transports, or rebuilds if they are gone).
 */
export class MeetingConnection extends Emitter<MeetingConnectionEvents> {
  readonly socket: MeetingSocket;
  readonly #timeoutMs: number;
  #state: ConnectionState = 'connecting';
  #meetingId: string | undefined;
  #guestCode: string | undefined;
  #joined: JoinedInfo | undefined;
  #participants = new Map<string, ParticipantView>();
  #waitingFor: WaitingFor = 'organizer';
  #lobby: LobbyEntry[] = [];
  #stopRenewals: () => void = () => undefined;

  private constructor(socket: MeetingSocket, timeoutMs: number) {
    super();
    this.socket = socket;
    this.#timeoutMs = timeoutMs;
    socket.on('connect', () => void this.#onConnect());
    socket.on('disconnect', (reason) => {
      // The server closed us (removed, shutdown) or we closed: socket.io will not reconnect.
      if (reason === 'io server disconnect' || reason === 'io client disconnect') {
        if (this.#state !== 'left') this.#setState('closed');
      } else {
        this.#setState('reconnecting');
      }
    });
    socket.on('meeting.admitted', (info) => this.#admitted(info, false));
    socket.on('meeting.rejected', ({ error }) => {
      this.#out();
      this.emit('removed', error.code);
    });
    socket.on('meeting.removed', ({ reason }) => {
      this.#out();
      this.emit('removed', reason);
    });
    socket.on('meeting.waiting', ({ waitingFor }) => this.#waiting(waitingFor));
    socket.on('meeting.lobby', ({ waiting }) => {
      this.#lobby = waiting;
      this.emit('lobby', waiting);
    });
    socket.on('session.ended', ({ reason }) => {
      const wasIn = this.#meetingId !== undefined;
      this.#out();
      this.emit('sessionEnded', reason);
      if (wasIn) this.emit('removed', 'sessionEnded');
    });
    socket.on('meeting.participantJoined', (p) => {
      this.#participants.set(p.participantId, p);
      this.emit('participantJoined', p);
    });
    socket.on('meeting.participantUpdated', (p) => {
      // Someone who dropped stays in the map, marked reconnecting, until participantLeft (their grace ran out).
      if (p.participantId !== this.#joined?.participantId) this.#participants.set(p.participantId, p);
      this.emit('participantUpdated', p);
    });
    socket.on('meeting.participantLeft', ({ participantId }) => {
      this.#participants.delete(participantId);
      this.emit('participantLeft', participantId);
    });
  }

  /** Connects and authenticates; rejects when the server refuses the token. */
  static async connect(options: MeetingConnectionOptions): Promise<MeetingConnection> {
    const { token } = options;
    const socket: MeetingSocket = io(options.url ?? '', {
      transports: ['websocket'],
      autoConnect: false,
      // Lower case, as the server keys meetings: one meeting, one hash, whatever case the link had.
      ...(options.meetingId ? { query: { meeting: options.meetingId.toLowerCase() } } : {}),
      auth: (cb) => {
        void Promise.resolve(typeof token === 'function' ? token() : token).then((t) => cb({ token: t }));
      },
    });
    const connection = new MeetingConnection(socket, options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS);
    if (options.renewals) {
      connection.#stopRenewals = options.renewals((t) => {
        if (socket.connected)
          void connection.request({ type: 'auth.refresh', token: t }).catch(() => undefined);
      });
    }
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.off('connect', onConnect);
        socket.disconnect();
        reject(err);
      };
      const onConnect = (): void => {
        socket.off('connect_error', onError);
        resolve();
      };
      socket.once('connect', onConnect);
      socket.once('connect_error', onError);
      socket.connect();
    });
    return connection;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** This participant, once in the meeting. */
  get self(): JoinedInfo | undefined {
    return this.#joined;
  }

  /** What a waiting connection waits for. */
  get waitingFor(): WaitingFor {
    return this.#waitingFor;
  }

  /** Who is knocking (the organizer's connection only). */
  get lobby(): LobbyEntry[] {
    return [...this.#lobby];
  }

  /** Everybody else in the meeting, as last told by the server. */
  get participants(): ParticipantView[] {
    return [...this.#participants.values()];
  }

  /** Sends one request; resolves with its data or rejects with a RequestError. */
  async request<T extends ClientRequestType>(payload: RequestOf<T>): Promise<RequestResponses[T]> {
    if (!this.socket.connected) throw new RequestError('DISCONNECTED', 'Not connected to the server');
    let ack: Ack<RequestResponses[T]>;
    try {
      ack = (await this.socket.timeout(this.#timeoutMs).emitWithAck('request', payload)) as Ack<
        RequestResponses[T]
      >;
    } catch {
      throw new RequestError('TIMEOUT', `No answer to ${payload.type} within ${this.#timeoutMs} ms`);
    }
    if (!ack.ok) throw new RequestError(ack.error.code, ack.error.message, ack.error.details);
    return ack.data;
  }

  /**
   * Joins the meeting. Resolves once admitted: at once, or when the organizer arrives (state `waiting` meanwhile).
   * Rejects when refused, or when the wait ends without admission.
   */
  async join(meetingId: string, options: { guestCode?: string } = {}): Promise<JoinedInfo> {
    this.#meetingId = meetingId;
    this.#guestCode = options.guestCode;
    const admitted = new Promise<JoinedInfo>((resolve, reject) => {
      const offJoined = this.once('joined', (info) => {
        offRemoved();
        resolve(info);
      });
      const offRemoved = this.once('removed', (reason) => {
        offJoined();
        reject(new RequestError('FORBIDDEN', `Not admitted: ${reason}`));
      });
    });
    try {
      const outcome = await this.request({ type: 'meeting.join', meetingId, ...this.#guestCodeField() });
      this.#outcome(outcome, false);
    } catch (err) {
      // Nobody will settle `admitted` now: detach it so its rejection is not reported as unhandled.
      admitted.catch(() => undefined);
      this.#out();
      throw err;
    }
    return admitted;
  }

  async leave(): Promise<void> {
    if (this.#state === 'joined' || this.#state === 'waiting') {
      await this.request({ type: 'meeting.leave' }).catch(() => undefined);
    }
    this.#out();
  }

  close(): void {
    this.#stopRenewals();
    this.socket.disconnect();
    this.#joined = undefined;
    this.#setState('closed');
    this.removeAllListeners();
  }

  #guestCodeField(): { guestCode?: string } {
    return this.#guestCode === undefined ? {} : { guestCode: this.#guestCode };
  }

  #outcome(outcome: JoinOutcome, rejoin: boolean): void {
    if (outcome.state === 'joined') this.#admitted(outcome, rejoin);
    else this.#waiting(outcome.waitingFor);
  }

  #waiting(waitingFor: WaitingFor): void {
    this.#waitingFor = waitingFor;
    this.#setState('waiting');
    this.emit('waitingFor', waitingFor);
  }

  #admitted(info: JoinedInfo, rejoin: boolean): void {
    this.#joined = info;
    if (info.lobby) {
      this.#lobby = info.lobby;
      this.emit('lobby', info.lobby);
    }
    this.#participants = new Map(
      info.participants
        .filter((p) => p.participantId !== info.participantId)
        .map((p) => [p.participantId, p]),
    );
    this.#setState('joined');
    this.emit('joined', info, { rejoin });
  }

  /** A socket that came back after a drop joins again: with the rejoin token, as the same participant. */
  async #onConnect(): Promise<void> {
    const meetingId = this.#meetingId;
    if (!meetingId) {
      this.#setState('connected');
      return;
    }
    const previous = this.#joined;
    try {
      const outcome = await this.request({
        type: 'meeting.join',
        meetingId,
        ...(previous ? { rejoinToken: previous.rejoinToken } : {}),
        ...this.#guestCodeField(),
      });
      this.#outcome(outcome, previous !== undefined);
    } catch (err) {
      this.#out();
      this.emit('error', err);
      this.emit('removed', 'rejoinFailed');
    }
  }

  /** Out of the meeting for good: a reconnection does not join again. */
  #out(): void {
    this.#joined = undefined;
    this.#meetingId = undefined;
    this.#setState('left');
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }
}

import assert from 'node:assert/strict';
import { io, type Socket } from 'socket.io-client';
import type {
  Ack,
  ClientToServerEvents,
  JoinedInfo,
  JoinOutcome,
  RequestResponses,
  ServerToClientEvents,
} from '../../shared/protocol.js';
import type { ChatMessageView } from '../../shared/schemas/chat.js';
import type { ClientRequestType } from '../../shared/schemas/requests.js';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** socket.io clients for tests: connected with a token, all closed by `closeAll`. */
export class SocketPool {
  readonly #sockets: ClientSocket[] = [];

  constructor(readonly baseUrl: string) {}

  /** `meeting`: sent as `?meeting=`, as the web app's meeting connection does (balancers hash on it). */
  async connect(token: string, options: { meeting?: string } = {}): Promise<ClientSocket> {
    const socket: ClientSocket = io(this.baseUrl, {
      transports: ['websocket'],
      auth: { token },
      ...(options.meeting ? { query: { meeting: options.meeting } } : {}),
      reconnection: false,
    });
    this.#sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    return socket;
  }

  closeAll(): void {
    for (const s of this.#sockets.splice(0)) s.disconnect();
  }
}

/** Sends one request and returns its ack. */
export async function request<T extends ClientRequestType>(
  socket: ClientSocket,
  payload: { type: T } & Record<string, unknown>,
): Promise<Ack<RequestResponses[T]>> {
  return (await socket.timeout(5_000).emitWithAck('request', payload)) as Ack<RequestResponses[T]>;
}

/** Resolves with the next payload of `event` on `socket`. */
export function nextEvent<E extends keyof ServerToClientEvents>(
  socket: ClientSocket,
  event: E,
  timeoutMs = 5_000,
): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    // socket.io's typed `once` cannot express a generic event name; the listener is typed by the map above.
    (socket.once as (e: string, l: (p: unknown) => void) => void)(event, (payload: unknown) => {
      clearTimeout(timer);
      resolve(payload as Parameters<ServerToClientEvents[E]>[0]);
    });
  });
}

/**
 * A round trip on `socket`: whatever the server sent it before answering has arrived (one connection keeps its
 * order). The barrier for "nothing more was told": take it once the server is known to have done its part.
 */
export async function roundTrip(socket: ClientSocket): Promise<void> {
  const ack = await request(socket, { type: 'hello', client: 'test-barrier' });
  assert.ok(ack.ok, `hello failed: ${JSON.stringify(ack)}`);
}

/** The data of a successful ack; fails the test with the ack otherwise. */
export function ackData<T>(ack: Ack<T>): T {
  assert.ok(ack.ok, `request failed: ${JSON.stringify(ack)}`);
  return ack.data;
}

/** The next payload of `event` on `socket` that `matches` (others are let through). */
export function nextEventWhere<E extends 'chat.message' | 'meeting.chat.message' | 'presence.changed'>(
  socket: ClientSocket,
  event: E,
  matches: (payload: Parameters<ServerToClientEvents[E]>[0]) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  type Payload = Parameters<ServerToClientEvents[E]>[0];
  // socket.io's typed on/off cannot express a generic event name; the listener is typed by the map above.
  const on = socket.on.bind(socket) as (e: string, l: (p: Payload) => void) => void;
  const off = socket.off.bind(socket) as (e: string, l: (p: Payload) => void) => void;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off(event, listener);
      reject(new Error(`no ${what}`));
    }, timeoutMs);
    const listener = (payload: Payload): void => {
      if (!matches(payload)) return;
      clearTimeout(timer);
      off(event, listener);
      resolve(payload);
    };
    on(event, listener);
  });
}

/** The next `chat.message` on a socket whose body is `body` (others are let through). */
export function nextChatMessage(
  socket: ClientSocket,
  body: string,
  timeoutMs = 10_000,
): Promise<ChatMessageView> {
  const shown = body.length > 40 ? `${body.slice(0, 40)}…` : body;
  return nextEventWhere(socket, 'chat.message', (m) => m.body === body, `message "${shown}"`, timeoutMs);
}

/** The code of an error ack; fails the test if the request succeeded. */
export function ackErrorCode(ack: Ack<unknown>): string {
  assert.equal(ack.ok, false, `expected an error, got ${JSON.stringify(ack)}`);
  return ack.ok ? '' : ack.error.code;
}

/** The seat of a `meeting.join` answered `joined`; fails the test on an error or a wait. */
export function joined(ack: Ack<JoinOutcome>): JoinedInfo {
  assert.ok(ack.ok, `join failed: ${JSON.stringify(ack)}`);
  assert.equal(ack.data.state, 'joined', `expected joined, got ${JSON.stringify(ack.data)}`);
  return ack.data;
}

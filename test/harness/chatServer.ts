import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createClient, type MatrixClient } from 'matrix-js-sdk';
import type { AppserviceTransactionsEvents } from '../../server/chat/matrix/AppserviceTransactions.js';
import type { Config } from '../../server/config.js';
import type { ChatMessageView, ChatRoomView, MeetingChatMessageView } from '../../shared/schemas/chat.js';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import { eventually } from './eventually.js';
import { registerMatrixUser, type RegisteredMatrixUser } from './matrixUsers.js';
import { startServer, type ServerFixture, type TestUser } from './serverFixture.js';
import { nextChatMessage, nextEventWhere, SocketPool, type ClientSocket } from './sockets.js';
import { testStack } from './testStack.js';

/** How long a chat suite waits for something Synapse pushes. */
export const CHAT_EVENT_TIMEOUT_MS = 10_000;

/** A valid 1×1 PNG, so that Synapse can make a thumbnail of it. */
export const PNG_1X1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

export interface ErrorBody {
  error: { code: string; details?: { path: string; message: string }[] };
}

export type HandledTransaction = AppserviceTransactionsEvents['handled'][0];

/** A directory user's Matrix id, as the bridge provisions it. */
export function mxidOf(u: TestUser): string {
  return `@ucc_${u.extension}:${testStack().matrix.serverName}`;
}

/** Collects every `chat.message` a socket receives. */
export function collect(socket: ClientSocket): ChatMessageView[] {
  const seen: ChatMessageView[] = [];
  socket.on('chat.message', (m) => seen.push(m));
  return seen;
}

/** The next meeting.chat.message on a socket whose body matches. */
export function nextMeetingMessage(socket: ClientSocket, body: string): Promise<MeetingChatMessageView> {
  return nextEventWhere(
    socket,
    'meeting.chat.message',
    (m) => m.body === body,
    `meeting message "${body}"`,
    CHAT_EVENT_TIMEOUT_MS,
  );
}

/** The next chat.message on a socket whose body matches. */
export function nextMessage(socket: ClientSocket, body: string): Promise<ChatMessageView> {
  return nextChatMessage(socket, body, CHAT_EVENT_TIMEOUT_MS);
}

/**
 * Resolves once the bridge has handled (and is acknowledging) a transaction that `matches`: every handler has
 * finished with it, so what it would have told sockets was emitted. Subscribe before the action that causes it.
 */
export function nextTransaction(
  fx: Pick<ServerFixture, 'bridge'>,
  what: string,
  matches: (txn: HandledTransaction) => boolean,
): Promise<HandledTransaction> {
  const { events } = fx.bridge.transactions;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      events.off('handled', listener);
      reject(new Error(`no transaction with ${what} within ${CHAT_EVENT_TIMEOUT_MS} ms`));
    }, CHAT_EVENT_TIMEOUT_MS);
    const listener = (txn: HandledTransaction): void => {
      if (!matches(txn)) return;
      clearTimeout(timer);
      events.off('handled', listener);
      resolve(txn);
    };
    events.on('handled', listener);
  });
}

/** The helpers of a suite that runs one server where Synapse pushes its transactions (the bridge URL). */
export interface ChatServer {
  readonly fx: ServerFixture;
  readonly sockets: SocketPool;
  /** Matrix clients a test made: stopped after it. */
  readonly matrixClients: MatrixClient[];
  user: (firstName: string, lastName: string) => Promise<TestUser>;
  openDm: (a: TestUser, b: TestUser) => Promise<{ status: number; room: ChatRoomView }>;
  send: (u: TestUser, roomId: string, body: Record<string, unknown>) => Promise<string>;
  getRoom: (u: TestUser, roomId: string) => Promise<ChatRoomView>;
  rooms: (u: TestUser) => Promise<ChatRoomView[]>;
  /** A client-server call as one of the bridge's users, the way a Matrix admin would look. */
  asMatrixUser: <T>(mxid: string, path: string) => Promise<{ status: number; body: T }>;
  /**
   * A client-server call that writes, the way a Matrix client such as Element would: as a plain Matrix user with
   * their own token, or as one of the bridge's users (a colleague on Element) through the appservice token.
   */
  matrixWrite: (
    as: { token: string } | { mxid: string },
    method: 'PUT' | 'POST',
    path: string,
    body?: object,
  ) => Promise<void>;
  /**
   * A plain Matrix user (someone on Element) who creates a room and invites these colleagues; the bridge accepts
   * for them. Resolves once the room, with its creator among the members, is in every colleague's list.
   */
  elementRoom: (
    displayName: string,
    invitees: TestUser[],
  ) => Promise<{ plain: RegisteredMatrixUser; client: MatrixClient; roomId: string }>;
  /** A link-only meeting starting now, lasting an hour. */
  scheduleNow: (organizer: TestUser) => Promise<MeetingView>;
  guestSocketFor: (meeting: MeetingView, name: string) => Promise<ClientSocket>;
}

/**
 * Registers the hooks of a chat suite: a server listening at the bridge URL the suite's Synapse pushes to (one
 * suite at a time, as mocha runs them), its sockets closed and Matrix clients stopped after each test.
 */
export function chatServer(options: { chat?: Partial<Config['chat']> } = {}): ChatServer {
  let fx: ServerFixture | undefined;
  let sockets: SocketPool | undefined;
  const matrixClients: MatrixClient[] = [];

  before(async () => {
    const stack = testStack();
    const bridgeUrl = stack.config.matrix.mode === 'embedded' ? stack.config.matrix.bridgeUrl : '';
    // Synapse pushes transactions to the bridge URL it was started with: this server must listen there.
    fx = await startServer({
      config: {
        http: { ...stack.config.http, port: Number(new URL(bridgeUrl).port) },
        chat: { ...stack.config.chat, ...options.chat },
      },
    });
    sockets = new SocketPool(fx.baseUrl);
  });

  afterEach(() => {
    sockets?.closeAll();
    for (const c of matrixClients.splice(0)) c.stopClient();
  });

  after(async () => {
    sockets?.closeAll();
    await fx?.close();
  });

  const server = (): ServerFixture => {
    if (!fx) throw new Error('the chat server is not started yet');
    return fx;
  };

  const rooms = async (u: TestUser): Promise<ChatRoomView[]> => {
    const res = await server().api('GET', '/api/chat/rooms', { token: u.token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as { items: ChatRoomView[] }).items;
  };

  return {
    get fx() {
      return server();
    },
    get sockets() {
      if (!sockets) throw new Error('the chat server is not started yet');
      return sockets;
    },
    matrixClients,
    user: (firstName, lastName) => server().createUser({ firstName, lastName }),
    openDm: async (a, b) => {
      const res = await server().api('POST', '/api/chat/dms', { token: a.token, body: { userId: b.id } });
      assert.ok(res.status === 201 || res.status === 200, JSON.stringify(res.body));
      return { status: res.status, room: res.body as ChatRoomView };
    },
    send: async (u, roomId, body) => {
      const res = await server().api('POST', `/api/chat/rooms/${encodeURIComponent(roomId)}/messages`, {
        token: u.token,
        body,
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return (res.body as { eventId: string }).eventId;
    },
    getRoom: async (u, roomId) => {
      const res = await server().api('GET', `/api/chat/rooms/${encodeURIComponent(roomId)}`, {
        token: u.token,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as ChatRoomView;
    },
    rooms,
    asMatrixUser: async <T>(mxid: string, path: string) => {
      const { matrix } = testStack();
      const url = new URL(`${matrix.homeserverUrl}/_matrix/client/v3${path}`);
      url.searchParams.set('user_id', mxid);
      const res = await fetch(url, { headers: { Authorization: `Bearer ${matrix.asToken}` } });
      return { status: res.status, body: (await res.json()) as T };
    },
    matrixWrite: async (as, method, path, body = {}) => {
      const { matrix } = testStack();
      const url = new URL(`${matrix.homeserverUrl}/_matrix/client/v3${path}`);
      if ('mxid' in as) url.searchParams.set('user_id', as.mxid);
      const res = await fetch(url, {
        method,
        headers: {
          Authorization: `Bearer ${'token' in as ? as.token : matrix.asToken}`,
          'Content-Type': 'application/json',
        },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 200, await res.text());
    },
    elementRoom: async (displayName, invitees) => {
      const { matrix } = testStack();
      const plain = await registerMatrixUser(matrix, `element_${randomUUID().slice(0, 8)}`, 'correct horse');
      const client = createClient({
        baseUrl: matrix.homeserverUrl,
        userId: plain.userId,
        accessToken: plain.accessToken,
      });
      matrixClients.push(client);
      await client.setDisplayName(displayName);
      // A colleague's Matrix account must exist before they can be invited: any API use provisions it.
      for (const u of invitees) await rooms(u);
      const { room_id: roomId } = await client.createRoom({
        name: `Da ${displayName}`,
        invite: invitees.map(mxidOf),
      });
      for (const u of invitees) {
        await eventually(
          `the room, with its creator, in ${u.extension}’s list`,
          CHAT_EVENT_TIMEOUT_MS,
          async () =>
            (await rooms(u)).find(
              (r) => r.roomId === roomId && r.members.some((m) => m.mxid === plain.userId),
            ),
        );
      }
      return { plain, client, roomId };
    },
    scheduleNow: async (organizer) => {
      const res = await server().api('POST', '/api/meetings', {
        token: organizer.token,
        body: { title: 'Riunione chat', startAt: new Date().toISOString(), durationMinutes: 60 },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body as MeetingView;
    },
    guestSocketFor: async (meeting, name) => {
      const code = meeting.guestUrl.split('/m/')[1] ?? '';
      const res = await server().api('POST', `/api/guest/${code}/join`, { body: { displayName: name } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      if (!sockets) throw new Error('the chat server is not started yet');
      return sockets.connect((res.body as { guestToken: string }).guestToken);
    },
  };
}

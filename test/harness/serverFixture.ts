import { randomUUID } from 'node:crypto';
import { hashPassword } from '../../server/util/passwords.js';
import { TokenService, type GuestClaims } from '../../server/auth/TokenService.js';
import { systemClock, type Clock } from '../../server/clock.js';
import type { Config } from '../../server/config.js';
import { Database } from '../../server/db/Database.js';
import { userModel, type User, type UserModel } from '../../server/directory/User.js';
import type { MatrixEndpoint } from '../../server/chat/matrix/appservice.js';
import type { MatrixBridge } from '../../server/chat/matrix/MatrixBridge.js';
import type { RedisClients } from '../../server/redis/RedisClients.js';
import type { KamailioEndpoint } from '../../server/stack/KamailioService.js';
import { UccServer } from '../../server/UccServer.js';
import { TEST_JWT_SECRET, testStack } from './testStack.js';

export interface TestUser {
  id: string;
  extension: string;
  password: string;
  /** A valid access token for this user, fresh at each read. */
  readonly token: string;
}

export interface ServerFixture {
  server: UccServer;
  /** The server's Matrix bridge: its `transactions` tell when Synapse's pushes were handled. */
  bridge: MatrixBridge;
  db: Database;
  users: UserModel;
  baseUrl: string;
  /** Creates a directory user straight in the database and mints an access token for it. */
  createUser: (fields?: Partial<Omit<User, 'passwordHash'>> & { password?: string }) => Promise<TestUser>;
  /** Signs tokens the server accepts (same secret, same clock). */
  tokens: TokenService;
  /** A guest token for a meeting (by default a made-up one: enough to test what guests may not do). */
  guestToken: (claims?: Partial<GuestClaims>) => string;
  /** fetch() against the server, JSON in and out, with an optional bearer token. */
  api: (
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ) => Promise<{
    status: number;
    headers: Headers;
    body: unknown;
  }>;
  close: () => Promise<void>;
}

let nextExtension = 3000;

/** A UccServer on port 0 against the suite's real services, with a database of its own. */
export async function startServer(
  options: {
    matrix?: MatrixEndpoint;
    clock?: Clock;
    config?: Partial<Config>;
    reuseDb?: Database;
    /** A Kamailio edge for the telephony suites (test/harness/phoneEdge.ts); without it the call APIs are 503. */
    kamailio?: KamailioEndpoint;
    /** Shared with other nodes (the multi-node tests); the test closes it. */
    redis?: RedisClients;
  } = {},
): Promise<ServerFixture> {
  const stack = testStack();
  // reuseDb: a second server on the same data, as after a restart; the first fixture owns the database.
  const db =
    options.reuseDb ??
    (await Database.connect(stack.ferret.uri, {
      dbName: `t_${randomUUID().slice(0, 8)}`,
      logger: stack.logger,
    }));
  const clock = options.clock ?? systemClock;
  let bridge: MatrixBridge | undefined;
  const server = await UccServer.create({
    config: { ...stack.config, ...options.config },
    logger: stack.logger,
    db,
    pool: stack.pool,
    matrix: options.matrix ?? stack.matrix,
    turn: stack.turn,
    kamailio: options.kamailio,
    redis: options.redis,
    clock,
    onChatBridge: (made) => (bridge = made),
  });
  if (!bridge) throw new Error('the server made no Matrix bridge');
  const baseUrl = `http://127.0.0.1:${server.port}`;
  const users = userModel(db.connection);
  const tokens = new TokenService({
    secret: TEST_JWT_SECRET,
    // A day, not the server's 15 minutes: a socket keeps the token it connected with and the server ends it at that
    // token's expiry, while meeting tests move the clock by hours. Tests of expiry use tokens from a real login.
    accessTtlMs: 24 * 3_600_000,
    guestTtlMs: 3_600_000,
    clock,
  });

  return {
    server,
    bridge,
    db,
    users,
    baseUrl,
    createUser: async (fields = {}) => {
      const { password = 'password-123', ...rest } = fields;
      const doc = await users.create({
        extension: String(nextExtension++),
        firstName: 'Test',
        lastName: 'User',
        ...rest,
        passwordHash: await hashPassword(password),
      });
      const id = String(doc._id);
      const extension = doc.extension;
      // Signed on each read, by the server's clock: a test that moves its clock never holds an expired token.
      return {
        id,
        extension,
        password,
        get token() {
          return tokens.signAccess({ userId: id, extension }).token;
        },
      };
    },
    api: async (method, path, { token, body, headers = {} } = {}) => {
      const init: RequestInit = { method, headers: { ...headers } };
      if (token) (init.headers as Record<string, string>).Authorization = `Bearer ${token}`;
      if (body !== undefined) {
        if (typeof body === 'string') init.body = body;
        else {
          init.body = JSON.stringify(body);
          (init.headers as Record<string, string>)['Content-Type'] ??= 'application/json';
        }
      }
      const res = await fetch(`${baseUrl}${path}`, init);
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // Not JSON: keep the text.
      }
      return { status: res.status, headers: res.headers, body: parsed };
    },
    tokens,
    guestToken: (claims = {}) =>
      tokens.signGuest({ guestId: 'g1', meetingId: 'm1', displayName: 'Ospite', linkVersion: 1, ...claims })
        .token,
    close: async () => {
      await server.close();
      if (options.reuseDb) return;
      await db.connection.dropDatabase();
      await db.close();
    },
  };
}

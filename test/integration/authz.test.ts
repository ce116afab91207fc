import assert from 'node:assert/strict';
import { startServer, type ServerFixture } from '../harness/serverFixture.js';

type Caller = 'anonymous' | 'guest' | 'basic' | 'pro' | 'admin';
const CALLERS: Caller[] = ['anonymous', 'guest', 'basic', 'pro', 'admin'];

interface Endpoint {
  method: string;
  path: string;
  /** A body that passes validation, so that only authorization decides. */
  body?: unknown;
  contentType?: string;
  /** Who gets past authorization. */
  allowed: Caller[];
}

const ANY_USER: Caller[] = ['basic', 'pro', 'admin'];
const ADMIN: Caller[] = ['admin'];
const EVERYONE: Caller[] = CALLERS;

/** Every endpoint of the API with its audience. The path placeholder `:id` is a real user created per test. */
function endpoints(targetId: string): Endpoint[] {
  return [
    { method: 'POST', path: '/api/auth/login', body: { extension: '999', password: 'x' }, allowed: EVERYONE },
    { method: 'POST', path: '/api/auth/refresh', allowed: EVERYONE },
    { method: 'POST', path: '/api/auth/logout', allowed: EVERYONE },
    { method: 'POST', path: '/api/auth/recover', body: { extension: '999' }, allowed: EVERYONE },
    {
      method: 'POST',
      path: '/api/auth/reset',
      body: { token: 'x'.repeat(40), password: 'long-enough' },
      allowed: EVERYONE,
    },
    {
      method: 'POST',
      path: '/api/auth/password',
      body: { currentPassword: 'wrong', newPassword: 'long-enough' },
      allowed: ANY_USER,
    },
    { method: 'GET', path: '/api/me', allowed: ANY_USER },
    { method: 'PATCH', path: '/api/me/preferences', body: { darkTheme: true }, allowed: ANY_USER },
    { method: 'GET', path: '/api/directory?q=ro', allowed: ANY_USER },
    { method: 'GET', path: `/api/directory/users/${targetId}`, allowed: ADMIN },
    {
      method: 'POST',
      path: '/api/directory/users',
      body: { extension: '777', firstName: 'Nuovo', lastName: 'Utente', password: 'long-enough' },
      allowed: ADMIN,
    },
    {
      method: 'PATCH',
      path: `/api/directory/users/${targetId}`,
      body: { firstName: 'Renamed' },
      allowed: ADMIN,
    },
    { method: 'DELETE', path: `/api/directory/users/${targetId}`, allowed: ADMIN },
    { method: 'PUT', path: '/api/directory/sync', body: { users: [] }, allowed: ADMIN },
    {
      method: 'POST',
      path: '/api/directory/import',
      body: 'extension,firstName,lastName\n',
      contentType: 'text/csv',
      allowed: ADMIN,
    },
  ];
}

describe('authorization table: every endpoint × (anonymous, guest, basic, pro, admin)', () => {
  let fx: ServerFixture;
  let tokens: Record<Caller, string | undefined>;

  beforeEach(async () => {
    fx = await startServer();
    tokens = {
      anonymous: undefined,
      guest: fx.guestToken(),
      basic: (await fx.createUser({ plan: 'basic' })).token,
      pro: (await fx.createUser({ plan: 'pro' })).token,
      admin: (await fx.createUser({ role: 'admin', plan: 'pro' })).token,
    };
  });

  afterEach(async () => {
    await fx.close();
  });

  for (const caller of CALLERS) {
    it(`gives ${caller} exactly the endpoints meant for them`, async () => {
      const mismatches: string[] = [];
      const count = endpoints('').length;
      for (let i = 0; i < count; i++) {
        // A fresh target user per call, since DELETE removes it.
        const endpoint = endpoints((await fx.createUser()).id)[i];
        assert.ok(endpoint);
        const res = await fx.api(endpoint.method, endpoint.path, {
          token: tokens[caller],
          body: endpoint.body,
          headers: endpoint.contentType ? { 'Content-Type': endpoint.contentType } : {},
        });
        const code = (res.body as { error?: { code?: string } } | undefined)?.error?.code;
        // A denial by the authorization layer, as opposed to a business answer such as INVALID_CREDENTIALS.
        const denied = code === 'FORBIDDEN' || (code === 'UNAUTHENTICATED' && endpoint.allowed !== EVERYONE);
        const name = `${endpoint.method} ${endpoint.path}`;
        if (res.status >= 500) mismatches.push(`${name}: ${res.status}`);
        else if (endpoint.allowed.includes(caller)) {
          if (denied) mismatches.push(`${name}: denied (${res.status} ${code ?? ''})`);
        } else {
          const expected = caller === 'anonymous' ? 401 : 403;
          if (!denied || res.status !== expected)
            mismatches.push(`${name}: expected ${expected}, got ${res.status}`);
        }
      }
      assert.deepEqual(mismatches, []);
    });
  }
});

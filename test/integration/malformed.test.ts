import assert from 'node:assert/strict';
import { startServer, type ServerFixture } from '../harness/serverFixture.js';

/** Bodies that no endpoint accepts. Each must give 400 VALIDATION_FAILED, never a 500. */
const BAD_BODIES: { label: string; raw: string }[] = [
  { label: 'broken JSON', raw: '{"extension": ' },
  { label: 'a JSON array', raw: '[1,2,3]' },
  { label: 'JSON null', raw: 'null' },
  { label: 'a JSON string', raw: '"hello"' },
  { label: 'wrong types', raw: '{"extension": 200, "password": true, "users": "all", "token": 5, "q": []}' },
  { label: 'unknown fields only', raw: '{"__proto__": {"admin": true}, "$where": "1"}' },
  {
    label: 'a huge string',
    // Within the smallest body limit (login's), so that it is the schema that refuses it.
    raw: JSON.stringify({ extension: '2'.repeat(3000), firstName: 'x'.repeat(3000) }),
  },
];

const BODY_ENDPOINTS: { method: string; path: string }[] = [
  { method: 'POST', path: '/api/auth/login' },
  { method: 'POST', path: '/api/auth/recover' },
  { method: 'POST', path: '/api/auth/reset' },
  { method: 'POST', path: '/api/auth/password' },
  { method: 'PATCH', path: '/api/me/preferences' },
  { method: 'POST', path: '/api/directory/users' },
  { method: 'PATCH', path: '/api/directory/users/:id' },
  { method: 'PUT', path: '/api/directory/sync' },
];

describe('malformed input on every endpoint', () => {
  let fx: ServerFixture;
  let admin: string;
  let targetId: string;

  beforeEach(async () => {
    fx = await startServer();
    admin = (await fx.createUser({ role: 'admin', plan: 'pro' })).token;
    targetId = (await fx.createUser()).id;
  });

  afterEach(async () => {
    await fx.close();
  });

  for (const endpoint of BODY_ENDPOINTS) {
    it(`${endpoint.method} ${endpoint.path} answers every malformed body with 400 VALIDATION_FAILED`, async () => {
      const failures: string[] = [];
      for (const bad of BAD_BODIES) {
        const res = await fx.api(endpoint.method, endpoint.path.replace(':id', targetId), {
          token: admin,
          body: bad.raw,
          headers: { 'Content-Type': 'application/json' },
        });
        const code = (res.body as { error?: { code?: string } }).error?.code;
        if (res.status !== 400 || code !== 'VALIDATION_FAILED')
          failures.push(`${bad.label}: ${res.status} ${code ?? ''}`);
      }
      assert.deepEqual(failures, []);
    });
  }

  it('answers malformed ids and queries with 400, never 500', async () => {
    const cases: [string, string][] = [
      ['GET', '/api/directory/users/not-an-id'],
      ['PATCH', '/api/directory/users/123'],
      ['DELETE', '/api/directory/users/%00'],
      ['GET', '/api/directory?page=-1'],
      ['GET', '/api/directory?pageSize=100000'],
      ['GET', '/api/directory?q=' + 'x'.repeat(500)],
      ['GET', '/api/directory?page=abc'],
      // A chat file: the mxc parts are checked before anything reaches Synapse.
      ['GET', '/api/chat/rooms/%21r%3Aucc.localhost/files/ucc.localhost/bad.id'],
      ['GET', '/api/chat/rooms/%21r%3Aucc.localhost/files/bad%20server/abcdef'],
      ['GET', '/api/chat/rooms/%21r%3Aucc.localhost/files/ucc.localhost/abcdef?thumbnail=yes'],
      ['GET', '/api/chat/rooms/not-a-room/files/ucc.localhost/abcdef'],
    ];
    const failures: string[] = [];
    for (const [method, path] of cases) {
      const res = await fx.api(method, path, {
        token: admin,
        body: method === 'PATCH' ? { firstName: 'X' } : undefined,
      });
      if (res.status !== 400) failures.push(`${method} ${path}: ${res.status}`);
    }
    assert.deepEqual(failures, []);
  });

  it('answers a CSV import that is not CSV text with 415, and a broken CSV with 400', async () => {
    const json = await fx.api('POST', '/api/directory/import', { token: admin, body: { users: [] } });
    assert.equal(json.status, 415);
    assert.equal((json.body as { error?: { code?: string } }).error?.code, 'UNSUPPORTED_MEDIA_TYPE');
    const broken = await fx.api('POST', '/api/directory/import', {
      token: admin,
      body: 'extension,firstName\n"unterminated',
      headers: { 'Content-Type': 'text/csv' },
    });
    assert.equal(broken.status, 400);
  });

  it('answers a bearer header that is not a bearer token with 401 on a guarded route', async () => {
    const res = await fx.api('GET', '/api/me', { headers: { Authorization: 'Basic abc def' } });
    assert.equal(res.status, 401);
  });
});

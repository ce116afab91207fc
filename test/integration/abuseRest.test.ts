import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { ERROR_CODES } from '../../shared/errors.js';
import { rawHttp, type RawRequest, type RawResponse } from '../harness/rawHttp.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';
import { testStack } from '../harness/testStack.js';

/**
 * Our malformed-REST abuse suite: well over a thousand requests a client could send by mistake or on purpose, over
 * every route of every router, with and without a token. Whatever arrives, the answer is never a 5xx, every error
 * has the documented shape with a code from shared/errors.ts, and the server stays healthy.
 */

type BodyKind = 'none' | 'json' | 'csv' | 'raw' | 'appservice';
type Who = 'anyone' | 'user' | 'admin' | 'pro' | 'hs';

interface Route {
  method: string;
  path: string;
  body: BodyKind;
  who: Who;
  /** Body fields the route's schema knows: the generators put odd values in them. */
  fields?: string[];
}

/** Every route, as the routers (server/*\/…Router.ts, MatrixBridge.router, createApp) declare them. */
const ROUTES: Route[] = [
  { method: 'POST', path: '/api/auth/login', body: 'json', who: 'anyone', fields: ['extension', 'password'] },
  { method: 'POST', path: '/api/auth/refresh', body: 'none', who: 'anyone' },
  { method: 'POST', path: '/api/auth/logout', body: 'none', who: 'anyone' },
  {
    method: 'POST',
    path: '/api/auth/password',
    body: 'json',
    who: 'user',
    fields: ['currentPassword', 'newPassword'],
  },
  { method: 'POST', path: '/api/auth/recover', body: 'json', who: 'anyone', fields: ['extension'] },
  { method: 'POST', path: '/api/auth/reset', body: 'json', who: 'anyone', fields: ['token', 'password'] },
  { method: 'GET', path: '/api/me', body: 'none', who: 'user' },
  {
    method: 'PATCH',
    path: '/api/me/preferences',
    body: 'json',
    who: 'user',
    fields: ['language', 'darkTheme', 'notificationSounds', 'devices'],
  },
  { method: 'GET', path: '/api/directory', body: 'none', who: 'user' },
  { method: 'GET', path: '/api/directory/users/:id', body: 'none', who: 'admin' },
  {
    method: 'POST',
    path: '/api/directory/users',
    body: 'json',
    who: 'admin',
    fields: ['extension', 'firstName', 'lastName', 'password', 'email', 'role', 'plan', 'avatarUrl'],
  },
  {
    method: 'PATCH',
    path: '/api/directory/users/:id',
    body: 'json',
    who: 'admin',
    fields: ['firstName', 'email', 'role', 'plan'],
  },
  { method: 'DELETE', path: '/api/directory/users/:id', body: 'none', who: 'admin' },
  { method: 'PUT', path: '/api/directory/sync', body: 'json', who: 'admin', fields: ['users'] },
  { method: 'POST', path: '/api/directory/import', body: 'csv', who: 'admin' },
  {
    method: 'POST',
    path: '/api/meetings',
    body: 'json',
    who: 'pro',
    fields: ['title', 'description', 'startAt', 'durationMinutes', 'inviteeIds'],
  },
  { method: 'GET', path: '/api/meetings', body: 'none', who: 'user' },
  { method: 'GET', path: '/api/meetings/:id', body: 'none', who: 'pro' },
  {
    method: 'PATCH',
    path: '/api/meetings/:id',
    body: 'json',
    who: 'pro',
    fields: ['title', 'startAt', 'durationMinutes', 'inviteeIds'],
  },
  { method: 'DELETE', path: '/api/meetings/:id', body: 'none', who: 'pro' },
  { method: 'POST', path: '/api/meetings/:id/guest-link/rotate', body: 'none', who: 'pro' },
  { method: 'GET', path: '/api/meetings/:id/invite.ics', body: 'none', who: 'pro' },
  { method: 'GET', path: '/api/guest/:code', body: 'none', who: 'anyone' },
  { method: 'POST', path: '/api/guest/:code/join', body: 'json', who: 'anyone', fields: ['displayName'] },
  { method: 'GET', path: '/api/chat/rooms', body: 'none', who: 'user' },
  { method: 'POST', path: '/api/chat/dms', body: 'json', who: 'user', fields: ['userId'] },
  {
    method: 'POST',
    path: '/api/chat/rooms',
    body: 'json',
    who: 'user',
    fields: ['name', 'memberIds', 'topic'],
  },
  { method: 'GET', path: '/api/chat/rooms/:roomId', body: 'none', who: 'user' },
  { method: 'PATCH', path: '/api/chat/rooms/:roomId', body: 'json', who: 'user', fields: ['name', 'topic'] },
  { method: 'POST', path: '/api/chat/rooms/:roomId/members', body: 'json', who: 'user', fields: ['userIds'] },
  { method: 'DELETE', path: '/api/chat/rooms/:roomId/members/:userId', body: 'none', who: 'user' },
  { method: 'POST', path: '/api/chat/rooms/:roomId/leave', body: 'none', who: 'user' },
  { method: 'GET', path: '/api/chat/rooms/:roomId/messages', body: 'none', who: 'user' },
  {
    method: 'POST',
    path: '/api/chat/rooms/:roomId/messages',
    body: 'json',
    who: 'user',
    fields: ['body', 'clientTxnId', 'replyTo'],
  },
  {
    method: 'PUT',
    path: '/api/chat/rooms/:roomId/messages/:eventId',
    body: 'json',
    who: 'user',
    fields: ['body'],
  },
  { method: 'POST', path: '/api/chat/rooms/:roomId/read', body: 'json', who: 'user', fields: ['eventId'] },
  { method: 'POST', path: '/api/chat/rooms/:roomId/typing', body: 'json', who: 'user', fields: ['typing'] },
  { method: 'POST', path: '/api/chat/rooms/:roomId/files', body: 'raw', who: 'user' },
  { method: 'GET', path: '/api/chat/rooms/:roomId/files/:serverName/:mediaId', body: 'none', who: 'user' },
  { method: 'GET', path: '/healthz', body: 'none', who: 'anyone' },
  { method: 'GET', path: '/readyz', body: 'none', who: 'anyone' },
  { method: 'GET', path: '/metrics', body: 'none', who: 'anyone' },
  { method: 'GET', path: '/m/:code', body: 'none', who: 'anyone' },
  { method: 'GET', path: '/meetings/:id', body: 'none', who: 'anyone' },
  {
    method: 'PUT',
    path: '/_matrix/app/v1/transactions/:txnId',
    body: 'appservice',
    who: 'hs',
    fields: ['events', 'ephemeral'],
  },
  { method: 'GET', path: '/_matrix/app/v1/users/:userId', body: 'none', who: 'hs' },
  { method: 'GET', path: '/_matrix/app/v1/rooms/:alias', body: 'none', who: 'hs' },
  { method: 'POST', path: '/_matrix/app/v1/ping', body: 'none', who: 'hs' },
];

/** 64 MiB of zeros, about 64 KiB compressed: only a limit applied after inflating stops it. */
const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** NoSQL operators where a string or an id is expected. */
const OPERATORS: unknown[] = [
  { $gt: '' },
  { $ne: null },
  { $where: 'sleep(1000)' },
  { $regex: '.*' },
  { $in: [] },
  { $exists: true },
  ['$gt', ''],
];

/** Path segments that are not what the route takes, encoded or not. */
const BAD_SEGMENTS: fc.Arbitrary<string>[] = [
  fc.constant('AABBCCDDEEFF001122334455'),
  fc.constant('zzzzzzzzzzzzzzzzzzzzzzzz'),
  fc.constant('123'),
  fc.constant('a'.repeat(6000)),
  fc.constant(encodeURIComponent('{"$gt":""}')),
  fc.constant('%24gt'),
  fc.constant('%ZZ'),
  fc.constant('%E0%A4%A'),
  fc.constant('%'),
  fc.constant('%00'),
  fc.constant('..%2F..%2Fetc%2Fpasswd'),
  fc.constant('%2e%2e'),
  fc.constant('__proto__'),
  fc.constant('constructor'),
  fc.constant(encodeURIComponent('!room:ucc.localhost')),
  fc.constant(encodeURIComponent('$event')),
  fc.constant(encodeURIComponent('@ucc_200:ucc.localhost')),
  fc.stringMatching(/^[0-9a-f]{24}$/),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
];

const CHARSETS = ['latin1', 'iso-8859-1', 'utf-16', 'utf-16le', 'utf-32', 'koi8-r', 'x-bogus', '""', 'utf-8'];
const CONTENT_TYPES = [
  'text/plain',
  'text/csv',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json;;',
  'application/json; charset',
  'application/json; charset="',
  '',
  '*/*',
  'application/merge-patch+json',
  'application/octet-stream',
  'application/json',
];

const BAD_JSON = [
  '{"extension": ',
  '{',
  '}',
  '[',
  'null',
  'true',
  '"string"',
  '12',
  '{"a":1,}',
  "{'a':1}",
  '{"a":NaN}',
  '{"a":1} trailing',
  '\u0000{}',
  '\uFEFF{}',
  '{"a":"\\ud800"}',
  '{"a":1e999999}',
  '[1,2,3]',
  '{"__proto__":{"role":"admin"}}',
  '{"constructor":{"prototype":{"role":"admin"}}}',
  '{"a":{"__proto__":{"polluted":true}}}',
  '{"toString":"x","valueOf":1,"hasOwnProperty":2}',
];

/** Deep nesting, balanced or not, as arrays or objects. */
const deepJson = fc
  .record({
    depth: fc.integer({ min: 33, max: 100_000 }),
    shape: fc.constantFrom('array', 'object', 'unbalanced', 'inField'),
  })
  .map(({ depth, shape }) => {
    switch (shape) {
      case 'array':
        return '['.repeat(depth) + ']'.repeat(depth);
      case 'object':
        return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
      case 'unbalanced':
        return '['.repeat(depth);
      case 'inField':
        return `{"body":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    }
  });

/** A plausible body with odd values in the route's fields. */
function fieldsBody(fields: string[]): fc.Arbitrary<string> {
  const value = fc.oneof(
    fc.constantFrom(...OPERATORS),
    fc.string({ maxLength: 30 }),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom(...OPERATORS)), { maxLength: 5 }),
    fc.constant('x'.repeat(25_000)),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 4 }),
  );
  const key = fc.oneof(
    fc.constantFrom(...(fields.length > 0 ? fields : ['x'])),
    fc.constantFrom('$where', 'role', '_id', 'passwordHash', 'constructor', 'prototype'),
  );
  return fc
    .array(fc.tuple(key, value), { maxLength: 6 })
    .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
}

interface Case extends RawRequest {
  label: string;
}

interface Context {
  tokens: Record<Exclude<Who, 'anyone'>, string> & { guest: string };
  meetingId: string;
  guestCode: string;
}

const size = (bytes: number): string => JSON.stringify({ body: 'x'.repeat(bytes) });

/** One malformed request to one of the routes. */
function caseArb(routes: Route[], ctx: Context): fc.Arbitrary<Case> {
  const segment = fc.oneof(
    { weight: 6, arbitrary: fc.oneof(...BAD_SEGMENTS) },
    { weight: 1, arbitrary: fc.constantFrom(ctx.meetingId, ctx.guestCode) },
  );
  const auth = fc.constantFrom(
    'none',
    'own',
    'user',
    'admin',
    'guest',
    'garbage',
    'malformed',
    'hs-wrong',
    'hs-query',
  );
  const query = fc.constantFrom(
    '',
    '',
    '?page[$gt]=1',
    '?q=%ZZ',
    '?q=%',
    '?pageSize=1e9&page=-1',
    '?scope=all&scope=past',
    '?name=x&name=y',
    '?thumbnail[]=1',
    '?from=' + 'x'.repeat(3000),
    '?q[$regex]=.*',
    '?__proto__[admin]=1',
    '?limit=abc',
  );
  return fc
    .record({
      route: fc.constantFrom(...routes),
      segments: fc.array(segment, { minLength: 3, maxLength: 3 }),
      auth,
      // Mostly the route's own method; a fifth of the time another one.
      method: fc.oneof(
        { weight: 4, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
      ),
      query,
      body: fc.oneof(
        { weight: 3, arbitrary: fc.constant<'fields'>('fields') },
        { weight: 2, arbitrary: fc.constantFrom(...BAD_JSON) },
        { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
        { weight: 1, arbitrary: deepJson },
        { weight: 1, arbitrary: fc.constantFrom(size(10 * 1024), size(300 * 1024)) },
        { weight: 1, arbitrary: fc.constant(undefined) },
      ),
      contentType: fc.oneof(
        { weight: 4, arbitrary: fc.constant('application/json') },
        { weight: 2, arbitrary: fc.constantFrom(...CHARSETS).map((c) => `application/json; charset=${c}`) },
        { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
        { weight: 1, arbitrary: fc.constantFrom(...CHARSETS).map((c) => `text/csv; charset=${c}`) },
      ),
      encoding: fc.oneof(
        { weight: 5, arbitrary: fc.constant('identity') },
        {
          weight: 2,
          arbitrary: fc.constantFrom(
            'gzip',
            'gzip-broken',
            'gzip-truncated',
            'deflate-broken',
            'br-broken',
            'compress',
            'x-bogus',
            'gzip, gzip',
          ),
        },
      ),
    })
    .chain((c) =>
      (c.body === 'fields' ? fieldsBody(c.route.fields ?? []) : fc.constant(c.body)).map((body) => ({
        ...c,
        body,
      })),
    )
    .map((c) => {
      let i = 0;
      const path = c.route.path.replace(/:[a-zA-Z]+/g, () => c.segments[i++ % 3] ?? 'x') + c.query;
      const method = c.method ?? c.route.method;
      const headers: Record<string, string> = {};
      const token =
        c.auth === 'own'
          ? c.route.who === 'anyone'
            ? undefined
            : ctx.tokens[c.route.who]
          : c.auth === 'user'
            ? ctx.tokens.user
            : c.auth === 'admin'
              ? ctx.tokens.admin
              : c.auth === 'guest'
                ? ctx.tokens.guest
                : c.auth === 'garbage'
                  ? 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'
                  : c.auth === 'hs-wrong'
                    ? 'not-the-hs-token'
                    : undefined;
      if (token !== undefined) headers.Authorization = `Bearer ${token}`;
      if (c.auth === 'malformed') headers.Authorization = 'Bearer a b c';
      let finalPath = path;
      if (c.auth === 'hs-query')
        finalPath += `${path.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(ctx.tokens.hs)}`;
      let body: Buffer | undefined = c.body === undefined ? undefined : Buffer.from(c.body);
      if (body !== undefined) {
        if (c.contentType !== '') headers['Content-Type'] = c.contentType;
        if (c.encoding !== 'identity') {
          const [name, damage] = c.encoding.split('-');
          headers['Content-Encoding'] = name ?? c.encoding;
          if (name === 'gzip' && damage === undefined) body = gzipSync(body);
          else if (damage === 'truncated') body = gzipSync(body).subarray(0, 12);
          else if (damage === 'broken') body = Buffer.from('this is not compressed at all');
        }
      }
      const label = `${method} ${finalPath.slice(0, 120)} auth=${c.auth} type=${c.contentType} enc=${c.encoding} body=${(c.body ?? '<none>').slice(0, 60)}`;
      return { label, method, path: finalPath, headers, body };
    });
}

/** What is wrong with one answer, or undefined when it keeps the contract. */
function violation(req: RawRequest, res: RawResponse): string | undefined {
  if (res.status >= 500) return `${res.status}: ${res.text.slice(0, 200)}`;
  if (res.status < 400 || req.method === 'HEAD') return undefined;
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    return `${res.status} with a body that is not JSON: ${res.text.slice(0, 100)}`;
  }
  if (req.path.startsWith('/_matrix/app/')) {
    const m = body as { errcode?: unknown; error?: unknown };
    return typeof m.errcode === 'string' && /^M_[A-Z_]+$/.test(m.errcode) && typeof m.error === 'string'
      ? undefined
      : `${res.status} not in Matrix's error shape: ${res.text.slice(0, 100)}`;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } }).error;
  if (!error || typeof error.message !== 'string') return `${res.status} not in the error shape: ${res.text}`;
  if (!(ERROR_CODES as readonly unknown[]).includes(error.code)) return `unknown code ${String(error.code)}`;
  if (error.code === 'INTERNAL') return `${res.status} INTERNAL`;
  if (error.details !== undefined) {
    const ok =
      Array.isArray(error.details) &&
      error.details.every(
        (d: unknown) =>
          typeof (d as { path?: unknown }).path === 'string' &&
          typeof (d as { message?: unknown }).message === 'string',
      );
    if (!ok) return `${res.status} with malformed details: ${JSON.stringify(error.details)}`;
  }
  return undefined;
}

/** Sends every case, a few at a time, and lists those whose answer breaks the contract. */
async function run(
  http: ReturnType<typeof rawHttp>,
  cases: Case[],
): Promise<{ failures: string[]; statuses: Map<number, number> }> {
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let c = cases[next++]; c !== undefined; c = cases[next++]) {
      const res = await http.send(c);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const problem = violation(c, res);
      if (problem) failures.push(`${c.label} → ${problem}`);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return { failures, statuses };
}

describe('malformed REST requests (abuse suite)', () => {
  let fx: ServerFixture;
  let http: ReturnType<typeof rawHttp>;
  let ctx: Context;
  let healthy: TestUser;
  let sent = 0;

  before(async () => {
    const base = testStack().config;
    // The suite sends hundreds of logins and recoveries from one address: per-IP limits would answer most of them
    // 429 (a fine answer, but one that stops the requests from reaching the parsers and schemas under test).
    fx = await startServer({
      config: {
        rateLimits: { ...base.rateLimits, loginPerIp: 1_000_000, recoverPerIp: 1_000_000 },
      },
    });
    http = rawHttp(fx.baseUrl);
    const [user, admin, pro] = [
      await fx.createUser(),
      await fx.createUser({ role: 'admin', plan: 'pro' }),
      await fx.createUser({ plan: 'pro' }),
    ];
    // An administrator: a PBX sync the generators happen to get right disables every other user.
    healthy = await fx.createUser({ role: 'admin', password: 'healthy-password-1' });
    const meeting = await fx.api('POST', '/api/meetings', {
      token: pro.token,
      body: { title: 'Abuse', startAt: new Date(Date.now() + 3_600_000).toISOString(), durationMinutes: 30 },
    });
    assert.equal(meeting.status, 201, JSON.stringify(meeting.body));
    const view = meeting.body as { id: string; guestUrl: string };
    ctx = {
      tokens: {
        user: user.token,
        admin: admin.token,
        pro: pro.token,
        hs: testStack().matrix.hsToken,
        guest: fx.guestToken({ meetingId: view.id }),
      },
      meetingId: view.id,
      guestCode: view.guestUrl.split('/m/')[1] ?? '',
    };
  });

  // A well-formed sync among the generated requests disables the users it does not list: bring them back, so
  // each area is tried with live tokens too.
  beforeEach(async () => {
    await fx.users.updateMany({}, { $set: { disabled: false } });
  });

  after(async () => {
    http.close();
    await fx.close();
  });

  const areas: { name: string; prefix: RegExp; seed: number; runs: number }[] = [
    { name: 'auth and profile', prefix: /^\/api\/(auth|me)/, seed: 101, runs: 300 },
    { name: 'directory', prefix: /^\/api\/directory/, seed: 202, runs: 300 },
    {
      name: 'meetings and guests',
      prefix: /^\/(api\/meetings|api\/guest|m\/|meetings\/)/,
      seed: 303,
      runs: 300,
    },
    { name: 'chat', prefix: /^\/api\/chat/, seed: 404, runs: 300 },
    {
      name: 'appservice and operations',
      prefix: /^\/(_matrix|healthz|readyz|metrics)/,
      seed: 505,
      runs: 200,
    },
  ];
  for (const area of areas) {
    it(`answers ${area.runs} malformed ${area.name} requests without a 5xx, each error in the documented shape`, async () => {
      const routes = ROUTES.filter((r) => area.prefix.test(r.path));
      assert.ok(routes.length > 0);
      const cases = fc.sample(caseArb(routes, ctx), { numRuns: area.runs, seed: area.seed });
      const { failures, statuses } = await run(http, cases);
      sent += cases.length;
      assert.deepEqual(failures, [], `statuses: ${JSON.stringify([...statuses])}`);
      // The requests were refused for many reasons, not one: the generators reach past the first check.
      assert.ok(statuses.size >= 3, JSON.stringify([...statuses]));
    });
  }

  it('answers hand-picked attacks on every route without a 5xx', async () => {
    const cases: Case[] = [];
    for (const route of ROUTES) {
      const path = route.path.replace(/:[a-zA-Z]+/g, ctx.meetingId);
      const auth = {
        Authorization: `Bearer ${route.who === 'anyone' ? ctx.tokens.user : ctx.tokens[route.who]}`,
      };
      const json = { ...auth, 'Content-Type': 'application/json' };
      const add = (label: string, req: RawRequest): void => {
        cases.push({ label: `${route.method} ${route.path}: ${label}`, ...req });
      };
      add('operators in every field', {
        method: route.method,
        path,
        headers: json,
        body: JSON.stringify(Object.fromEntries((route.fields ?? ['x']).map((f) => [f, { $gt: '' }]))),
      });
      add('a 40 000-deep array', { method: route.method, path, headers: json, body: '['.repeat(40_000) });
      add('__proto__ key', {
        method: route.method,
        path,
        headers: json,
        body: '{"__proto__":{"role":"admin"}}',
      });
      add('utf-16 body', {
        method: route.method,
        path,
        headers: { ...auth, 'Content-Type': 'application/json; charset=utf-16le' },
        body: Buffer.from('{"a":1}', 'utf16le'),
      });
      add('unknown charset', {
        method: route.method,
        path,
        headers: { ...auth, 'Content-Type': 'application/json; charset=x-unknown' },
        body: '{}',
      });
      add('broken gzip', {
        method: route.method,
        path,
        headers: { ...json, 'Content-Encoding': 'gzip' },
        body: Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]),
      });
      add('unknown encoding', {
        method: route.method,
        path,
        headers: { ...json, 'Content-Encoding': 'snappy' },
        body: '{}',
      });
      add('a gzip bomb (64 MiB of zeros)', {
        method: route.method,
        path,
        headers: { ...json, 'Content-Encoding': 'gzip' },
        body: bomb,
      });
      add('malformed Content-Type', {
        method: route.method,
        path,
        headers: { ...auth, 'Content-Type': 'application/json; charset' },
        body: '{}',
      });
      add('bad % escape in the path', {
        method: route.method,
        path: route.path.replace(/:[a-zA-Z]+/g, '%E0%A4%A'),
      });
      add('every other method', { method: route.method === 'GET' ? 'DELETE' : 'GET', path: `${path}/%ZZ` });
    }
    const { failures } = await run(http, cases);
    sent += cases.length;
    assert.deepEqual(failures, []);
  });

  it('is healthy afterwards: ready, and a normal login works', async function () {
    if (sent < 1_000) this.skip(); // only meaningful after the barrage above
    const ready = await fetch(`${fx.baseUrl}/readyz`);
    assert.equal(ready.status, 200);
    const login = await fx.api('POST', '/api/auth/login', {
      body: { extension: healthy.extension, password: 'healthy-password-1' },
    });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    assert.ok((login.body as { accessToken?: unknown }).accessToken);
  });
});

import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { ErrorResponse } from '../../shared/errors.js';
import { startServer, type ServerFixture } from '../harness/serverFixture.js';
import { testStack } from '../harness/testStack.js';

const MIB = 1024 * 1024;

/**
 * Declares a body of `declaredBytes` but sends only its first 64 KiB, and resolves with the answer. A server that
 * reads the body before deciding never answers (the test then fails on its timeout); one that refuses first
 * answers at once.
 */
function answerBeforeBody(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  declaredBytes: number,
): Promise<{ status: number; body: unknown }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({
      host: url.hostname,
      port: url.port,
      method,
      path,
      headers: { ...headers, 'Content-Length': String(declaredBytes) },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        req.destroy();
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as unknown) : undefined });
      });
    });
    req.on('error', reject);
    req.write(Buffer.alloc(64 * 1024, 0x20));
  });
}

/** The body bytes the server parsed so far, per parser, from /metrics. */
async function parsedBytes(fx: ServerFixture, token?: string): Promise<Record<string, number>> {
  const res = await fetch(`${fx.baseUrl}/metrics`, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  assert.equal(res.status, 200);
  const out: Record<string, number> = {};
  for (const m of (await res.text()).matchAll(/^ucc_http_body_bytes_parsed_total\{parser="(\w+)"\} (\d+)$/gm))
    out[m[1] ?? ''] = Number(m[2]);
  return out;
}

const code = (body: unknown): string | undefined => (body as Partial<ErrorResponse> | undefined)?.error?.code;

describe('request bodies: read after authorization, within each route limit', () => {
  let fx: ServerFixture;

  beforeEach(async () => {
    fx = await startServer();
  });

  afterEach(async () => {
    await fx.close();
  });

  it('answers 401 to an unauthenticated 5 MB body on protected routes without reading it', async () => {
    const before = await parsedBytes(fx);
    const cases: [string, string, string][] = [
      ['POST', '/api/chat/rooms/%21r%3Aucc.localhost/messages', 'application/json'],
      ['PATCH', '/api/me/preferences', 'application/json'],
      ['PUT', '/api/directory/sync', 'application/json'],
      ['POST', '/api/directory/import', 'text/csv'],
      ['POST', '/api/meetings', 'application/json'],
      ['POST', '/api/chat/rooms/%21r%3Aucc.localhost/files?name=a.bin', 'application/octet-stream'],
    ];
    for (const [method, path, type] of cases) {
      const res = await answerBeforeBody(fx.baseUrl, method, path, { 'Content-Type': type }, 5 * MIB);
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.equal(code(res.body), 'UNAUTHENTICATED', `${method} ${path}`);
    }
    assert.deepEqual(await parsedBytes(fx), before);
  });

  it('answers 403 to a user who is not an admin before reading an import or a sync', async () => {
    const user = await fx.createUser();
    const before = await parsedBytes(fx);
    for (const [path, type] of [
      ['/api/directory/import', 'text/csv'],
      ['/api/directory/sync', 'application/json'],
    ] as const) {
      const res = await answerBeforeBody(
        fx.baseUrl,
        path.endsWith('sync') ? 'PUT' : 'POST',
        path,
        { 'Content-Type': type, Authorization: `Bearer ${user.token}` },
        5 * MIB,
      );
      assert.equal(res.status, 403, path);
    }
    assert.deepEqual(await parsedBytes(fx), before);
  });

  it("answers the appservice route without the hs_token before reading Synapse's body", async () => {
    const res = await answerBeforeBody(
      fx.baseUrl,
      'PUT',
      '/_matrix/app/v1/transactions/1',
      { 'Content-Type': 'application/json' },
      5 * MIB,
    );
    assert.equal(res.status, 401);
    assert.equal((res.body as { errcode?: string }).errcode, 'M_UNAUTHORIZED');
  });

  it('counts the bytes of the bodies it does parse', async () => {
    const user = await fx.createUser();
    const before = (await parsedBytes(fx)).json ?? 0;
    const body = { darkTheme: true };
    const res = await fx.api('PATCH', '/api/me/preferences', { token: user.token, body });
    assert.equal(res.status, 200);
    assert.equal((await parsedBytes(fx)).json, before + Buffer.byteLength(JSON.stringify(body)));
  });

  it('gives the routes anyone may call a small limit, and the bulk routes a large one', async () => {
    const admin = await fx.createUser({ role: 'admin' });
    const limits = testStack().config.http.body;
    const big = (bytes: number): string => JSON.stringify({ extension: '200', password: 'x'.repeat(bytes) });

    const login = await fx.api('POST', '/api/auth/login', {
      body: big(limits.publicJsonBytes),
      headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(login.status, 413);
    assert.equal(code(login.body), 'PAYLOAD_TOO_LARGE');

    // Over the JSON limit of a single user's change, well within the bulk limit of a sync. The padding rows are
    // invalid, so the sync reports them instead of creating thousands of users.
    const padding = Array.from({ length: Math.ceil((limits.jsonBytes * 1.5) / 1_000) }, () => ({
      extension: 'x',
      firstName: 'x'.repeat(1_000),
    }));
    const users = [{ extension: '10000', firstName: 'Nome', lastName: 'Cognome' }, ...padding];
    const create = await fx.api('POST', '/api/directory/users', { token: admin.token, body: { users } });
    assert.equal(create.status, 413);
    assert.equal(code(create.body), 'PAYLOAD_TOO_LARGE');
    const sync = await fx.api('PUT', '/api/directory/sync', { token: admin.token, body: { users } });
    assert.equal(sync.status, 200, JSON.stringify(sync.body).slice(0, 300));
    const result = sync.body as { created: number; errors: unknown[] };
    assert.equal(result.created, 1);
    assert.equal(result.errors.length, padding.length);
  });

  it('answers a type, charset or encoding a route does not take with 415 before reading it', async () => {
    const user = await fx.createUser();
    const path = '/api/me/preferences';
    const cases: Record<string, string>[] = [
      { 'Content-Type': 'text/plain' },
      { 'Content-Type': 'application/x-www-form-urlencoded' },
      { 'Content-Type': 'multipart/form-data; boundary=x' },
      { 'Content-Type': 'application/json; charset=latin1' },
      { 'Content-Type': 'application/json; charset=utf-16le' },
      { 'Content-Type': 'application/json', 'Content-Encoding': 'snappy' },
    ];
    for (const headers of cases) {
      const res = await fx.api('PATCH', path, { token: user.token, body: '{"darkTheme":true}', headers });
      assert.equal(res.status, 415, JSON.stringify(headers));
      assert.equal(code(res.body), 'UNSUPPORTED_MEDIA_TYPE', JSON.stringify(headers));
    }
  });

  it('takes nesting up to the configured depth and refuses deeper with 400', async () => {
    const user = await fx.createUser();
    const depth = testStack().config.http.body.jsonMaxDepth;
    // {"devices": {...}} is 2 levels; the rest are arrays inside a device id the schema refuses anyway.
    const nested = (levels: number): string =>
      `{"devices":{"audioInput":${'['.repeat(levels - 2)}${']'.repeat(levels - 2)}}}`;
    const atLimit = await fx.api('PATCH', '/api/me/preferences', {
      token: user.token,
      body: nested(depth),
      headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(atLimit.status, 400);
    assert.ok(
      (atLimit.body as ErrorResponse).error.details?.some((d) => d.path.startsWith('devices')),
      'the schema, not the depth check, refused it',
    );
    const over = await fx.api('PATCH', '/api/me/preferences', {
      token: user.token,
      body: nested(depth + 1),
      headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(over.status, 400);
    assert.match((over.body as ErrorResponse).error.message, /deeper than/);
  });
});

describe('security headers and the metrics token', () => {
  it('asks browsers to upgrade insecure requests only when PUBLIC_URL is https', async () => {
    const base = testStack().config;
    for (const [publicUrl, upgrade] of [
      ['http://ucc.example.com', false],
      ['https://ucc.example.com', true],
    ] as const) {
      const fx = await startServer({ config: { http: { ...base.http, publicUrl } } });
      try {
        const csp = (await fetch(`${fx.baseUrl}/healthz`)).headers.get('content-security-policy') ?? '';
        assert.match(csp, /default-src 'self'/);
        assert.equal(/upgrade-insecure-requests/.test(csp), upgrade, `${publicUrl}: ${csp}`);
      } finally {
        await fx.close();
      }
    }
  });

  it('serves /metrics only with its bearer token when UCC_METRICS_TOKEN is set', async () => {
    const base = testStack().config;
    const metricsToken = 'metrics-token-0123456789';
    const fx = await startServer({ config: { http: { ...base.http, metricsToken } } });
    try {
      const refused: Record<string, string>[] = [
        {},
        { Authorization: 'Bearer wrong-token' },
        { Authorization: metricsToken },
      ];
      for (const headers of refused) {
        const res = await fetch(`${fx.baseUrl}/metrics`, { headers });
        assert.equal(res.status, 401, JSON.stringify(headers));
        assert.equal(code(await res.json()), 'UNAUTHENTICATED');
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
      }
      const ok = await fetch(`${fx.baseUrl}/metrics`, {
        headers: { Authorization: `Bearer ${metricsToken}` },
      });
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /^ucc_mediasoup_workers /m);
    } finally {
      await fx.close();
    }
  });
});

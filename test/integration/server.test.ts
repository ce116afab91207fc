import assert from 'node:assert/strict';
import { io, type Socket } from 'socket.io-client';
import type { Ack, ClientToServerEvents, ServerInfo, ServerToClientEvents } from '../../shared/protocol.js';
import { startServer, type ServerFixture } from '../harness/serverFixture.js';
import { testStack } from '../harness/testStack.js';

describe('UccServer over HTTP and socket.io', () => {
  let fx: ServerFixture;
  let socket: Socket<ServerToClientEvents, ClientToServerEvents> | undefined;

  beforeEach(async () => {
    fx = await startServer();
  });

  afterEach(async () => {
    socket?.disconnect();
    socket = undefined;
    await fx.close();
  });

  it('answers /healthz while the process is alive', async () => {
    const res = await fetch(`${fx.baseUrl}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('reports ready when the database, Synapse and every worker answer', async () => {
    const res = await fetch(`${fx.baseUrl}/readyz`);
    const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.status, 'ready');
    assert.deepEqual(Object.keys(body.checks).sort(), ['database', 'matrix', 'mediasoup']);
  });

  it('exposes worker count and per-worker resource usage in /metrics', async () => {
    const text = await (await fetch(`${fx.baseUrl}/metrics`)).text();
    const workers = testStack().pool.workers.length;
    assert.match(text, new RegExp(`^ucc_mediasoup_workers ${workers}$`, 'm'));
    for (const w of testStack().pool.workers) {
      assert.match(
        text,
        new RegExp(
          `^ucc_mediasoup_worker_max_rss_bytes\\{worker="${w.index}",pid="${w.worker.pid}"\\} [1-9]`,
          'm',
        ),
      );
      assert.match(text, new RegExp(`^ucc_mediasoup_worker_cpu_user_seconds\\{worker="${w.index}"`, 'm'));
    }
    assert.match(text, /^ucc_node_process_cpu_user_seconds_total/m);
  });

  it('answers an unknown API route with a NOT_FOUND error body', async () => {
    const res = await fetch(`${fx.baseUrl}/api/nothing-here`);
    assert.equal(res.status, 404);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'NOT_FOUND');
    assert.ok(body.error.message.length > 0);
  });

  it('answers a known API path asked with another method with 405 METHOD_NOT_ALLOWED and Allow', async () => {
    const login = await fetch(`${fx.baseUrl}/api/auth/login`, { method: 'PUT' });
    assert.equal(login.status, 405);
    assert.equal(login.headers.get('allow'), 'POST');
    const body = (await login.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'METHOD_NOT_ALLOWED');
    // A path with a parameter, for a signed-in caller: the methods of that path, not of its neighbours.
    const meeting = await fetch(`${fx.baseUrl}/api/meetings/${'a'.repeat(24)}/guest-link/rotate`, {
      method: 'GET',
      headers: { Authorization: `Bearer ${(await fx.createUser({ plan: 'pro' })).token}` },
    });
    assert.equal(meeting.status, 405);
    assert.equal(meeting.headers.get('allow'), 'POST');
    // A path the contract does not have stays 404 whatever the method.
    assert.equal((await fetch(`${fx.baseUrl}/api/auth/nothing`, { method: 'PUT' })).status, 404);
  });

  it('answers a malformed JSON body with VALIDATION_FAILED, not a 500', async () => {
    const res = await fetch(`${fx.baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"extension": ',
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'VALIDATION_FAILED');
  });

  it('serves the client page', async () => {
    const res = await fetch(`${fx.baseUrl}/`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<title>OpiVoice UCC<\/title>/);
  });

  it("sends the client's script gzip-compressed to a browser that accepts it", async () => {
    const page = await (await fetch(`${fx.baseUrl}/`)).text();
    const script = /<script type="module" crossorigin src="([^"]+)"/.exec(page)?.[1];
    assert.ok(script, 'the page loads a module script');
    const res = await fetch(`${fx.baseUrl}${script}`, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    assert.match(res.headers.get('content-type') ?? '', /javascript/);
    // fetch decodes it: what arrives is the script itself.
    assert.match(await res.text(), /\S/);
  });

  it('acks a socket hello with the server identity, and a bad one with VALIDATION_FAILED', async () => {
    const { token } = await fx.createUser();
    const s: Socket<ServerToClientEvents, ClientToServerEvents> = io(fx.baseUrl, {
      transports: ['websocket'],
      auth: { token },
    });
    socket = s;
    const good = (await s
      .timeout(5_000)
      .emitWithAck('request', { type: 'hello', client: 'test' })) as Ack<ServerInfo>;
    assert.ok(good.ok);
    assert.equal(good.data.name, 'OpiVoice UCC');

    const bad = (await s
      .timeout(5_000)
      .emitWithAck('request', { type: 'hello', client: 42 })) as Ack<ServerInfo>;
    assert.equal(bad.ok, false);
    if (!bad.ok) {
      assert.equal(bad.error.code, 'VALIDATION_FAILED');
      assert.equal(bad.error.details?.[0]?.path, 'client');
    }
  });
});

describe('readiness when a dependency fails', () => {
  let fx: ServerFixture;

  beforeEach(async () => {
    // A homeserver that refuses our token: the probe must say which check failed.
    fx = await startServer({ matrix: { ...testStack().matrix, asToken: 'not-the-token' } });
  });

  afterEach(async () => {
    await fx.close();
  });

  it('answers 503 naming the failed check', async () => {
    const res = await fetch(`${fx.baseUrl}/readyz`);
    assert.equal(res.status, 503);
    const body = (await res.json()) as {
      status: string;
      checks: Record<string, { ok: boolean; error?: string }>;
    };
    assert.equal(body.status, 'unavailable');
    assert.equal(body.checks.database?.ok, true);
    assert.equal(body.checks.mediasoup?.ok, true);
    assert.equal(body.checks.matrix?.ok, false);
    assert.match(body.checks.matrix?.error ?? '', /token refused/);
  });
});

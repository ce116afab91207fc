import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import JsSIP from 'jssip';
import WebSocket from 'ws';
import type { TelephonySettingsView } from '../../shared/schemas/calls.js';
import { startPhoneEdge, type PhoneEdge } from '../harness/phoneEdge.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';
import { httpsFront, selfSigned, tlsPipe, type TlsFront } from '../harness/tls.js';

// JsSIP needs a WebSocket; Node 20 has none built in.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

/** The HTTP status of a refused upgrade, or 101 when the WebSocket opened (then it is closed again). */
async function upgradeStatus(url: string): Promise<{ status: number; body: string }> {
  const ws = new WebSocket(url, 'sip');
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101, body: '' });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', reject);
  });
}

function register(settings: TelephonySettingsView, wsUrl = settings.wsUrl): Promise<string> {
  return new Promise((resolve) => {
    const ua = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(wsUrl)],
      uri: settings.sipUri,
      authorization_user: settings.authorizationUser,
      realm: settings.realm,
      ha1: settings.ha1,
      register: true,
      connection_recovery_min_interval: 60,
    });
    const done = (outcome: string): void => {
      ua.stop();
      resolve(outcome);
    };
    ua.on('registered', () => done('registered'));
    ua.on('registrationFailed', (e: { cause?: string }) => done(`failed: ${e.cause ?? ''}`));
    ua.on('disconnected', () => done('disconnected'));
    ua.start();
  });
}

describe('SIP over WebSocket on the app origin (the web phone proxy)', function () {
  this.timeout(60_000);
  let edge: PhoneEdge;
  let fx: ServerFixture;
  let alice: TestUser;

  before(async function () {
    this.timeout(60_000);
    edge = await startPhoneEdge();
    fx = await startServer({ kamailio: edge.kamailio.endpoint });
    alice = await fx.createUser({ firstName: 'Alice', lastName: 'Rossi' });
    // The SIP credentials exist once a password was made (as for a desk phone).
    const res = await fx.api('POST', '/api/telephony/me/password', { token: alice.token });
    assert.equal(res.status, 201);
  });

  after(async function () {
    this.timeout(20_000);
    await fx?.close();
    await fx?.db.close();
    await edge?.stop();
  });

  async function settings(): Promise<TelephonySettingsView> {
    const res = await fx.api('GET', '/api/telephony/me', { token: alice.token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as TelephonySettingsView;
  }

  it('points wsUrl at the server itself, with a ticket, and registers JsSIP through it', async () => {
    const s = await settings();
    const url = new URL(s.wsUrl);
    assert.equal(url.protocol, 'ws:');
    assert.equal(url.host, new URL(fx.baseUrl).host);
    assert.equal(url.pathname, '/sip');
    assert.ok(url.searchParams.get('ticket'));
    assert.equal(await register(s), 'registered');
  });

  it('refuses an upgrade without a ticket, with a forged or altered one, with 401 and the error body', async () => {
    const base = fx.baseUrl.replace(/^http/, 'ws');
    const ticket = new URL((await settings()).wsUrl).searchParams.get('ticket') ?? '';
    const forged = `${ticket.slice(0, -2)}${ticket.endsWith('AA') ? 'BB' : 'AA'}`;
    const otherUser = ticket.replace(/^[0-9a-f]/, (c) => (c === '0' ? '1' : '0'));
    for (const url of [
      `${base}/sip`,
      `${base}/sip?ticket=`,
      `${base}/sip?ticket=${encodeURIComponent(forged)}`,
      `${base}/sip?ticket=${encodeURIComponent(otherUser)}`,
      `${base}/sip?ticket=${alice.token}`,
    ]) {
      const { status, body } = await upgradeStatus(url);
      assert.equal(status, 401, url);
      assert.equal((JSON.parse(body) as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
    }
    // The genuine ticket opens it; socket.io's own path is untouched by the proxy.
    assert.equal((await upgradeStatus(`${base}/sip?ticket=${encodeURIComponent(ticket)}`)).status, 101);
  });

  it('ends the piped connection when the server closes', async () => {
    const other = await startServer({ kamailio: edge.kamailio.endpoint });
    let closed = false;
    try {
      const bob = await other.createUser({ firstName: 'Bruno', lastName: 'Bianchi' });
      await other.api('POST', '/api/telephony/me/password', { token: bob.token });
      const s = (await other.api('GET', '/api/telephony/me', { token: bob.token }))
        .body as TelephonySettingsView;
      const ws = new WebSocket(s.wsUrl, 'sip');
      await once(ws, 'open');
      assert.equal(ws.protocol, 'sip', 'Kamailio answered the handshake');
      const wsClosed = once(ws, 'close');
      await other.close();
      closed = true;
      await wsClosed;
    } finally {
      // The fixture's close drops its database, once: it stays for a failure before the close above.
      if (!closed) await other.close();
    }
  });

  it('refuses every upgrade with 503 when telephony is off', async () => {
    const off = await startServer();
    try {
      const user = await off.createUser({ firstName: 'Carla', lastName: 'Verdi' });
      const me = await off.api('GET', '/api/telephony/me', { token: user.token });
      // Not configured is "off" (the web phone stays quiet), not an outage.
      assert.equal(me.status, 200);
      assert.equal((me.body as TelephonySettingsView).enabled, false);
      assert.equal((me.body as TelephonySettingsView).wsUrl, '');
      const ticket = new URL((await settings()).wsUrl).searchParams.get('ticket') ?? '';
      const { status, body } = await upgradeStatus(
        `${off.baseUrl.replace(/^http/, 'ws')}/sip?ticket=${encodeURIComponent(ticket)}`,
      );
      assert.equal(status, 503);
      assert.equal((JSON.parse(body) as { error: { code: string } }).error.code, 'SERVICE_UNAVAILABLE');
    } finally {
      await off.close();
    }
  });
});

/** GET through the HTTPS front, trusting its self-signed certificate: JSON in, JSON out. */
async function httpsGet(url: string, token: string, ca: Buffer): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { headers: { Authorization: `Bearer ${token}` }, ca }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('SIP over WebSocket over TLS: a TLS proxy in front of the app, wss:// to the edge', function () {
  this.timeout(60_000);
  let dir: string;
  let pem: { cert: string; key: string };
  let edge: PhoneEdge;
  let edgeTls: TlsFront;
  let fx: ServerFixture;
  let appTls: TlsFront;
  let alice: TestUser;
  const plainWebSocket = globalThis.WebSocket;

  before(async function () {
    this.timeout(60_000);
    dir = await mkdtemp(path.join(tmpdir(), 'ucc-sip-wss-'));
    pem = { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
    await selfSigned(pem.cert, pem.key);
    edge = await startPhoneEdge();
    // The edge's wss:// (a TLS front to its WebSocket port), with a certificate of a CA the server is told of.
    edgeTls = await tlsPipe(edge.kamailio.endpoint.sipPort, pem);
    fx = await startServer({
      kamailio: {
        ...edge.kamailio.endpoint,
        wsUrl: `wss://localhost:${edgeTls.port}/ws`,
        wsCaFile: pem.cert,
      },
    });
    appTls = await httpsFront(Number(new URL(fx.baseUrl).port), pem);
    alice = await fx.createUser({ firstName: 'Alice', lastName: 'Rossi' });
    assert.equal((await fx.api('POST', '/api/telephony/me/password', { token: alice.token })).status, 201);
    // The browser trusts the app's certificate: JsSIP's WebSocket here is ws with that CA.
    const ca = await readFile(pem.cert);
    class TrustingWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { ca });
      }
    }
    (globalThis as { WebSocket?: unknown }).WebSocket = TrustingWebSocket;
  });

  after(async function () {
    this.timeout(20_000);
    (globalThis as { WebSocket?: unknown }).WebSocket = plainWebSocket;
    await appTls?.close();
    await fx?.close();
    await fx?.db.close();
    await edgeTls?.close();
    await edge?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('hands out a wss:// URL behind the TLS proxy, and JsSIP registers through it and the wss:// edge', async () => {
    const res = await httpsGet(
      `https://localhost:${appTls.port}/api/telephony/me`,
      alice.token,
      await readFile(pem.cert),
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const s = res.body as TelephonySettingsView;
    const url = new URL(s.wsUrl);
    assert.equal(url.protocol, 'wss:');
    assert.equal(url.host, `localhost:${appTls.port}`);
    const before = edgeTls.accepted();
    assert.equal(await register(s), 'registered');
    // The proxy's leg to the edge was TLS: the edge's front took a connection, and the server trusted its CA.
    assert.ok(edgeTls.accepted() > before);
  });

  it('refuses the edge’s self-signed certificate without its CA: the upgrade answers 502', async () => {
    const other = await startServer({
      kamailio: { ...edge.kamailio.endpoint, wsUrl: `wss://localhost:${edgeTls.port}/ws` },
    });
    try {
      const bob = await other.createUser({ firstName: 'Bruno', lastName: 'Bianchi' });
      await other.api('POST', '/api/telephony/me/password', { token: bob.token });
      const s = (await other.api('GET', '/api/telephony/me', { token: bob.token }))
        .body as TelephonySettingsView;
      const { status, body } = await upgradeStatus(s.wsUrl);
      assert.equal(status, 502);
      assert.equal((JSON.parse(body) as { error: { code: string } }).error.code, 'SERVICE_UNAVAILABLE');
    } finally {
      await other.close();
    }
  });
});

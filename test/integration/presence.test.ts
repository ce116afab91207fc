import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import JsSIP from 'jssip';
import WebSocket from 'ws';
import type { SipPasswordView, TelephonySettingsView } from '../../shared/schemas/calls.js';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import type { PresenceState, PresenceView } from '../../shared/schemas/presence.js';
import { BaresipPhone } from '../harness/baresip.js';
import { startPhoneEdge, TEST_SIP_DOMAIN, type PhoneEdge } from '../harness/phoneEdge.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';
import { joined, request, SocketPool, type ClientSocket } from '../harness/sockets.js';

// JsSIP needs a WebSocket; Node 20 has none built in. Each one made is kept, so a test can cut it.
const made: WebSocket[] = [];
class KeptWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    made.push(this);
  }
}
(globalThis as { WebSocket?: unknown }).WebSocket = KeptWebSocket;

/**
 * Every `presence.changed` a signed-in colleague's socket receives, in order; `next` waits for one after the
 * last one consumed, so an earlier push of the same state never answers for a later step.
 */
class PresenceFeed {
  readonly #seen: PresenceView[] = [];
  readonly #waiters = new Set<() => void>();
  #cursor = 0;

  constructor(socket: ClientSocket) {
    socket.on('presence.changed', (view) => {
      this.#seen.push({ ...view, at: Date.now() } as PresenceView);
      for (const wake of [...this.#waiters]) wake();
    });
  }

  /** Marks the start of a step: only pushes from now on count. Returns the time, for the printed figure. */
  mark(): number {
    this.#cursor = this.#seen.length;
    return Date.now();
  }

  /** The next push (after the mark) saying `user` is `state`. */
  async next(
    user: TestUser,
    state: PresenceState,
    timeoutMs = 30_000,
  ): Promise<PresenceView & { at: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.#seen.slice(this.#cursor).find((v) => v.userId === user.id && v.state === state);
      if (found) return found as PresenceView & { at: number };
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.#seen.slice(this.#cursor).map((v) => `${v.extension}:${v.state}`);
        assert.fail(`no presence.changed ${user.extension}:${state}; seen ${seen.join(' ') || 'nothing'}`);
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#waiters.add(done);
      });
    }
  }
}

describe('presence: phones through Kamailio, meetings, and the socket push', function () {
  this.timeout(90_000);
  let edge: PhoneEdge;
  let fx: ServerFixture;
  let sockets: SocketPool;
  let phonesDir: string;
  let alice: TestUser;
  let bob: TestUser;
  let carla: TestUser;
  let feed: PresenceFeed;
  const phones: BaresipPhone[] = [];

  async function sipPassword(user: TestUser): Promise<string> {
    const res = await fx.api('POST', '/api/telephony/me/password', { token: user.token });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return (res.body as SipPasswordView).password;
  }

  async function deskPhone(user: TestUser): Promise<BaresipPhone> {
    const p = await BaresipPhone.start({
      dir: path.join(phonesDir, user.extension),
      extension: user.extension,
      password: await sipPassword(user),
      domain: TEST_SIP_DOMAIN,
      proxyPort: edge.kamailio.endpoint.sipPort,
      toneHz: 440,
      // Longer than any step: calls here end when a phone hangs up, not when its tone file does.
      toneMs: 60_000,
    });
    phones.push(p);
    return p;
  }

  async function presenceOf(...users: TestUser[]): Promise<Record<string, PresenceState>> {
    const res = await fx.api('GET', `/api/presence?ids=${users.map((u) => u.id).join(',')}`, {
      token: carla.token,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const out: Record<string, PresenceState> = {};
    for (const v of (res.body as { presence: PresenceView[] }).presence) out[v.extension] = v.state;
    return out;
  }

  before(async function () {
    this.timeout(60_000);
    phonesDir = await mkdtemp(path.join(tmpdir(), 'ucc-presence-'));
    edge = await startPhoneEdge();
    fx = await startServer({ kamailio: edge.kamailio.endpoint });
    sockets = new SocketPool(fx.baseUrl);
    alice = await fx.createUser({ firstName: 'Alice', lastName: 'Rossi', plan: 'pro' });
    bob = await fx.createUser({ firstName: 'Bruno', lastName: 'Bianchi' });
    carla = await fx.createUser({ firstName: 'Carla', lastName: 'Verdi' });
    // Carla is signed in and watches: every push below is asserted on her socket.
    feed = new PresenceFeed(await sockets.connect(carla.token));
  });

  after(async function () {
    this.timeout(20_000);
    sockets?.closeAll();
    await Promise.allSettled(phones.map((p) => p.stop()));
    await fx?.close();
    await fx?.db.close();
    await edge?.stop();
    await rm(phonesDir, { recursive: true, force: true });
  });

  it('answers bad reads with 400 and unknown ids with nothing', async () => {
    const bad = await fx.api('GET', '/api/presence?ids=nope', { token: carla.token });
    assert.equal(bad.status, 400);
    assert.equal((bad.body as { error: { code: string } }).error.code, 'VALIDATION_FAILED');
    const none = await fx.api('GET', '/api/presence', { token: carla.token });
    assert.equal(none.status, 400);
    const anon = await fx.api('GET', `/api/presence?ids=${alice.id}`);
    assert.equal(anon.status, 401);
    const unknown = await fx.api('GET', '/api/presence?ids=0123456789abcdef01234567', { token: carla.token });
    assert.deepEqual(unknown.body, { presence: [] });
  });

  it('a registered desk phone makes its user available; a call makes both onCall, its end available again', async () => {
    assert.deepEqual(await presenceOf(alice, bob), {
      [alice.extension]: 'offline',
      [bob.extension]: 'offline',
    });

    feed.mark();
    const a = await deskPhone(alice);
    await a.next('REGISTER_OK');
    await feed.next(alice, 'available');
    const b = await deskPhone(bob);
    await b.next('REGISTER_OK');
    await feed.next(bob, 'available');
    assert.deepEqual(await presenceOf(alice, bob), {
      [alice.extension]: 'available',
      [bob.extension]: 'available',
    });

    const dialedAt = feed.mark();
    await a.dial(bob.extension);
    const [aliceBusy, bobBusy] = await Promise.all([feed.next(alice, 'onCall'), feed.next(bob, 'onCall')]);
    await b.next('CALL_INCOMING');
    await b.command('accept');
    await Promise.all([a.next('CALL_ESTABLISHED'), b.next('CALL_ESTABLISHED')]);
    assert.deepEqual(await presenceOf(alice, bob), {
      [alice.extension]: 'onCall',
      [bob.extension]: 'onCall',
    });

    const hungUpAt = feed.mark();
    await b.command('hangup');
    const [aliceFree, bobFree] = await Promise.all([
      feed.next(alice, 'available'),
      feed.next(bob, 'available'),
    ]);
    await a.next('CALL_CLOSED');
    // A figure for the record, not an assertion: how long from the phone's action to the colleague's socket.
    process.stdout.write(
      `      presence push after dial: ${Math.max(aliceBusy.at, bobBusy.at) - dialedAt} ms, ` +
        `after hangup: ${Math.max(aliceFree.at, bobFree.at) - hungUpAt} ms\n`,
    );
  });

  it('joining a meeting makes the user inMeeting, leaving it makes them available again', async () => {
    const res = await fx.api('POST', '/api/meetings', {
      token: alice.token,
      body: {
        title: 'Presenze',
        description: '',
        startAt: new Date(Date.now() + 60_000).toISOString(),
        durationMinutes: 30,
        inviteeIds: [bob.id],
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const meeting = res.body as MeetingView;
    const s = await sockets.connect(alice.token);
    feed.mark();
    joined(await request(s, { type: 'meeting.join', meetingId: meeting.id }));
    await feed.next(alice, 'inMeeting');
    assert.equal((await presenceOf(alice))[alice.extension], 'inMeeting');
    feed.mark();
    const left = await request(s, { type: 'meeting.leave' });
    assert.ok(left.ok, JSON.stringify(left));
    // Her desk phone is still registered.
    await feed.next(alice, 'available');
  });

  it('unregistering a desk phone (uadel) makes its user offline', async () => {
    const b = phones.find((p) => p.extension === bob.extension);
    assert.ok(b);
    feed.mark();
    await b.unregister();
    await feed.next(bob, 'offline');
    assert.equal((await presenceOf(bob))[bob.extension], 'offline');
  });

  it('a web phone that goes away without unregistering turns offline when its binding expires', async function () {
    // The shortest binding the registrar takes is 10 s, and usrloc looks for expired ones every 10 s.
    this.timeout(60_000);
    const dario = await fx.createUser({ firstName: 'Dario', lastName: 'Neri' });
    await sipPassword(dario);
    const settings = (await fx.api('GET', '/api/telephony/me', { token: dario.token }))
      .body as TelephonySettingsView;
    feed.mark();
    const before = made.length;
    const ua = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(settings.wsUrl)],
      uri: settings.sipUri,
      authorization_user: settings.authorizationUser,
      realm: settings.realm,
      ha1: settings.ha1,
      register: true,
      register_expires: 10,
      // It must not come back by itself once its connection is cut.
      connection_recovery_min_interval: 3600,
      connection_recovery_max_interval: 3600,
    });
    try {
      const registered = new Promise<void>((resolve, reject) => {
        ua.on('registered', () => resolve());
        ua.on('registrationFailed', (e: { cause?: string }) => reject(new Error(e.cause ?? 'failed')));
      });
      ua.start();
      await registered;
      await feed.next(dario, 'available');
      // The browser tab is gone: its socket drops with no REGISTER; only the binding's expiry says so.
      for (const ws of made.slice(before)) ws.terminate();
      await feed.next(dario, 'offline', 45_000);
    } finally {
      ua.stop();
    }
  });
});

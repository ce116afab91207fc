import assert from 'node:assert/strict';
import { ManualClock } from '../../server/clock.js';
import type { SessionEndReason } from '../../shared/protocol.js';
import type { LoginResponse } from '../../shared/schemas/auth.js';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';
import { nextEvent, request, SocketPool, type ClientSocket } from '../harness/sockets.js';

const MINUTE = 60_000;

interface LoggedIn {
  token: string;
  cookie: string;
}

/** Resolves once the server ended the socket's session: the reason it gave, and that it then disconnected us. */
function sessionEnd(socket: ClientSocket): Promise<{ reason: SessionEndReason; disconnect: string }> {
  const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve));
  return nextEvent(socket, 'session.ended').then(async ({ reason }) => ({
    reason,
    disconnect: await disconnected,
  }));
}

/** The socket still works: it answers a request. */
async function alive(socket: ClientSocket): Promise<boolean> {
  return socket.connected && (await request(socket, { type: 'hello', client: 'test' })).ok;
}

describe('sessions end on live sockets', () => {
  let fx: ServerFixture;
  let clock: ManualClock;
  let sockets: SocketPool;
  let mario: TestUser;
  let admin: TestUser;

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 10, 27, 9, 0, 0));
    fx = await startServer({ clock });
    sockets = new SocketPool(fx.baseUrl);
    mario = await fx.createUser({ extension: '200', plan: 'pro', password: 'mario-password' });
    admin = await fx.createUser({ role: 'admin', plan: 'pro' });
  });

  afterEach(async () => {
    sockets.closeAll();
    await fx.close();
  });

  async function login(): Promise<LoggedIn> {
    const res = await fx.api('POST', '/api/auth/login', {
      body: { extension: '200', password: 'mario-password' },
    });
    assert.equal(res.status, 200);
    const cookie = res.headers
      .getSetCookie()
      .find((c) => c.startsWith('ucc_refresh='))
      ?.split(';')[0];
    return { token: (res.body as LoginResponse).accessToken, cookie: cookie ?? '' };
  }

  it('logout ends the sockets of that session, and only those', async () => {
    const here = await login();
    const there = await login();
    const hereSocket = await sockets.connect(here.token);
    const thereSocket = await sockets.connect(there.token);
    const ended = sessionEnd(hereSocket);
    assert.equal(
      (await fx.api('POST', '/api/auth/logout', { headers: { Cookie: here.cookie } })).status,
      204,
    );
    assert.deepEqual(await ended, { reason: 'logout', disconnect: 'io server disconnect' });
    assert.equal(await alive(thereSocket), true);
  });

  it('refuses a new socket with the access token of a session that logged out', async () => {
    const session = await login();
    await fx.api('POST', '/api/auth/logout', { headers: { Cookie: session.cookie } });
    await assert.rejects(sockets.connect(session.token), /session has ended/);
  });

  it('refuses the access token of a session that logged out over HTTP too, at once', async () => {
    const session = await login();
    const other = await login();
    assert.equal((await fx.api('GET', '/api/me', { token: session.token })).status, 200);
    await fx.api('POST', '/api/auth/logout', { headers: { Cookie: session.cookie } });
    const res = await fx.api('GET', '/api/me', { token: session.token });
    assert.equal(res.status, 401);
    assert.equal((res.body as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
    assert.equal((await fx.api('GET', '/api/me', { token: other.token })).status, 200);
  });

  it("a password change ends the other sessions' sockets, not the caller's", async () => {
    const here = await login();
    const there = await login();
    const hereSocket = await sockets.connect(here.token);
    const thereSocket = await sockets.connect(there.token);
    const ended = sessionEnd(thereSocket);
    const res = await fx.api('POST', '/api/auth/password', {
      token: here.token,
      headers: { Cookie: here.cookie },
      body: { currentPassword: 'mario-password', newPassword: 'new-password-1' },
    });
    assert.equal(res.status, 204);
    assert.equal((await ended).reason, 'passwordChanged');
    assert.equal(await alive(hereSocket), true);
  });

  const accountChanges: {
    what: string;
    reason: SessionEndReason;
    method: 'PATCH' | 'DELETE';
    body?: Record<string, unknown>;
  }[] = [
    { what: 'disabling', reason: 'disabled', method: 'PATCH', body: { disabled: true } },
    {
      what: 'an admin setting a new password for',
      reason: 'passwordChanged',
      method: 'PATCH',
      body: { password: 'admin-set-pass-1' },
    },
    { what: 'deleting', reason: 'deleted', method: 'DELETE' },
  ];
  for (const { what, reason, method, body } of accountChanges) {
    it(`${what} the account ends every socket of the user`, async () => {
      const first = await sockets.connect((await login()).token);
      const second = await sockets.connect(mario.token);
      const ends = [sessionEnd(first), sessionEnd(second)];
      const res = await fx.api(method, `/api/directory/users/${mario.id}`, { token: admin.token, body });
      assert.ok(res.status < 300, JSON.stringify(res.body));
      for (const end of await Promise.all(ends)) assert.equal(end.reason, reason);
    });
  }

  it("ends a socket when its token expires, at the token's expiry", async () => {
    const socket = await sockets.connect((await login()).token);
    const ended = sessionEnd(socket);
    clock.advance(15 * MINUTE - 1_000);
    assert.equal(await alive(socket), true);
    clock.advance(2_000);
    assert.equal((await ended).reason, 'expired');
  });

  it('auth.refresh moves the socket onto a fresh token and its expiry', async () => {
    const session = await login();
    const socket = await sockets.connect(session.token);
    clock.advance(10 * MINUTE);
    const refreshed = await fx.api('POST', '/api/auth/refresh', { headers: { Cookie: session.cookie } });
    const token = (refreshed.body as LoginResponse).accessToken;
    const ack = await request(socket, { type: 'auth.refresh', token });
    assert.deepEqual(ack, { ok: true, data: { expiresAt: clock.now() + 15 * MINUTE } });
    clock.advance(6 * MINUTE); // Past the first token's expiry.
    assert.equal(await alive(socket), true);
    const ended = sessionEnd(socket);
    clock.advance(10 * MINUTE);
    assert.equal((await ended).reason, 'expired');
  });

  it("auth.refresh refuses someone else's token and a bad one", async () => {
    const socket = await sockets.connect((await login()).token);
    const other = await fx.createUser();
    const foreign = await request(socket, { type: 'auth.refresh', token: other.token });
    assert.equal(foreign.ok ? 'ok' : foreign.error.code, 'FORBIDDEN');
    const bad = await request(socket, { type: 'auth.refresh', token: 'not-a-token' });
    assert.equal(bad.ok ? 'ok' : bad.error.code, 'UNAUTHENTICATED');
    assert.equal(await alive(socket), true);
  });

  it('a participant whose account is disabled leaves the meeting for good, not as reconnecting', async () => {
    const giulia = await fx.createUser({ firstName: 'Giulia', lastName: 'Bianchi' });
    const created = await fx.api('POST', '/api/meetings', {
      token: mario.token,
      body: {
        title: 'Riunione',
        startAt: new Date(clock.now()).toISOString(),
        durationMinutes: 60,
        inviteeIds: [giulia.id],
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const meetingId = (created.body as MeetingView).id;
    const org = await sockets.connect((await login()).token);
    assert.equal((await request(org, { type: 'meeting.join', meetingId })).ok, true);
    const g = await sockets.connect(giulia.token);
    const joined = await request(g, { type: 'meeting.join', meetingId });
    assert.ok(joined.ok && joined.data.state === 'joined');
    const giuliaId = joined.data.participantId;

    const updates: string[] = [];
    org.on('meeting.participantUpdated', (p) => updates.push(p.connection));
    const left = nextEvent(org, 'meeting.participantLeft');
    const ended = sessionEnd(g);
    const res = await fx.api('PATCH', `/api/directory/users/${giulia.id}`, {
      token: admin.token,
      body: { disabled: true },
    });
    assert.equal(res.status, 200);
    assert.equal((await ended).reason, 'disabled');
    assert.deepEqual(await left, { participantId: giuliaId });
    assert.deepEqual(updates, [], 'she was never shown as reconnecting');
  });
});

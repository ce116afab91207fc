import assert from 'node:assert/strict';
import { Types } from 'mongoose';
import { io, type Socket } from 'socket.io-client';
import { ManualClock } from '../../server/clock.js';
import type { LoginResponse } from '../../shared/schemas/auth.js';
import type { Profile } from '../../shared/schemas/directory.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';
import { SmtpSink } from '../harness/smtpSink.js';
import { testStack } from '../harness/testStack.js';

interface ErrorBody {
  error: { code: string; message: string; details?: { path: string }[] };
}

function refreshCookie(headers: Headers): string {
  const cookie = headers.getSetCookie().find((c) => c.startsWith('ucc_refresh='));
  assert.ok(cookie, 'no refresh cookie set');
  return cookie.split(';')[0] ?? '';
}

async function login(fx: ServerFixture, extension: string, password: string) {
  const res = await fx.api('POST', '/api/auth/login', { body: { extension, password } });
  return { ...res, body: res.body as LoginResponse & ErrorBody };
}

describe('authentication', () => {
  let fx: ServerFixture;
  let clock: ManualClock;
  let smtp: SmtpSink;
  let mario: TestUser;

  beforeEach(async () => {
    clock = new ManualClock(Date.now());
    smtp = await SmtpSink.start();
    const base = testStack().config;
    fx = await startServer({
      clock,
      config: {
        mail: { smtpUrl: smtp.url, from: 'UCC <ucc@example.test>' },
        rateLimits: { ...base.rateLimits, loginPerExtensionAndIp: 3, recoverPerExtension: 2 },
      },
    });
    mario = await fx.createUser({
      extension: '200',
      firstName: 'Mario',
      lastName: 'Rossi',
      plan: 'pro',
      email: 'mario@example.test',
      password: 'mario-password',
    });
  });

  afterEach(async () => {
    await fx.close();
    await smtp.close();
  });

  describe('login', () => {
    it('returns an access token, the user, and an httpOnly refresh cookie', async () => {
      const res = await login(fx, '200', 'mario-password');
      assert.equal(res.status, 200);
      assert.equal(res.body.expiresInMs, 15 * 60_000);
      assert.deepEqual(res.body.user, {
        id: mario.id,
        extension: '200',
        firstName: 'Mario',
        lastName: 'Rossi',
        plan: 'pro',
        role: 'user',
      });
      const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('ucc_refresh='));
      assert.match(setCookie ?? '', /HttpOnly/i);
      assert.match(setCookie ?? '', /SameSite=Strict/i);
      assert.match(setCookie ?? '', /Path=\/api\/auth/);
      const me = await fx.api('GET', '/api/me', { token: res.body.accessToken });
      assert.equal(me.status, 200);
      assert.equal((me.body as Profile).extension, '200');
    });

    it('answers a wrong password and an unknown extension identically', async () => {
      const wrong = await login(fx, '200', 'nope-nope');
      const unknown = await login(fx, '299', 'nope-nope');
      assert.equal(wrong.status, 401);
      assert.equal(unknown.status, 401);
      assert.equal(wrong.body.error.code, 'INVALID_CREDENTIALS');
      assert.deepEqual(wrong.body, unknown.body);
    });

    it('refuses a disabled account with the same answer', async () => {
      await fx.users.updateOne({ extension: '200' }, { $set: { disabled: true } });
      const res = await login(fx, '200', 'mario-password');
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'INVALID_CREDENTIALS');
    });

    it('lets an access token expire after 15 minutes', async () => {
      const { body } = await login(fx, '200', 'mario-password');
      clock.advance(14 * 60_000);
      assert.equal((await fx.api('GET', '/api/me', { token: body.accessToken })).status, 200);
      clock.advance(2 * 60_000);
      const expired = await fx.api('GET', '/api/me', { token: body.accessToken });
      assert.equal(expired.status, 401);
      assert.equal((expired.body as ErrorBody).error.code, 'UNAUTHENTICATED');
    });

    it('limits failed logins per extension and address with 429 and Retry-After', async () => {
      for (let i = 0; i < 3; i++) assert.equal((await login(fx, '200', 'wrong-password')).status, 401);
      const limited = await login(fx, '200', 'mario-password');
      assert.equal(limited.status, 429);
      assert.equal(limited.body.error.code, 'RATE_LIMITED');
      assert.ok(Number(limited.headers.get('retry-after')) > 0);
      // Another extension from the same address is not affected.
      await fx.createUser({ extension: '201', password: 'giulia-password' });
      assert.equal((await login(fx, '201', 'giulia-password')).status, 200);
    });
  });

  describe('refresh tokens', () => {
    it('rotates: each refresh gives a new cookie and access token', async () => {
      const first = await login(fx, '200', 'mario-password');
      const cookie1 = refreshCookie(first.headers);
      const refreshed = await fx.api('POST', '/api/auth/refresh', { headers: { Cookie: cookie1 } });
      assert.equal(refreshed.status, 200);
      const cookie2 = refreshCookie(refreshed.headers);
      assert.notEqual(cookie2, cookie1);
      const token = (refreshed.body as LoginResponse).accessToken;
      assert.equal((await fx.api('GET', '/api/me', { token })).status, 200);
    });

    it('revokes the whole family when a rotated token is used again', async () => {
      const first = await login(fx, '200', 'mario-password');
      const cookie1 = refreshCookie(first.headers);
      const second = await fx.api('POST', '/api/auth/refresh', { headers: { Cookie: cookie1 } });
      const cookie2 = refreshCookie(second.headers);

      // Past the grace window that covers two tabs refreshing at once.
      clock.advance(testStack().config.auth.refreshGraceMs + 1_000);
      const replay = await fx.api('POST', '/api/auth/refresh', { headers: { Cookie: cookie1 } });
      assert.equal(replay.status, 401);
      // The legitimate holder of the newest token is logged out too: the family is burnt.
      const afterReplay = await fx.api('POST', '/api/auth/refresh', { headers: { Cookie: cookie2 } });
      assert.equal(afterReplay.status, 401);
      // Another login (another family) is unaffected.
      const other = await login(fx, '200', 'mario-password');
      const ok = await fx.api('POST', '/api/auth/refresh', {
        headers: { Cookie: refreshCookie(other.headers) },
      });
      assert.equal(ok.status, 200);
    });

    it('ends the session on logout', async () => {
      const first = await login(fx, '200', 'mario-password');
      const cookie = refreshCookie(first.headers);
      assert.equal((await fx.api('POST', '/api/auth/logout', { headers: { Cookie: cookie } })).status, 204);
      assert.equal((await fx.api('POST', '/api/auth/refresh', { headers: { Cookie: cookie } })).status, 401);
    });

    it('refuses a refresh without a cookie', async () => {
      const res = await fx.api('POST', '/api/auth/refresh');
      assert.equal(res.status, 401);
      assert.equal((res.body as ErrorBody).error.code, 'UNAUTHENTICATED');
    });

    it('still refreshes when the client sends an expired access token along', async () => {
      const first = await login(fx, '200', 'mario-password');
      clock.advance(20 * 60_000);
      const res = await fx.api('POST', '/api/auth/refresh', {
        token: first.body.accessToken,
        headers: { Cookie: refreshCookie(first.headers) },
      });
      assert.equal(res.status, 200);
    });
  });

  describe('password change', () => {
    it('needs the current password, then ends every other session', async () => {
      const here = await login(fx, '200', 'mario-password');
      const elsewhere = await login(fx, '200', 'mario-password');
      const hereCookie = refreshCookie(here.headers);

      const wrong = await fx.api('POST', '/api/auth/password', {
        token: here.body.accessToken,
        body: { currentPassword: 'not-it', newPassword: 'new-password-1' },
      });
      assert.equal(wrong.status, 400);

      const ok = await fx.api('POST', '/api/auth/password', {
        token: here.body.accessToken,
        headers: { Cookie: hereCookie },
        body: { currentPassword: 'mario-password', newPassword: 'new-password-1' },
      });
      assert.equal(ok.status, 204);
      const other = await fx.api('POST', '/api/auth/refresh', {
        headers: { Cookie: refreshCookie(elsewhere.headers) },
      });
      assert.equal(other.status, 401);
      assert.equal(
        (await fx.api('POST', '/api/auth/refresh', { headers: { Cookie: hereCookie } })).status,
        200,
      );
      assert.equal((await login(fx, '200', 'mario-password')).status, 401);
      assert.equal((await login(fx, '200', 'new-password-1')).status, 200);
    });
  });

  describe('password recovery ("Recupera password")', () => {
    function linkToken(text: string): string {
      const match = /reset-password\?token=([A-Za-z0-9_%-]+)/.exec(text);
      assert.ok(match?.[1], `no link in: ${text}`);
      return decodeURIComponent(match[1]);
    }

    it('mails a one-time link that sets a new password and ends old sessions', async () => {
      const old = await login(fx, '200', 'mario-password');
      const unknown = await fx.api('POST', '/api/auth/recover', { body: { extension: '299' } });
      assert.equal(unknown.status, 202);
      const res = await fx.api('POST', '/api/auth/recover', { body: { extension: '200' } });
      assert.equal(res.status, 202);
      assert.deepEqual(res.body, unknown.body);

      const [mail] = await smtp.waitFor(1);
      assert.equal(smtp.messages.length, 1, 'the unknown extension must not produce a mail');
      assert.equal(mail?.to && !Array.isArray(mail.to) ? mail.to.text : '', 'mario@example.test');
      const token = linkToken(mail?.text ?? '');

      assert.equal(
        (await fx.api('POST', '/api/auth/reset', { body: { token, password: 'brand-new-pass' } })).status,
        204,
      );
      assert.equal((await login(fx, '200', 'brand-new-pass')).status, 200);
      assert.equal((await login(fx, '200', 'mario-password')).status, 401);
      const reused = await fx.api('POST', '/api/auth/reset', { body: { token, password: 'another-pass-1' } });
      assert.equal(reused.status, 400);
      assert.equal((reused.body as ErrorBody).error.code, 'VALIDATION_FAILED');
      const oldSession = await fx.api('POST', '/api/auth/refresh', {
        headers: { Cookie: refreshCookie(old.headers) },
      });
      assert.equal(oldSession.status, 401);
    });

    it('refuses a link after 30 minutes', async () => {
      await fx.api('POST', '/api/auth/recover', { body: { extension: '200' } });
      const [mail] = await smtp.waitFor(1);
      clock.advance(31 * 60_000);
      const res = await fx.api('POST', '/api/auth/reset', {
        body: { token: linkToken(mail?.text ?? ''), password: 'brand-new-pass' },
      });
      assert.equal(res.status, 400);
      assert.equal((await login(fx, '200', 'mario-password')).status, 200);
    });

    it('answers 202 for a user without email, and limits requests per extension', async () => {
      await fx.createUser({ extension: '202', password: 'nicolo-password' });
      assert.equal((await fx.api('POST', '/api/auth/recover', { body: { extension: '202' } })).status, 202);
      assert.equal((await fx.api('POST', '/api/auth/recover', { body: { extension: '202' } })).status, 202);
      const limited = await fx.api('POST', '/api/auth/recover', { body: { extension: '202' } });
      assert.equal(limited.status, 429);
      assert.equal((limited.body as ErrorBody).error.code, 'RATE_LIMITED');
    });
  });

  describe('preferences ("Impostazioni")', () => {
    async function preferences(): Promise<Profile['preferences']> {
      const res = await fx.api('GET', '/api/me', { token: mario.token });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return (res.body as Profile).preferences;
    }

    it('persists language and dark theme in the profile', async () => {
      const patched = await fx.api('PATCH', '/api/me/preferences', {
        token: mario.token,
        body: { language: 'en', darkTheme: true },
      });
      assert.equal(patched.status, 200);
      assert.deepEqual(await preferences(), {
        language: 'en',
        darkTheme: true,
        notificationSounds: true,
        sendSound: true,
        ringtones: true,
        devices: {},
        phone: { web: true, ringInternal: 'ring1', ringExternal: 'ring2' },
      });
    });

    it('keeps sounds and devices, replacing the devices as a whole', async () => {
      const patched = await fx.api('PATCH', '/api/me/preferences', {
        token: mario.token,
        body: {
          notificationSounds: false,
          sendSound: false,
          devices: { audioInput: 'mic-1', videoInput: 'cam-1', audioOutput: 'x'.repeat(256) },
        },
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.deepEqual((patched.body as Profile).preferences.devices, {
        audioInput: 'mic-1',
        videoInput: 'cam-1',
        audioOutput: 'x'.repeat(256),
      });
      // A partial update leaves the other preferences alone; the devices given are all the devices.
      await fx.api('PATCH', '/api/me/preferences', {
        token: mario.token,
        body: { devices: { videoInput: 'cam-2' } },
      });
      assert.deepEqual(await preferences(), {
        language: 'it',
        darkTheme: false,
        notificationSounds: false,
        sendSound: false,
        ringtones: true,
        devices: { videoInput: 'cam-2' },
        phone: { web: true, ringInternal: 'ring1', ringExternal: 'ring2' },
      });

      const invalid: unknown[] = [
        { sendSound: 'yes' },
        { devices: { audioInput: 'x'.repeat(257) } },
        { devices: { speaker: 'abc' } },
        { devices: { audioInput: 42 } },
        { devices: 'default' },
        { devices: { videoInput: 'cam\u0000' } },
      ];
      for (const body of invalid) {
        const res = await fx.api('PATCH', '/api/me/preferences', { token: mario.token, body });
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal((res.body as ErrorBody).error.code, 'VALIDATION_FAILED');
      }
      assert.deepEqual((await preferences()).devices, { videoInput: 'cam-2' });
    });

    it('gives accounts saved before the newer preferences their defaults', async () => {
      // As an account stored by an older version: no sendSound, no devices.
      await fx.users.collection.updateOne(
        { _id: new Types.ObjectId(mario.id) },
        { $unset: { 'preferences.sendSound': 1, 'preferences.devices': 1 } },
      );
      const raw = await fx.users.collection.findOne({ _id: new Types.ObjectId(mario.id) });
      assert.deepEqual(Object.keys((raw?.preferences ?? {}) as object).sort(), [
        'darkTheme',
        'language',
        'notificationSounds',
        'phone',
        'ringtones',
      ]);
      assert.deepEqual(await preferences(), {
        language: 'it',
        darkTheme: false,
        notificationSounds: true,
        sendSound: true,
        ringtones: true,
        devices: {},
        phone: { web: true, ringInternal: 'ring1', ringExternal: 'ring2' },
      });
      const patched = await fx.api('PATCH', '/api/me/preferences', {
        token: mario.token,
        body: { darkTheme: true },
      });
      assert.equal((patched.body as Profile).preferences.sendSound, true);
      assert.deepEqual((patched.body as Profile).preferences.devices, {});
    });
  });

  describe('guest tokens', () => {
    it('cannot call user APIs, and an access token is not a guest token', async () => {
      const guest = fx.guestToken();
      const res = await fx.api('GET', '/api/me', { token: guest });
      assert.equal(res.status, 403);
      assert.equal((res.body as ErrorBody).error.code, 'FORBIDDEN');
      assert.throws(() => fx.tokens.verifyGuest(mario.token), /Invalid/);
      assert.throws(() => fx.tokens.verifyAccess(guest), /Invalid/);
    });
  });

  describe('socket.io handshake', () => {
    const sockets: Socket[] = [];

    afterEach(() => {
      for (const s of sockets.splice(0)) s.disconnect();
    });

    function connect(token?: string): Promise<{ ok: true } | { ok: false; data: unknown }> {
      const socket = io(fx.baseUrl, {
        transports: ['websocket'],
        auth: token ? { token } : {},
        reconnection: false,
      });
      sockets.push(socket);
      return new Promise((resolve) => {
        socket.once('connect', () => resolve({ ok: true }));
        socket.once('connect_error', (err: Error & { data?: unknown }) =>
          resolve({ ok: false, data: err.data }),
        );
      });
    }

    it('refuses a connection without a token or with a bad one', async () => {
      assert.deepEqual(await connect(), {
        ok: false,
        data: { error: { code: 'UNAUTHENTICATED', message: 'A token is required to connect' } },
      });
      const bad = await connect('not-a-token');
      assert.equal(bad.ok, false);
    });

    it('accepts a user token and a guest token', async () => {
      assert.deepEqual(await connect(mario.token), { ok: true });
      const guest = fx.guestToken();
      assert.deepEqual(await connect(guest), { ok: true });
    });

    it('refuses the token of a disabled user', async () => {
      await fx.users.updateOne({ extension: '200' }, { $set: { disabled: true } });
      assert.equal((await connect(mario.token)).ok, false);
    });
  });
});

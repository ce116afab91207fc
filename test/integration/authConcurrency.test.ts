import assert from 'node:assert/strict';
import { ManualClock } from '../../server/clock.js';
import type { Config } from '../../server/config.js';
import type { LoginResponse } from '../../shared/schemas/auth.js';
import { startServer, type ServerFixture } from '../harness/serverFixture.js';
import { SmtpSink } from '../harness/smtpSink.js';
import { testStack } from '../harness/testStack.js';

// Single-use tokens, safe user writes and login limits, against the real FerretDB (which rewrites whole documents
// and has no atomic read-modify-write), so parallel requests here really race in the store.

const PARALLEL = 20;

function refreshCookie(headers: Headers): string | undefined {
  return headers
    .getSetCookie()
    .find((c) => c.startsWith('ucc_refresh='))
    ?.split(';')[0];
}

async function start(
  clock: ManualClock,
  config: {
    auth?: Partial<Config['auth']>;
    rateLimits?: Partial<Config['rateLimits']>;
    mail?: Config['mail'];
  },
): Promise<ServerFixture> {
  const base = testStack().config;
  return startServer({
    clock,
    config: {
      auth: { ...base.auth, ...config.auth },
      rateLimits: { ...base.rateLimits, ...config.rateLimits },
      ...(config.mail ? { mail: config.mail } : {}),
    },
  });
}

function loginFrom(fx: ServerFixture, ip: string, extension: string, password: string) {
  return fx.api('POST', '/api/auth/login', {
    body: { extension, password },
    headers: { 'X-Forwarded-For': ip },
  });
}

describe('auth under concurrency and attack (real FerretDB)', () => {
  let fx: ServerFixture | undefined;
  let smtp: SmtpSink | undefined;
  let clock: ManualClock;

  beforeEach(() => {
    clock = new ManualClock(Date.now());
  });

  afterEach(async () => {
    await fx?.close();
    await smtp?.close();
    fx = undefined;
    smtp = undefined;
  });

  describe('refresh-token rotation', () => {
    it('lets exactly one of 20 parallel refreshes of one token rotate it, without a grace window', async () => {
      fx = await start(clock, { auth: { refreshGraceMs: 0 } });
      await fx.createUser({ extension: '200', password: 'mario-password' });
      const login = await fx.api('POST', '/api/auth/login', {
        body: { extension: '200', password: 'mario-password' },
      });
      const cookie = refreshCookie(login.headers) ?? '';
      const f = fx;
      const results = await Promise.all(
        Array.from({ length: PARALLEL }, () =>
          f.api('POST', '/api/auth/refresh', { headers: { Cookie: cookie } }),
        ),
      );
      const statuses = results.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 200).length, 1, `statuses: ${statuses.join(',')}`);
      assert.equal(statuses.filter((s) => s === 401).length, PARALLEL - 1);
    });

    it('gives every refresh within the grace window the same successor, which then rotates normally', async () => {
      fx = await start(clock, { auth: { refreshGraceMs: 20_000 } });
      await fx.createUser({ extension: '200', password: 'mario-password' });
      const login = await fx.api('POST', '/api/auth/login', {
        body: { extension: '200', password: 'mario-password' },
      });
      const cookie = refreshCookie(login.headers) ?? '';
      const f = fx;
      const results = await Promise.all(
        Array.from({ length: PARALLEL }, () =>
          f.api('POST', '/api/auth/refresh', { headers: { Cookie: cookie } }),
        ),
      );
      assert.deepEqual(
        results.map((r) => r.status),
        Array.from({ length: PARALLEL }, () => 200),
      );
      const successors = new Set(results.map((r) => refreshCookie(r.headers)));
      assert.equal(successors.size, 1, 'all callers got the same successor');
      const [successor] = [...successors];
      assert.notEqual(successor, cookie);

      // A second tab 10 s later still gets it; the successor itself rotates as usual.
      clock.advance(10_000);
      const late = await fx.api('POST', '/api/auth/refresh', { headers: { Cookie: cookie } });
      assert.equal(late.status, 200);
      assert.equal(refreshCookie(late.headers), successor);
      const next = await fx.api('POST', '/api/auth/refresh', { headers: { Cookie: successor ?? '' } });
      assert.equal(next.status, 200);
      const token = (next.body as LoginResponse).accessToken;
      assert.equal((await fx.api('GET', '/api/me', { token })).status, 200);
    });

    it('burns the family when a rotated token comes back after the grace window', async () => {
      fx = await start(clock, { auth: { refreshGraceMs: 20_000 } });
      await fx.createUser({ extension: '200', password: 'mario-password' });
      const login = await fx.api('POST', '/api/auth/login', {
        body: { extension: '200', password: 'mario-password' },
      });
      const first = refreshCookie(login.headers) ?? '';
      const rotated = await fx.api('POST', '/api/auth/refresh', { headers: { Cookie: first } });
      const second = refreshCookie(rotated.headers) ?? '';
      clock.advance(21_000);
      assert.equal((await fx.api('POST', '/api/auth/refresh', { headers: { Cookie: first } })).status, 401);
      assert.equal((await fx.api('POST', '/api/auth/refresh', { headers: { Cookie: second } })).status, 401);
    });
  });

  describe('password reset links', () => {
    it('lets exactly one of 20 parallel claims of one link set the password', async () => {
      smtp = await SmtpSink.start();
      fx = await start(clock, { mail: { smtpUrl: smtp.url, from: 'UCC <ucc@example.test>' } });
      await fx.createUser({ extension: '200', password: 'mario-password', email: 'mario@example.test' });
      assert.equal((await fx.api('POST', '/api/auth/recover', { body: { extension: '200' } })).status, 202);
      const [mail] = await smtp.waitFor(1);
      const match = /reset-password\?token=([A-Za-z0-9_%-]+)/.exec(mail?.text ?? '');
      const token = decodeURIComponent(match?.[1] ?? '');
      const f = fx;
      const results = await Promise.all(
        Array.from({ length: PARALLEL }, (_, i) =>
          f.api('POST', '/api/auth/reset', { body: { token, password: `new-password-${i}` } }),
        ),
      );
      const winners = results.flatMap((r, i) => (r.status === 204 ? [i] : []));
      assert.equal(winners.length, 1, `statuses: ${results.map((r) => r.status).join(',')}`);
      assert.ok(results.every((r) => r.status === 204 || r.status === 400));
      const winner = winners[0] ?? -1;
      assert.equal((await loginFrom(fx, '10.0.0.1', '200', `new-password-${winner}`)).status, 200);
    });
  });

  describe('user writes', () => {
    it("keeps an admin's disable when the user saves preferences at the same moment", async () => {
      fx = await start(clock, {});
      const admin = await fx.createUser({ role: 'admin', plan: 'pro' });
      const mario = await fx.createUser({ extension: '200' });
      const f = fx;
      for (let round = 0; round < 5; round++) {
        const saves = Array.from({ length: 10 }, (_, i) =>
          f.api('PATCH', '/api/me/preferences', {
            token: mario.token,
            body: { darkTheme: i % 2 === 0, language: i % 2 === 0 ? 'en' : 'it' },
          }),
        );
        const disable = f.api('PATCH', `/api/directory/users/${mario.id}`, {
          token: admin.token,
          body: { disabled: true },
        });
        const [disabled] = await Promise.all([disable, ...saves]);
        assert.equal(disabled.status, 200);
        const kept = await fx.users.exists({ _id: mario.id, disabled: true });
        assert.ok(kept, `round ${round}: the disable was lost`);
        const enabled = await f.api('PATCH', `/api/directory/users/${mario.id}`, {
          token: admin.token,
          body: { disabled: false },
        });
        assert.equal(enabled.status, 200);
      }
    });
  });

  describe('login limits', () => {
    it("stops an attacker's address at the hard limit while the owner logs in from theirs", async () => {
      fx = await start(clock, { rateLimits: { loginPerExtensionAndIp: 5, loginPerExtension: 100 } });
      await fx.createUser({ extension: '200', password: 'mario-password' });
      const attempts = [];
      for (let i = 0; i < 12; i++) attempts.push((await loginFrom(fx, '203.0.113.9', '200', 'guess')).status);
      assert.deepEqual(attempts.slice(0, 5), [401, 401, 401, 401, 401]);
      assert.ok(
        attempts.slice(5).every((s) => s === 429),
        attempts.join(','),
      );
      // Even with the right password, that address stays limited...
      assert.equal((await loginFrom(fx, '203.0.113.9', '200', 'mario-password')).status, 429);
      // ...and the owner, elsewhere, is not.
      assert.equal((await loginFrom(fx, '198.51.100.7', '200', 'mario-password')).status, 200);
    });

    it('counts parallel attempts before checking them: 20 at once from one address get 5 tries', async () => {
      fx = await start(clock, { rateLimits: { loginPerExtensionAndIp: 5, loginPerExtension: 100 } });
      await fx.createUser({ extension: '200', password: 'mario-password' });
      const f = fx;
      const statuses = (
        await Promise.all(Array.from({ length: PARALLEL }, () => loginFrom(f, '203.0.113.9', '200', 'guess')))
      ).map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 401).length, 5, statuses.join(','));
      assert.equal(statuses.filter((s) => s === 429).length, PARALLEL - 5);
    });

    it('lets the owner in from an address they used, even when many addresses hammer the extension', async () => {
      fx = await start(clock, { rateLimits: { loginPerExtensionAndIp: 3, loginPerExtension: 6 } });
      await fx.createUser({ extension: '200', password: 'mario-password' });
      assert.equal((await loginFrom(fx, '198.51.100.7', '200', 'mario-password')).status, 200);
      for (let n = 1; n <= 4; n++) {
        for (let i = 0; i < 3; i++) await loginFrom(fx, `203.0.113.${n}`, '200', 'guess');
      }
      // The extension is over its overall limit for addresses it does not know...
      const stranger = await loginFrom(fx, '192.0.2.50', '200', 'mario-password');
      assert.equal(stranger.status, 429);
      // ...but not for the owner's.
      assert.equal((await loginFrom(fx, '198.51.100.7', '200', 'mario-password')).status, 200);
    });

    it('validates the extension before counting it: a huge one is refused and costs the real one nothing', async () => {
      fx = await start(clock, { rateLimits: { loginPerExtensionAndIp: 2, loginPerExtension: 2 } });
      await fx.createUser({ extension: '200', password: 'mario-password' });
      for (const extension of ['200'.repeat(1_000), ' 200x', '']) {
        const res = await loginFrom(fx, '203.0.113.9', extension, 'guess');
        assert.equal(res.status, 400);
        assert.equal((res.body as { error: { code: string } }).error.code, 'VALIDATION_FAILED');
      }
      // Past the public routes' body limit the body is not even read.
      const huge = await loginFrom(fx, '203.0.113.9', '200'.repeat(100_000), 'guess');
      assert.equal(huge.status, 413);
      assert.equal((huge.body as { error: { code: string } }).error.code, 'PAYLOAD_TOO_LARGE');
      assert.equal((await loginFrom(fx, '203.0.113.9', '200', 'mario-password')).status, 200);
    });
  });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { KEEPALIVE_INTERVAL_MS, KEEPALIVE_TIMEOUT_MS } from '../../client/src/app/phone/keepalive.js';
import { startPhoneEdge, type PhoneEdge } from '../harness/phoneEdge.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';
import { UiPages } from '../harness/uiPages.js';

const execFileP = promisify(execFile);

/**
 * Drops (or stops dropping) every TCP packet to and from the app's port: the browser's SIP WebSocket (and the rest)
 * goes silent with no FIN, no RST and no `offline` event, as on a Wi-Fi that died. Needs root (iptables).
 */
async function dropTcp(port: number, on: boolean): Promise<void> {
  for (const dir of ['--dport', '--sport']) {
    await execFileP('iptables', [on ? '-I' : '-D', 'INPUT', '-p', 'tcp', dir, String(port), '-j', 'DROP']);
  }
}

describe('web phone on a network that dies silently: the CRLF keepalive notices, the phone registers again', function () {
  this.timeout(150_000);
  let edge: PhoneEdge;
  let fx: ServerFixture;
  let ui: UiPages;
  let mario: TestUser;
  let page: Page;
  let port: number;
  let dropping = false;

  async function registration(state: string, timeout: number): Promise<void> {
    await page.locator(`[data-registration="${state}"]`).waitFor({ timeout });
  }

  before(async function () {
    this.timeout(90_000);
    edge = await startPhoneEdge();
    fx = await startServer({ kamailio: edge.kamailio.endpoint });
    port = Number(new URL(fx.baseUrl).port);
    mario = await fx.createUser({ firstName: 'Mario', lastName: 'Rossi' });
    // The web phone registers with the HA1 of the extension's credentials, made with a desk phone password.
    assert.equal((await fx.api('POST', '/api/telephony/me/password', { token: mario.token })).status, 201);
    ui = await UiPages.create(fx.baseUrl);
    page = await ui.open('mario', '/', { permissions: ['microphone', 'notifications'] });
    await ui.signIn(page, mario);
    await page.getByRole('tab', { name: /^Telefono/ }).click();
    await registration('registered', 20_000);
  });

  after(async function () {
    this.timeout(30_000);
    if (dropping) await dropTcp(port, false);
    await ui?.close(this.currentTest?.state === 'failed' ? 'phone-keepalive' : undefined);
    await fx?.close();
    await fx?.db.close();
    await edge?.stop();
  });

  it('shows "reconnecting" within about a keepalive interval + timeout, and is registered again once the network is back', async () => {
    const t0 = Date.now();
    await dropTcp(port, true);
    dropping = true;
    // Bounded by twice interval + timeout for a loaded machine; without the keepalive nothing would change until
    // the next re-REGISTER failed, minutes later.
    await registration('reconnecting', 2 * (KEEPALIVE_INTERVAL_MS + KEEPALIVE_TIMEOUT_MS));
    const noticedMs = Date.now() - t0;
    process.stdout.write(`      (silent loss shown after ${noticedMs} ms)\n`);
    await dropTcp(port, false);
    dropping = false;
    await registration('registered', 60_000);
  });
});

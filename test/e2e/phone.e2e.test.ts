import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { SipPasswordView } from '../../shared/schemas/calls.js';
import { BaresipPhone, dominantTone, sineWav } from '../harness/baresip.js';
import { eventually } from '../harness/eventually.js';
import { startPhoneEdge, TEST_SIP_DOMAIN, type PhoneEdge } from '../harness/phoneEdge.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';
import { UiPages } from '../harness/uiPages.js';

/** What Chromium's fake microphone plays (a file it loops), and what the desk phone sends. */
const BROWSER_TONE = 1_000;
const DESK_TONE = 440;

/** The page's globals, as page.evaluate sees them (this side has no DOM types). */
declare const window: { __pcs: { getStats: () => Promise<Map<string, Record<string, unknown>>> }[] };

/**
 * Every RTCPeerConnection the page makes, kept for its statistics: the test reads them, the app does not. A
 * string, not a function: what the TypeScript loader adds to compiled functions does not exist in the page.
 */
const TRACK_PEER_CONNECTIONS = `
  window.__pcs = [];
  const Original = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Original {
    constructor(...args) {
      super(...args);
      window.__pcs.push(this);
    }
  };
`;

/** Audio received by the newest peer connection of the page (its `inbound-rtp` statistics) and its codec. */
async function audioReceived(page: Page): Promise<{ packets: number; codec: string }> {
  return page.evaluate(async () => {
    const pc = window.__pcs[window.__pcs.length - 1];
    if (!pc) return { packets: 0, codec: '' };
    const stats = await pc.getStats();
    let packets = 0;
    let codec = '';
    stats.forEach((r) => {
      if (r.type !== 'inbound-rtp' || r.kind !== 'audio') return;
      packets += Number(r.packetsReceived ?? 0);
      const c = typeof r.codecId === 'string' ? stats.get(r.codecId) : undefined;
      if (typeof c?.mimeType === 'string') codec = c.mimeType;
    });
    return { packets, codec };
  });
}

describe('web phone (Telefono) in Chromium, through Kamailio and rtpengine, with a baresip desk phone', function () {
  this.timeout(120_000);
  let edge: PhoneEdge;
  let fx: ServerFixture;
  let ui: UiPages;
  let dir: string;
  let mario: TestUser;
  let giulia: TestUser;
  let desk: BaresipPhone;
  let page: Page;

  async function registered(extension: string): Promise<boolean> {
    const res = await fetch(`http://127.0.0.1:${edge.kamailio.endpoint.sipPort}/RPC`, {
      method: 'POST',
      headers: { 'X-Ucc-Rpc-Token': edge.kamailio.endpoint.rpcToken },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ul.lookup', params: ['location', extension] }),
    });
    const answer = (await res.json()) as { result?: unknown; error?: unknown };
    return answer.result !== undefined && answer.error === undefined;
  }

  async function phoneTab(): Promise<void> {
    await page.getByRole('tab', { name: /^Telefono/ }).click();
    await page.locator('[data-registration]').waitFor();
  }

  async function dial(number: string): Promise<void> {
    await page.getByLabel('Numero da chiamare').fill(number);
    await page.getByRole('button', { name: 'Chiama', exact: true }).click();
  }

  async function dismissEnded(): Promise<void> {
    await page.getByText('Chiamata terminata').waitFor();
    await page.getByRole('button', { name: 'Chiudi', exact: true }).click();
    await page.getByLabel('Numero da chiamare').waitFor();
  }

  before(async function () {
    this.timeout(90_000);
    dir = await mkdtemp(path.join(tmpdir(), 'ucc-webphone-'));
    const wav = path.join(dir, 'mic.wav');
    await writeFile(wav, sineWav(BROWSER_TONE, 10_000, 48_000));
    edge = await startPhoneEdge({ noAnswerTimeoutMs: 4_000 });
    fx = await startServer({ kamailio: edge.kamailio.endpoint });
    mario = await fx.createUser({ firstName: 'Mario', lastName: 'Rossi' });
    giulia = await fx.createUser({ firstName: 'Giulia', lastName: 'Bianchi' });
    // The web phone registers with the HA1 of the extension's credentials, made with a desk phone password.
    for (const user of [mario, giulia]) {
      const res = await fx.api('POST', '/api/telephony/me/password', { token: user.token });
      assert.equal(res.status, 201);
      if (user === giulia) {
        desk = await BaresipPhone.start({
          dir: path.join(dir, 'desk'),
          extension: giulia.extension,
          password: (res.body as SipPasswordView).password,
          domain: TEST_SIP_DOMAIN,
          proxyPort: edge.kamailio.endpoint.sipPort,
          toneHz: DESK_TONE,
          toneMs: 4_000,
        });
        await desk.next('REGISTER_OK');
      }
    }
    ui = await UiPages.create(fx.baseUrl, [
      `--use-file-for-fake-audio-capture=${wav}`,
      // rtpengine and Chromium meet on loopback here.
      '--allow-loopback-in-peer-connection',
    ]);
    page = await ui.open('mario', '/', { permissions: ['microphone', 'notifications'] });
    await page.addInitScript(TRACK_PEER_CONNECTIONS);
    if (process.env.PHONE_DEBUG) {
      await page.addInitScript('localStorage.debug = "JsSIP:*"');
      page.on('console', (m) => process.stderr.write(`[page] ${m.text().slice(0, 1500)}\n`));
    }
    await page.reload();
    await ui.signIn(page, mario);
    await phoneTab();
    await page.locator('[data-registration="registered"]').waitFor({ timeout: 20_000 });
    await eventually('the browser registered in Kamailio', 10_000, async () =>
      (await registered(mario.extension)) ? true : undefined,
    );
  });

  after(async function () {
    this.timeout(30_000);
    await ui?.close(this.currentTest?.state === 'failed' ? 'phone' : undefined);
    await desk?.stop();
    if (process.env.PHONE_DEBUG) await cp(path.join(edge.dataDir, 'kamailio.log'), '/tmp/phone-kamailio.log');
    await fx?.close();
    await fx?.db.close();
    await edge?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => desk.clearEvents());

  it('calls the desk phone: the desk phone hears the browser microphone, the browser receives audio', async () => {
    await desk.clearRecordings();
    await dial(giulia.extension);
    await desk.next('CALL_INCOMING');
    await page.getByText(new RegExp(`Chiamata verso ${giulia.extension}`)).waitFor();
    await desk.command('accept');
    await desk.next('CALL_ESTABLISHED');
    await page.getByText('In conversazione').waitFor();
    const received = await eventually(
      'audio packets arrive in the browser (inbound-rtp)',
      10_000,
      async () => {
        const r = await audioReceived(page);
        return r.packets > 25 ? r : undefined;
      },
    );
    // rtpengine transcodes: opus towards the browser, PCMA towards the desk phone.
    assert.equal(received.codec.toLowerCase(), 'audio/opus');
    await ui.screenshot(page, 'phone-call-connected.png');
    // The desk phone hangs up when its tone file ends; its recording is what it heard from the browser.
    await desk.next('CALL_CLOSED');
    await dismissEnded();
    const heard = dominantTone(await desk.lastRecording(), [BROWSER_TONE, DESK_TONE, 660]);
    assert.equal(heard.hz, BROWSER_TONE, `the desk phone heard ${JSON.stringify(heard)}`);
    assert.ok(heard.seconds > 1, 'the recording holds audio');
    assert.ok(heard.ratio > 10, 'the browser tone dominates clearly');
  });

  it('rings the browser while it shows the Chat tab: the banner answers the call', async () => {
    await page.getByRole('tab', { name: /^Chat/ }).click();
    await desk.dial(mario.extension);
    const banner = page.getByRole('alertdialog', { name: 'Chiamata in arrivo' });
    await banner.waitFor();
    assert.match((await banner.textContent()) ?? '', new RegExp(giulia.extension));
    await ui.screenshot(page, 'phone-incoming-banner.png');
    await banner.getByRole('button', { name: 'Rispondi' }).click();
    await desk.next('CALL_ESTABLISHED');
    // The call screen comes forward on the Telefono tab.
    await page.getByText('In conversazione').waitFor();
    assert.equal(await page.getByRole('tab', { name: /^Telefono/ }).getAttribute('aria-selected'), 'true');
    await eventually('audio packets arrive in the browser', 10_000, async () =>
      (await audioReceived(page)).packets > 25 ? true : undefined,
    );
    await desk.next('CALL_CLOSED');
    await dismissEnded();
  });

  it('tells a busy extension and an unknown one apart on the call screen', async () => {
    await dial(giulia.extension);
    await desk.next('CALL_INCOMING');
    await desk.command('hangup');
    await page.getByRole('alert').filter({ hasText: 'Occupato (486)' }).waitFor();
    await ui.screenshot(page, 'phone-busy.png');
    await dismissEnded();

    await dial('999');
    await page.getByRole('alert').filter({ hasText: 'Numero inesistente' }).waitFor();
    await dismissEnded();
  });

  it('"Telefono via web" off unregisters the browser (the desk phone cannot reach it); on registers again', async () => {
    const power = page.getByRole('button', { name: /Telefono via web/ });
    assert.equal(await power.getAttribute('aria-pressed'), 'true');
    await power.click();
    assert.equal(await power.getAttribute('aria-pressed'), 'false');
    await eventually('the browser left Kamailio', 10_000, async () =>
      (await registered(mario.extension)) ? undefined : true,
    );
    await ui.screenshot(page, 'phone-web-off.png');
    await desk.dial(mario.extension);
    const closed = await desk.next('CALL_CLOSED');
    assert.match(closed.param ?? '', /404/);
    // The preference is kept: a reload keeps the web phone off.
    const me = await fx.api('GET', '/api/me', { token: mario.token });
    assert.equal((me.body as { preferences: { phone: { web: boolean } } }).preferences.phone.web, false);

    desk.clearEvents();
    await power.click();
    await page.locator('[data-registration="registered"]').waitFor({ timeout: 20_000 });
    await eventually('the browser registered again', 10_000, async () =>
      (await registered(mario.extension)) ? true : undefined,
    );
    await desk.dial(mario.extension);
    const banner = page.getByRole('alertdialog', { name: 'Chiamata in arrivo' });
    await banner.getByRole('button', { name: 'Rifiuta' }).click();
    const rejected = await desk.next('CALL_CLOSED');
    assert.match(rejected.param ?? '', /603|Decline/);
    ui.assertNoConsoleErrors();
  });
});

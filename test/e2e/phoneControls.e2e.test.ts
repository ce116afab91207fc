import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { dominantTone, sineWav, wavFrom, wavRms, wavSeconds, type BaresipPhone } from '../harness/baresip.js';
import { eventually } from '../harness/eventually.js';
import { deskPhoneFor, startPhoneEdge, TEST_SIP_DOMAIN, type PhoneEdge } from '../harness/phoneEdge.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';
import { UiPages } from '../harness/uiPages.js';

/** What Chromium's fake microphone plays (a file it loops), and what each desk phone sends. */
const BROWSER_TONE = 1_000;
const DESK_A_TONE = 440;
const DESK_B_TONE = 660;
const TONES = [BROWSER_TONE, DESK_A_TONE, DESK_B_TONE];
/** The desk phones' tone files are long: a call here ends by a hang-up, never by the end of the file. */
const DESK_TONE_MS = 90_000;

/** The page's globals, as page.evaluate sees them (this side has no DOM types). */
declare const window: {
  __pcs: {
    getStats: () => Promise<Map<string, Record<string, unknown>>>;
    remoteDescription: { sdp: string } | null;
    getSenders: () => { dtmf: { canInsertDTMF: boolean } | null }[];
  }[];
};

/** Every RTCPeerConnection the page makes, for its statistics (a string: see phone.e2e.test.ts). */
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

/** Audio packets sent by the newest peer connection of the page (its `outbound-rtp` statistics). */
async function audioSent(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const pc = window.__pcs[window.__pcs.length - 1];
    if (!pc) return 0;
    let packets = 0;
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'outbound-rtp' && r.kind === 'audio') packets += Number(r.packetsSent ?? 0);
    });
    return packets;
  });
}

/** Audio packets received by the newest peer connection of the page (its `inbound-rtp` statistics). */
async function audioReceived(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const pc = window.__pcs[window.__pcs.length - 1];
    if (!pc) return 0;
    let packets = 0;
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio') packets += Number(r.packetsReceived ?? 0);
    });
    return packets;
  });
}

/**
 * Hold, DTMF and blind transfer of the web phone, clicked on the call screen as a user would: Mario's Chromium
 * through Kamailio and rtpengine (opus ↔ PCMA) to the baresip desk phones of Giulia and Luca.
 */
describe('web phone call controls (Attesa, Tastiera DTMF, Trasferisci) with baresip desk phones', function () {
  this.timeout(120_000);
  let edge: PhoneEdge;
  let fx: ServerFixture;
  let ui: UiPages;
  let dir: string;
  let mario: TestUser;
  let giulia: TestUser;
  let luca: TestUser;
  let deskA: BaresipPhone;
  let deskB: BaresipPhone;
  let page: Page;

  const screen = (): ReturnType<Page['locator']> => page.locator('.call-screen');
  const status = (): ReturnType<Page['locator']> => page.locator('.call-status');

  async function dial(number: string): Promise<void> {
    await page.getByLabel('Numero da chiamare').fill(number);
    await page.getByRole('button', { name: 'Chiama', exact: true }).click();
  }

  /** Mario calls `desk` from the browser, the desk phone answers: both see the call up. */
  async function connectTo(desk: BaresipPhone): Promise<void> {
    await dial(desk.extension);
    await desk.next('CALL_INCOMING');
    await desk.command('accept');
    await desk.next('CALL_ESTABLISHED');
    await status().getByText('In conversazione').waitFor();
  }

  /** Waits until `desk`'s recording has `seconds` of audio after `from` (s), and returns that stretch. */
  async function heardAfter(desk: BaresipPhone, from: number, seconds: number): Promise<Buffer> {
    return eventually(`${desk.extension} records ${seconds} s after ${from} s`, 20_000, async () => {
      const wav = await desk.lastRecording();
      return wavSeconds(wav) >= from + seconds ? wavFrom(wav, from) : undefined;
    });
  }

  async function recordedSeconds(desk: BaresipPhone): Promise<number> {
    return wavSeconds(await desk.lastRecording());
  }

  async function hangUpFromBrowser(desk: BaresipPhone): Promise<void> {
    await page.getByRole('button', { name: 'Chiudi chiamata' }).click();
    await desk.next('CALL_CLOSED');
    await status().getByText('Chiamata terminata').waitFor();
    await page.getByRole('button', { name: 'Chiudi', exact: true }).click();
    await page.getByLabel('Numero da chiamare').waitFor();
  }

  before(async function () {
    this.timeout(90_000);
    dir = await mkdtemp(path.join(tmpdir(), 'ucc-phonectl-'));
    const wav = path.join(dir, 'mic.wav');
    await writeFile(wav, sineWav(BROWSER_TONE, 10_000, 48_000));
    edge = await startPhoneEdge({ noAnswerTimeoutMs: 10_000 });
    fx = await startServer({ kamailio: edge.kamailio.endpoint });
    mario = await fx.createUser({ firstName: 'Mario', lastName: 'Rossi' });
    giulia = await fx.createUser({ firstName: 'Giulia', lastName: 'Bianchi' });
    luca = await fx.createUser({ firstName: 'Luca', lastName: 'Verdi' });
    const res = await fx.api('POST', '/api/telephony/me/password', { token: mario.token });
    assert.equal(res.status, 201);
    deskA = await deskPhoneFor(fx, edge, dir, giulia, DESK_A_TONE, DESK_TONE_MS);
    deskB = await deskPhoneFor(fx, edge, dir, luca, DESK_B_TONE, DESK_TONE_MS);
    await Promise.all([deskA.next('REGISTER_OK'), deskB.next('REGISTER_OK')]);
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
    await page.getByRole('tab', { name: /^Telefono/ }).click();
    await page.locator('[data-registration="registered"]').waitFor({ timeout: 20_000 });
  });

  after(async function () {
    this.timeout(30_000);
    await ui?.close(this.currentTest?.state === 'failed' ? 'phone-controls' : undefined);
    await deskA?.stop();
    await deskB?.stop();
    await fx?.close();
    await fx?.db.close();
    await edge?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  // A failed test leaves no call behind for the next one.
  afterEach(async function () {
    if (this.currentTest?.state !== 'failed') return;
    await deskA.command('hangup');
    await deskB.command('hangup');
    await page
      .getByLabel('Numero da chiamare')
      .or(page.getByRole('button', { name: 'Chiudi', exact: true }))
      .first()
      .waitFor();
    const dismiss = page.getByRole('button', { name: 'Chiudi', exact: true });
    if (await dismiss.isVisible()) await dismiss.click();
  });

  beforeEach(async () => {
    deskA.clearEvents();
    deskB.clearEvents();
    await deskA.clearRecordings();
    await deskB.clearRecordings();
  });

  it('Attesa puts the call on hold (the desk phone stops hearing the browser) and takes it off again', async () => {
    await connectTo(deskA);
    const before = dominantTone(await heardAfter(deskA, 0, 1.5), TONES);
    assert.equal(before.hz, BROWSER_TONE, `before hold the desk phone heard ${JSON.stringify(before)}`);

    const hold = screen().getByRole('button', { name: 'Attesa' });
    await hold.click();
    await status().getByText('In attesa').waitFor();
    assert.equal(await hold.getAttribute('aria-pressed'), 'true');
    // baresip 1.0 reports no hold as such over ctrl_tcp: the re-INVITE shows as a new remote SDP offer.
    assert.equal((await deskA.next('CALL_REMOTE_SDP')).param, 'offer');
    await ui.screenshot(page, 'phone-call-on-hold.png');
    // While the browser sends 2 s more of packets (its own clock, not a sleep), the desk phone hears nothing of
    // it: its recording neither grows with the tone nor holds it.
    const heldFrom = await recordedSeconds(deskA);
    const sentAtHold = await audioSent(page);
    await eventually('the browser sends on while on hold', 15_000, async () =>
      (await audioSent(page)) >= sentAtHold + 100 ? true : undefined,
    );
    const during = wavFrom(await deskA.lastRecording(), heldFrom);
    assert.ok(
      wavSeconds(during) < 0.5 || wavRms(during) < 300,
      `on hold the desk phone still hears the browser (${wavSeconds(during)} s, rms ${wavRms(during)})`,
    );
    // The desk phone answered recvonly: it sends nothing to the browser either.
    const receivedOnHold = await audioReceived(page);

    await hold.click();
    await status().getByText('In conversazione').waitFor();
    assert.equal(await hold.getAttribute('aria-pressed'), 'false');
    assert.equal((await deskA.next('CALL_REMOTE_SDP')).param, 'offer');
    // The desk phone sends again (sendrecv). What it hears after a recvonly phase cannot be checked here:
    // baresip 1.0 records nothing more after it, while rtpengine's log shows the transcoded RTP reaching it.
    await eventually('the desk phone sends to the browser again', 10_000, async () =>
      (await audioReceived(page)) >= receivedOnHold + 50 ? true : undefined,
    );

    await hangUpFromBrowser(deskA);
    ui.assertNoConsoleErrors();
  });

  it('digits of the call screen keypad reach the desk phone, in order', async () => {
    await connectTo(deskA);
    // RFC 4733 on both legs, so the digits go in the RTP (PhoneCall falls back to SIP INFO only without it):
    // rtpengine answered the browser with telephone-event/48000 next to opus and offered the desk phone
    // telephone-event/8000 next to PCMA.
    const browserLeg = await page.evaluate(() => {
      const pc = window.__pcs[window.__pcs.length - 1];
      return {
        sdp: pc?.remoteDescription?.sdp ?? '',
        inband: pc?.getSenders().some((s) => s.dtmf?.canInsertDTMF === true) ?? false,
      };
    });
    assert.match(browserLeg.sdp, /a=rtpmap:\d+ telephone-event\/48000/);
    assert.ok(browserLeg.inband, 'the browser can send RFC 4733 events');
    assert.match((await deskA.command('callstat')).data, /remote formats:[^]*telephone-event\/8000/);
    await screen().getByRole('button', { name: 'Tastiera DTMF' }).click();
    const keypad = screen().getByRole('group', { name: 'Tastiera DTMF' });
    const digits = ['1', '5', '9', '*', '0', '#'];
    for (const d of digits) {
      await keypad.getByRole('button', { name: d, exact: true }).click();
      // One digit at a time, as a person types: each must arrive before the next is pressed.
      // baresip prints each as {"type":"CALL_DTMF_START","param":"<digit>"}, then CALL_DTMF_END.
      assert.equal((await deskA.next('CALL_DTMF_START')).param, d);
    }
    await screen().locator('.call-dtmf output').getByText(digits.join('')).waitFor();
    await hangUpFromBrowser(deskA);
  });

  it('Trasferisci to an unknown extension says so on the call screen; the call goes on', async () => {
    await connectTo(deskA);
    // A new call shows nothing of the last one's keypad (it was left open there, with its digits).
    assert.equal(await screen().getByRole('group', { name: 'Tastiera DTMF' }).count(), 0);
    assert.equal(await screen().locator('.call-dtmf').count(), 0);
    await screen().getByRole('button', { name: 'Trasferisci' }).first().click();
    await screen().getByLabel('Trasferisci a interno').fill('999');
    await screen().locator('form.call-transfer').getByRole('button', { name: 'Trasferisci' }).click();
    // The desk phone takes the REFER and calls 999 itself, which Kamailio answers 404.
    assert.equal((await deskA.next('TRANSFER')).param, `<sip:999@${TEST_SIP_DOMAIN}>`);
    await screen().getByRole('alert').filter({ hasText: 'Trasferimento non riuscito' }).waitFor();
    await ui.screenshot(page, 'phone-transfer-failed.png');
    await status().getByText('In conversazione').waitFor();
    const from = await recordedSeconds(deskA);
    const still = dominantTone(await heardAfter(deskA, from + 0.5, 1.5), TONES);
    assert.equal(
      still.hz,
      BROWSER_TONE,
      `after the failed transfer the desk phone heard ${JSON.stringify(still)}`,
    );
    await hangUpFromBrowser(deskA);
  });

  it('Trasferisci hands the call to another extension: the two desk phones talk, the browser is free', async () => {
    await connectTo(deskA);
    await screen().getByRole('button', { name: 'Trasferisci' }).first().click();
    await screen().getByLabel('Trasferisci a interno').fill(luca.extension);
    await ui.screenshot(page, 'phone-transfer-form.png');
    await screen().locator('form.call-transfer').getByRole('button', { name: 'Trasferisci' }).click();
    assert.equal((await deskA.next('TRANSFER')).param, `<sip:${luca.extension}@${TEST_SIP_DOMAIN}>`);
    // Giulia's phone holds the browser while it calls Luca: the screen still says what is going on.
    await status().getByText('Trasferimento in corso…').waitFor();
    assert.equal(
      await screen().getByRole('button', { name: 'Attesa' }).getAttribute('aria-pressed'),
      'false',
    );
    await ui.screenshot(page, 'phone-transfer-in-progress.png');
    // The new call comes from Giulia's desk phone, not from the browser.
    const incoming = await deskB.next('CALL_INCOMING');
    assert.equal(incoming.peeruri, `sip:${giulia.extension}@${TEST_SIP_DOMAIN}`);
    await deskB.command('accept');
    await deskB.next('CALL_ESTABLISHED');
    // The browser's leg ends once the desk phone reports the new call up; the screen is the dial pad again.
    await page.getByLabel('Numero da chiamare').waitFor();
    // The browser's BYE for the first call (baresip says "Connection reset by peer" for a BYE it receives).
    assert.equal((await deskA.next('CALL_CLOSED')).peeruri, `sip:${mario.extension}@${TEST_SIP_DOMAIN}`);
    await page.getByText(`Chiamata trasferita a ${luca.extension}`).waitFor();

    const heard = dominantTone(await heardAfter(deskB, 0.5, 1.5), TONES);
    assert.equal(heard.hz, DESK_A_TONE, `the transfer target heard ${JSON.stringify(heard)}`);
    assert.ok(heard.ratio > 10, "Giulia's tone dominates clearly");
    await deskB.command('hangup');
    await deskA.next('CALL_CLOSED');
    ui.assertNoConsoleErrors();
  });
});

import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { dominantTone, wavFrom, wavRms, wavSeconds, type BaresipPhone } from '../harness/baresip.js';
import { eventually } from '../harness/eventually.js';
import { lastPeer, phoneE2eFixture, TRACK_PEER_CONNECTIONS } from '../harness/phoneE2eFixture.js';
import { TEST_SIP_DOMAIN } from '../harness/phoneEdge.js';
import type { TestUser } from '../harness/serverFixture.js';

/** What Chromium's fake microphone plays (a file it loops), and what each desk phone sends. */
const BROWSER_TONE = 1_000;
const DESK_A_TONE = 440;
const DESK_B_TONE = 660;
const TONES = [BROWSER_TONE, DESK_A_TONE, DESK_B_TONE];
/** The desk phones' tone files are long: a call here ends by a hang-up, never by the end of the file. */
const DESK_TONE_MS = 90_000;

/**
 * Hold, DTMF and blind transfer of the web phone, clicked on the call screen as a user would: Mario's Chromium
 * through Kamailio and rtpengine (opus ↔ PCMA) to the baresip desk phones of Giulia and Luca, and Anna's, which
 * sends back what it hears (an echo: what it records of that goes on after a hold, see BaresipPhone.echoFromNow).
 */
describe('web phone call controls (Attesa, Tastiera DTMF, Trasferisci) with baresip desk phones', function () {
  this.timeout(120_000);
  const px = phoneE2eFixture({
    name: 'phone-controls',
    noAnswerTimeoutMs: 10_000,
    micToneHz: BROWSER_TONE,
    initScript: TRACK_PEER_CONNECTIONS,
    people: {
      mario: { firstName: 'Mario', lastName: 'Rossi' },
      giulia: {
        firstName: 'Giulia',
        lastName: 'Bianchi',
        desk: { toneHz: DESK_A_TONE, toneMs: DESK_TONE_MS },
      },
      luca: { firstName: 'Luca', lastName: 'Verdi', desk: { toneHz: DESK_B_TONE, toneMs: DESK_TONE_MS } },
      anna: {
        firstName: 'Anna',
        lastName: 'Neri',
        desk: { toneHz: DESK_A_TONE, toneMs: DESK_TONE_MS, echo: true },
      },
    },
  });
  let mario: TestUser;
  let giulia: TestUser;
  let luca: TestUser;
  let deskA: BaresipPhone;
  let deskB: BaresipPhone;
  let echo: BaresipPhone;
  let page: Page;

  const screen = (): ReturnType<Page['locator']> => page.locator('.call-screen');
  const status = (): ReturnType<Page['locator']> => page.locator('.call-status');

  /** Mario calls `desk` from the browser, the desk phone answers: both see the call up. */
  async function connectTo(desk: BaresipPhone): Promise<void> {
    await px.dial(desk.extension);
    await desk.next('CALL_INCOMING');
    await desk.command('accept');
    await desk.next('CALL_ESTABLISHED');
    await status().getByText('In conversazione').waitFor();
  }

  /**
   * Waits until `desk`'s recording (of what it heard, `dec`; of what it sent, `enc`) has `seconds` of audio after
   * `from` (s), and returns that stretch.
   */
  async function heardAfter(
    desk: BaresipPhone,
    from: number,
    seconds: number,
    kind: 'dec' | 'enc' = 'dec',
  ): Promise<Buffer> {
    return eventually(`${desk.extension} records ${seconds} s after ${from} s`, 20_000, async () => {
      const wav = await desk.lastRecording(kind);
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

  before(() => {
    ({ page } = px);
    ({ mario, giulia, luca } = px.users);
    deskA = px.desk('giulia');
    deskB = px.desk('luca');
    echo = px.desk('anna');
  });

  // A failed test leaves no call behind for the next one.
  afterEach(async function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const desk of [deskA, deskB, echo]) await desk.command('hangup');
    await page
      .getByLabel('Numero da chiamare')
      .or(page.getByRole('button', { name: 'Chiudi', exact: true }))
      .first()
      .waitFor();
    const dismiss = page.getByRole('button', { name: 'Chiudi', exact: true });
    if (await dismiss.isVisible()) await dismiss.click();
  });

  beforeEach(async () => {
    for (const desk of [deskA, deskB, echo]) {
      desk.clearEvents();
      await desk.clearRecordings();
    }
  });

  it('Attesa puts the call on hold (the desk phone stops hearing the browser); Riprendi: it hears the browser again', async () => {
    await connectTo(echo);
    const before = dominantTone(await heardAfter(echo, 0, 1.5), TONES);
    assert.equal(before.hz, BROWSER_TONE, `before hold the desk phone heard ${JSON.stringify(before)}`);

    const hold = screen().getByRole('button', { name: 'Attesa' });
    await hold.click();
    await status().getByText('In attesa').waitFor();
    assert.equal(await hold.getAttribute('aria-pressed'), 'true');
    // baresip 1.0 reports no hold as such over ctrl_tcp: the re-INVITE shows as a new remote SDP offer.
    assert.equal((await echo.next('CALL_REMOTE_SDP')).param, 'offer');
    await px.ui.screenshot(page, 'phone-call-on-hold.png');
    // While the browser sends 2 s more of packets (its own clock, not a sleep), the desk phone hears nothing of
    // it: its recording neither grows with the tone nor holds it, and what it hears (its echo) is silence.
    const heldFrom = await recordedSeconds(echo);
    const echoHeldFrom = await echo.echoFromNow();
    const sentAtHold = (await lastPeer(page)).sent;
    await eventually('the browser sends on while on hold', 15_000, async () =>
      (await lastPeer(page)).sent >= sentAtHold + 100 ? true : undefined,
    );
    const during = wavFrom(await echo.lastRecording(), heldFrom);
    assert.ok(
      wavSeconds(during) < 0.5 || wavRms(during) < 300,
      `on hold the desk phone still hears the browser (${wavSeconds(during)} s, rms ${wavRms(during)})`,
    );
    const heardOnHold = await heardAfter(echo, echoHeldFrom, 1.5, 'enc');
    assert.ok(wavRms(heardOnHold) < 300, `on hold the desk phone hears rms ${wavRms(heardOnHold)}`);
    // The desk phone answered recvonly: it sends nothing to the browser either.
    const receivedOnHold = (await lastPeer(page)).received;
    const rtpOnHold = await echo.rtpReceived();

    await hold.click();
    await status().getByText('In conversazione').waitFor();
    assert.equal(await hold.getAttribute('aria-pressed'), 'false');
    assert.equal((await echo.next('CALL_REMOTE_SDP')).param, 'offer');
    // Packets reach the desk phone on hold too (the browser sends silence then), so what it hears is the proof:
    // the browser's tone again, decoded by the desk phone and recorded as it sends it back.
    const echoFrom = await echo.echoFromNow();
    const after = dominantTone(await heardAfter(echo, echoFrom, 1.5, 'enc'), TONES);
    assert.equal(after.hz, BROWSER_TONE, `after Riprendi the desk phone heard ${JSON.stringify(after)}`);
    assert.ok(after.ratio > 10, 'the browser tone dominates clearly');
    const rtpAfter = await echo.rtpReceived();
    assert.ok(
      rtpAfter >= rtpOnHold + 50,
      `RTP packets at the desk phone: ${rtpOnHold} on hold, ${rtpAfter} after`,
    );
    // The desk phone sends again (sendrecv): the browser's inbound-rtp grows again.
    await eventually('the desk phone sends to the browser again', 10_000, async () =>
      (await lastPeer(page)).received >= receivedOnHold + 50 ? true : undefined,
    );

    await hangUpFromBrowser(echo);
    px.ui.assertNoConsoleErrors();
  });

  it('digits of the call screen keypad reach the desk phone, in order', async () => {
    await connectTo(deskA);
    // RFC 4733 on both legs, so the digits go in the RTP (PhoneCall falls back to SIP INFO only without it):
    // rtpengine answered the browser with telephone-event/48000 next to opus and offered the desk phone
    // telephone-event/8000 next to PCMA.
    const browserLeg = await lastPeer(page);
    assert.match(browserLeg.remoteSdp, /a=rtpmap:\d+ telephone-event\/48000/);
    assert.ok(browserLeg.inbandDtmf, 'the browser can send RFC 4733 events');
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
    await px.ui.screenshot(page, 'phone-transfer-failed.png');
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
    await px.ui.screenshot(page, 'phone-transfer-form.png');
    await screen().locator('form.call-transfer').getByRole('button', { name: 'Trasferisci' }).click();
    assert.equal((await deskA.next('TRANSFER')).param, `<sip:${luca.extension}@${TEST_SIP_DOMAIN}>`);
    // Giulia's phone holds the browser while it calls Luca: the screen still says what is going on.
    await status().getByText('Trasferimento in corso…').waitFor();
    assert.equal(
      await screen().getByRole('button', { name: 'Attesa' }).getAttribute('aria-pressed'),
      'false',
    );
    await px.ui.screenshot(page, 'phone-transfer-in-progress.png');
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
    px.ui.assertNoConsoleErrors();
  });
});

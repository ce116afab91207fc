import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { dominantTone, type BaresipPhone } from '../harness/baresip.js';
import { eventually } from '../harness/eventually.js';
import { lastPeer, phoneE2eFixture, TRACK_PEER_CONNECTIONS } from '../harness/phoneE2eFixture.js';
import { isRegistered } from '../harness/phoneEdge.js';
import type { TestUser } from '../harness/serverFixture.js';

/** What Chromium's fake microphone plays (a file it loops), and what the desk phone sends. */
const BROWSER_TONE = 1_000;
const DESK_TONE = 440;

describe('web phone (Telefono) in Chromium, through Kamailio and rtpengine, with a baresip desk phone', function () {
  this.timeout(120_000);
  const px = phoneE2eFixture({
    name: 'phone',
    noAnswerTimeoutMs: 4_000,
    micToneHz: BROWSER_TONE,
    initScript: TRACK_PEER_CONNECTIONS,
    people: {
      mario: { firstName: 'Mario', lastName: 'Rossi' },
      giulia: { firstName: 'Giulia', lastName: 'Bianchi', desk: { toneHz: DESK_TONE, toneMs: 4_000 } },
    },
  });
  let mario: TestUser;
  let giulia: TestUser;
  let desk: BaresipPhone;
  let page: Page;

  const registered = (extension: string): Promise<boolean> => isRegistered(px.edge, extension);

  async function dismissEnded(): Promise<void> {
    await page.getByText('Chiamata terminata').waitFor();
    await page.getByRole('button', { name: 'Chiudi', exact: true }).click();
    await page.getByLabel('Numero da chiamare').waitFor();
  }

  /** Audio received by the page's newest peer connection, and its codec. */
  async function audioReceived(): Promise<{ packets: number; codec: string }> {
    const { received, codec } = await lastPeer(page);
    return { packets: received, codec };
  }

  before(async () => {
    ({ page } = px);
    ({ mario, giulia } = px.users);
    desk = px.desk('giulia');
    await eventually('the browser registered in Kamailio', 10_000, async () =>
      (await registered(mario.extension)) ? true : undefined,
    );
  });

  beforeEach(() => desk.clearEvents());

  it('calls the desk phone: the desk phone hears the browser microphone, the browser receives audio', async () => {
    await desk.clearRecordings();
    await px.dial(giulia.extension);
    await desk.next('CALL_INCOMING');
    await page.getByText(new RegExp(`Chiamata verso ${giulia.extension}`)).waitFor();
    await desk.command('accept');
    await desk.next('CALL_ESTABLISHED');
    await page.getByText('In conversazione').waitFor();
    const received = await eventually(
      'audio packets arrive in the browser (inbound-rtp)',
      10_000,
      async () => {
        const r = await audioReceived();
        return r.packets > 25 ? r : undefined;
      },
    );
    // rtpengine transcodes: opus towards the browser, PCMA towards the desk phone.
    assert.equal(received.codec.toLowerCase(), 'audio/opus');
    await px.ui.screenshot(page, 'phone-call-connected.png');
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
    await px.ui.screenshot(page, 'phone-incoming-banner.png');
    await banner.getByRole('button', { name: 'Rispondi' }).click();
    await desk.next('CALL_ESTABLISHED');
    // The call screen comes forward on the Telefono tab.
    await page.getByText('In conversazione').waitFor();
    assert.equal(await page.getByRole('tab', { name: /^Telefono/ }).getAttribute('aria-selected'), 'true');
    await eventually('audio packets arrive in the browser', 10_000, async () =>
      (await audioReceived()).packets > 25 ? true : undefined,
    );
    await desk.next('CALL_CLOSED');
    await dismissEnded();
  });

  it('tells a busy extension and an unknown one apart on the call screen', async () => {
    await px.dial(giulia.extension);
    await desk.next('CALL_INCOMING');
    await desk.command('hangup');
    await page.getByRole('alert').filter({ hasText: 'Occupato (486)' }).waitFor();
    await px.ui.screenshot(page, 'phone-busy.png');
    await dismissEnded();

    await px.dial('999');
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
    await px.ui.screenshot(page, 'phone-web-off.png');
    await desk.dial(mario.extension);
    const closed = await desk.next('CALL_CLOSED');
    assert.match(closed.param ?? '', /404/);
    // The preference is kept: a reload keeps the web phone off.
    const me = await px.fx.api('GET', '/api/me', { token: mario.token });
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
    px.ui.assertNoConsoleErrors();
  });
});

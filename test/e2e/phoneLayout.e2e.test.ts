import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { BaresipPhone } from '../harness/baresip.js';
import { layoutProblems, settled } from '../harness/layoutCheck.js';
import { phoneE2eFixture } from '../harness/phoneE2eFixture.js';
import { ARTIFACTS } from '../harness/uiPages.js';

const PHONE = { width: 390, height: 844 } as const;
const SHOTS = path.join(ARTIFACTS, 'layout');

/**
 * The call screen's states on a phone (390×844), measured by `layoutProblems` as layout.e2e.test.ts measures the
 * other screens (which it cannot put in a call): the incoming banner, a call on hold, the transfer form and a
 * refused transfer, and a call whose web phone lost its connection. Photographed into test/artifacts/layout/.
 */
describe('layout of the call screen on a phone (390×844): ringing, on hold, transfer refused, reconnecting', function () {
  this.timeout(120_000);
  const px = phoneE2eFixture({
    name: 'phone-layout',
    noAnswerTimeoutMs: 30_000,
    initScript: '',
    people: {
      mario: { firstName: 'Mario', lastName: 'Rossi' },
      // A long name, as the banner and the call screen show it in full.
      anna: {
        firstName: 'Anna Maria',
        lastName: 'Dell’Acqua Montalcini',
        desk: { toneHz: 440, toneMs: 90_000 },
      },
    },
  });
  let page: Page;
  let desk: BaresipPhone;
  const found: string[] = [];

  /** The screen as it is now: its problems, prefixed with `state`, and its photograph. */
  async function check(state: string): Promise<void> {
    await settled(page);
    found.push(...(await layoutProblems(page)).map((p) => `${state}: ${p}`));
    await page.screenshot({ path: path.join(SHOTS, `call-${state} ${PHONE.width}x${PHONE.height}.png`) });
  }

  before(async () => {
    ({ page } = px);
    desk = px.desk('anna');
    await mkdir(SHOTS, { recursive: true });
    await page.setViewportSize(PHONE);
  });

  it('has nothing clipped, overlapped, squeezed or too narrow in any state of a call', async () => {
    const status = page.locator('.call-status');
    // Ringing: the banner over the Chat tab, and the call screen behind it on the Telefono tab.
    await page.getByRole('tab', { name: /^Chat/ }).click();
    await desk.dial(px.users.mario.extension);
    const banner = page.getByRole('alertdialog', { name: 'Chiamata in arrivo' });
    await banner.waitFor();
    await check('incoming-banner');
    await banner.getByRole('button', { name: 'Rispondi' }).click();
    await desk.next('CALL_ESTABLISHED');
    await status.getByText('In conversazione').waitFor();
    await check('connected');

    const hold = page.locator('.call-screen').getByRole('button', { name: 'Attesa' });
    await hold.click();
    await status.getByText('In attesa').waitFor();
    await check('on-hold');
    await hold.click();
    await status.getByText('In conversazione').waitFor();

    await page.locator('.call-screen').getByRole('button', { name: 'Trasferisci' }).first().click();
    await page.getByLabel('Trasferisci a interno').fill('999');
    await check('transfer-form');
    await page.locator('form.call-transfer').getByRole('button', { name: 'Trasferisci' }).click();
    await page.getByRole('alert').filter({ hasText: 'Trasferimento non riuscito' }).waitFor();
    await check('transfer-failed');

    await page.context().setOffline(true);
    try {
      await page.locator('.call-screen[data-reconnecting="true"]').waitFor();
      await page.getByText('Riconnessione in corso…').waitFor();
      await check('reconnecting');
    } finally {
      await page.context().setOffline(false);
    }
    await page.locator('.call-screen[data-state="connected"][data-reconnecting="false"]').waitFor({
      timeout: 20_000,
    });

    await page.getByRole('button', { name: 'Chiudi chiamata' }).click();
    await desk.next('CALL_CLOSED');
    await status.getByText('Chiamata terminata').waitFor();
    await check('ended');
    await page.getByRole('button', { name: 'Chiudi', exact: true }).click();
    assert.deepEqual(found, []);
  });
});

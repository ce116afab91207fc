import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { BaresipPhone } from '../harness/baresip.js';
import { layoutProblems, settled } from '../harness/layoutCheck.js';
import { phoneE2eFixture } from '../harness/phoneE2eFixture.js';
import { ARTIFACTS } from '../harness/uiPages.js';

const SIZES = [
  { width: 390, height: 844 },
  { width: 1280, height: 800 },
] as const;
type Size = (typeof SIZES)[number];
const SHOTS = path.join(ARTIFACTS, 'layout');

/**
 * The call screen's states on a phone (390×844) and a laptop (1280×800), measured by `layoutProblems` as layout.e2e.test.ts measures the
 * other screens (which it cannot put in a call): the incoming banner, a call on hold, the transfer form and a
 * refused transfer, and a call whose web phone lost its connection. Photographed into test/artifacts/layout/.
 */
describe('layout of the call screen (390×844 and 1280×800): ringing, on hold, transfer refused, reconnecting', function () {
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

  /** The screen as it is now: its problems, prefixed with `state`, and its photograph. */
  async function check(size: Size, found: string[], state: string): Promise<void> {
    await settled(page);
    found.push(...(await layoutProblems(page)).map((p) => `${state}: ${p}`));
    const name = `call-${state}-${size.width}x${size.height}-light-it.png`;
    await page.screenshot({ path: path.join(SHOTS, name) });
  }

  before(async () => {
    ({ page } = px);
    desk = px.desk('anna');
    await mkdir(SHOTS, { recursive: true });
  });

  for (const size of SIZES) {
    it(`has nothing clipped, overlapped, squeezed or too narrow in any state of a call at ${size.width}×${size.height}`, async () => {
      await page.setViewportSize(size);
      const found: string[] = [];
      const shot = (state: string) => check(size, found, state);
      const status = page.locator('.call-status');
      // Ringing: the banner over the Chat tab, and the call screen behind it on the Telefono tab.
      await page.getByRole('tab', { name: /^Chat/ }).click();
      await desk.dial(px.users.mario.extension);
      const banner = page.getByRole('alertdialog', { name: 'Chiamata in arrivo' });
      await banner.waitFor();
      await shot('incoming-banner');
      await banner.getByRole('button', { name: 'Rispondi' }).click();
      await desk.next('CALL_ESTABLISHED');
      await status.getByText('In conversazione').waitFor();
      await shot('connected');

      const hold = page.locator('.call-screen').getByRole('button', { name: 'Attesa' });
      await hold.click();
      await status.getByText('In attesa').waitFor();
      await shot('on-hold');
      await hold.click();
      await status.getByText('In conversazione').waitFor();

      await page.locator('.call-screen').getByRole('button', { name: 'Trasferisci' }).first().click();
      await page.getByLabel('Trasferisci a interno').fill('999');
      await shot('transfer-form');
      await page.locator('form.call-transfer').getByRole('button', { name: 'Trasferisci' }).click();
      await page.getByRole('alert').filter({ hasText: 'Trasferimento non riuscito' }).waitFor();
      await shot('transfer-failed');

      await page.context().setOffline(true);
      try {
        await page.locator('.call-screen[data-reconnecting="true"]').waitFor();
        await page.getByText('Riconnessione in corso…').waitFor();
        await shot('reconnecting');
      } finally {
        await page.context().setOffline(false);
      }
      await page.locator('.call-screen[data-state="connected"][data-reconnecting="false"]').waitFor({
        timeout: 20_000,
      });

      await page.getByRole('button', { name: 'Chiudi chiamata' }).click();
      await desk.next('CALL_CLOSED');
      await status.getByText('Chiamata terminata').waitFor();
      await shot('ended');
      await page.getByRole('button', { name: 'Chiudi', exact: true }).click();
      assert.deepEqual(found, []);
    });
  }
});

import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../harness/browser.js';
import { startServer, type ServerFixture } from '../harness/serverFixture.js';

describe('Chromium (Debian package, headless)', () => {
  let fx: ServerFixture;
  let browser: { browser: Browser; close: () => Promise<void> };

  beforeEach(async () => {
    fx = await startServer();
    browser = await launchChromium();
  });

  afterEach(async () => {
    await browser.close();
    await fx.close();
  });

  it('opens the page served by the app and reads its title', async () => {
    const page = await browser.browser.newPage();
    const response = await page.goto(`${fx.baseUrl}/`);
    assert.equal(response?.status(), 200);
    assert.equal(await page.title(), 'OpiVoice UCC');
    assert.equal(await page.locator('h1').textContent(), 'OpiVoice UCC');
  });
});

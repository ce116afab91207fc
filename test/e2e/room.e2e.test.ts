import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import { type TestUser } from '../harness/serverFixture.js';
import { uiSuite } from '../harness/uiPages.js';
import { framesFlow, remoteTile } from '../harness/videoFrames.js';

/** The page's document, as page.evaluate sees it (this side has no DOM types). */
declare const document: {
  querySelector: (selector: string) => {
    videoWidth?: number;
    classList: { contains: (name: string) => boolean };
    getVideoPlaybackQuality?: () => { totalVideoFrames: number };
  } | null;
  querySelectorAll: (selector: string) => { length: number };
};

/** A video under `selector` shows decoded frames. */
const decodes = (selector: string): boolean => {
  const video = document.querySelector(`${selector} video`);
  return (video?.videoWidth ?? 0) > 0;
};
/** The tile under `selector` shows the placeholder instead of a video. */
const showsPlaceholder = (selector: string): boolean =>
  document.querySelector(`${selector} .placeholder`) !== null &&
  document.querySelector(`${selector} video`) === null;

/** The tile under `selector` is the only one highlighted as the active speaker. */
const speaking = (selector: string): boolean =>
  (document.querySelector(selector)?.classList.contains('speaking') ?? false) &&
  document.querySelectorAll('.tile.speaking').length === 1;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('meeting room in Chromium', function () {
  this.timeout(90_000);
  const s = uiSuite();
  let pro: TestUser;

  beforeEach(async () => {
    pro = await s.fx.createUser({ firstName: 'Mario', lastName: 'Rossi', plan: 'pro' });
  });

  /**
   * A meeting with Anna (a guest, through the guest link) and the organizer, both in the room and each
   * decoding the other's camera. Returns the pages and the participant ids as each side's tiles name them.
   */
  async function inTheRoom(): Promise<{ org: Page; guest: Page; orgId: string; guestId: string }> {
    const res = await s.fx.api('POST', '/api/meetings', {
      token: pro.token,
      body: { title: 'Sala riunioni', startAt: new Date().toISOString(), durationMinutes: 60 },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const meeting = res.body as MeetingView;
    const guest = await s.ui.guestWaiting(meeting, 'Anna Ospite');
    const org = await s.ui.organizerStarts(pro, 'Sala riunioni');
    const guestId = await org
      .locator('li.person', { hasText: 'Anna Ospite' })
      .getAttribute('data-participant');
    const orgId = await guest
      .locator('li.person', { hasText: 'Rossi Mario' })
      .getAttribute('data-participant');
    assert.ok(guestId && orgId);
    await org.waitForFunction(decodes, remoteTile(guestId), { timeout: 20_000 });
    await guest.waitForFunction(decodes, remoteTile(orgId), { timeout: 20_000 });
    return { org, guest, orgId, guestId };
  }

  const toolbarButton = (page: Page, name: string) =>
    page.getByRole('toolbar').getByRole('button', { name, exact: true });

  it('the guest turns the camera off and on, and shares the screen, which the organizer sees large', async () => {
    const { org, guest, guestId } = await inTheRoom();
    const guestTile = remoteTile(guestId);

    await toolbarButton(guest, 'Disattiva videocamera').click();
    const cameraOn = toolbarButton(guest, 'Attiva videocamera');
    await cameraOn.waitFor();
    assert.equal(await cameraOn.getAttribute('aria-pressed'), 'true');
    await guest.waitForFunction(showsPlaceholder, '.tile.self');
    await org.waitForFunction(showsPlaceholder, guestTile, { timeout: 10_000 });

    await cameraOn.click();
    await toolbarButton(guest, 'Disattiva videocamera').waitFor();
    await org.waitForFunction(decodes, guestTile, { timeout: 20_000 });

    await toolbarButton(guest, 'Condividi schermo').click();
    const stop = toolbarButton(guest, 'Interrompi condivisione');
    await stop.waitFor();
    assert.equal(await stop.getAttribute('aria-pressed'), 'true');
    // The guest sees its own share on the stage; the organizer decodes it there, captioned with her name.
    await guest.locator('.tile.stage', { hasText: 'Il tuo schermo' }).waitFor();
    const stage = org.locator('.tile.stage');
    await stage.getByText('Schermo di Anna Ospite').waitFor();
    await org.waitForFunction(decodes, '.tile.stage', { timeout: 20_000 });
    // Shown large: the stage is wider than the camera tiles, which stay in the grid.
    const stageBox = await stage.boundingBox();
    const tileBox = await org.locator(guestTile).boundingBox();
    assert.ok(stageBox && tileBox && stageBox.width > tileBox.width, 'the share is larger than a tile');
    await org.waitForFunction(decodes, guestTile);
    await s.ui.screenshot(org, 'room-screen-share-organizer.png');
    await s.ui.screenshot(guest, 'room-screen-share-guest.png');

    await stop.click();
    await toolbarButton(guest, 'Condividi schermo').waitFor();
    await stage.waitFor({ state: 'detached', timeout: 10_000 });
    assert.equal(await guest.locator('.tile.stage').count(), 0);
    s.ui.assertNoConsoleErrors();
  });

  it("the organizer stops the guest's camera, then removes the guest", async () => {
    const { org, guest, guestId } = await inTheRoom();
    const guestRow = org.locator('li.person', { hasText: 'Anna Ospite' });

    await guestRow.getByRole('button', { name: 'Disattiva video', exact: true }).click();
    await guest
      .getByRole('alert')
      .filter({ hasText: "L'organizzatore ha disattivato la tua videocamera" })
      .waitFor();
    const cameraOn = toolbarButton(guest, 'Attiva videocamera');
    await cameraOn.waitFor();
    assert.equal(await cameraOn.getAttribute('aria-pressed'), 'true');
    await guest.waitForFunction(showsPlaceholder, '.tile.self');
    await org.waitForFunction(showsPlaceholder, remoteTile(guestId), { timeout: 10_000 });
    // Stopped, not locked: the guest may turn it on again.
    await cameraOn.click();
    await org.waitForFunction(decodes, remoteTile(guestId), { timeout: 20_000 });

    await guestRow.getByRole('button', { name: 'Rimuovi', exact: true }).click();
    await guest.getByRole('heading', { name: 'Sei stato rimosso' }).waitFor();
    await org.locator('.room-head', { hasText: 'Partecipanti: 1' }).waitFor();
    assert.equal(await org.locator('li.person').count(), 0);
    assert.equal(await org.locator('.tile.remote').count(), 0);
    s.ui.assertNoConsoleErrors();
  });

  it('after a network blip the guest sees the reconnecting banner, which clears by itself; the organizer sees her reconnecting, not leaving; video flows both ways and the chat catches up', async () => {
    const { org, guest, orgId, guestId } = await inTheRoom();
    // DevTools' offline emulation closes the guest's WebSocket at once and refuses new ones until it ends.
    const cdp = await guest.context().newCDPSession(guest);
    await cdp.send('Network.enable');
    const offline = (on: boolean) =>
      cdp.send('Network.emulateNetworkConditions', {
        offline: on,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: -1,
      });
    // Both have the in-call chat open; what is written during the blip must reach the guest afterwards.
    for (const page of [org, guest]) await page.getByRole('tab', { name: 'Chat del meeting' }).click();
    await offline(true);
    const banner = guest.getByRole('status').filter({ hasText: 'Riconnessione in corso…' });
    await banner.waitFor({ timeout: 10_000 });
    await org.getByLabel('Scrivi un messaggio').fill('Mi sentite?');
    await org.getByRole('button', { name: 'Invia', exact: true }).click();
    await org.locator('.chat-messages li', { hasText: 'Mi sentite?' }).waitFor();
    await org.getByRole('tab', { name: 'Partecipanti' }).click();
    // Meanwhile the organizer still has her, tile and row, marked as reconnecting: she has not left.
    const guestRow = org.locator('li.person', { hasText: 'Anna Ospite' });
    const badges = [org.locator(remoteTile(guestId)), guestRow].map((l) => l.getByText('Riconnessione…'));
    for (const badge of badges) await badge.waitFor({ timeout: 10_000 });
    assert.equal(await org.locator('.tile.remote').count(), 1);
    assert.equal(await guestRow.count(), 1);
    await org.locator('.room-head', { hasText: 'Partecipanti: 2' }).waitFor();
    await s.ui.screenshot(org, 'room-reconnecting-organizer.png');
    await sleep(1_000);
    await offline(false);
    await banner.waitFor({ state: 'detached', timeout: 20_000 });
    // Back: the badges clear by themselves.
    for (const badge of badges) await badge.waitFor({ state: 'detached', timeout: 20_000 });

    // The guest is back as the same participant: one of her, receiving (on new consumers) and sent to.
    await org.locator('.room-head', { hasText: 'Partecipanti: 2' }).waitFor();
    assert.equal(await org.locator('li.person').count(), 1);
    assert.equal(await org.locator('.tile.remote').count(), 1);
    assert.equal(await guest.locator('.tile.remote').count(), 1);
    await framesFlow(guest, remoteTile(orgId));
    await framesFlow(org, remoteTile(guestId));
    await guest.locator('.chat-messages li', { hasText: 'Mi sentite?' }).waitFor({ timeout: 10_000 });
    // Chromium logs each reconnection attempt that failed while offline: expected here, and only these.
    const unexpected = s.ui
      .errors()
      .filter((e) => !/^guest: WebSocket connection to .* failed: .*ERR_INTERNET_DISCONNECTED$/.test(e));
    assert.deepEqual(unexpected, [], 'no console errors besides the failed attempts while offline');
  });

  it('the participant who speaks is highlighted on the other side', async () => {
    const { org, guest, orgId, guestId } = await inTheRoom();
    // Chromium's fake microphones both beep: with one of them muted, the other is the only one speaking.
    await toolbarButton(org, 'Disattiva microfono').click();
    await org.waitForFunction(speaking, remoteTile(guestId), { timeout: 20_000 });
    await guest.waitForFunction(speaking, '.tile.self');

    await toolbarButton(guest, 'Disattiva microfono').click();
    await toolbarButton(org, 'Attiva microfono').click();
    await guest.waitForFunction(speaking, remoteTile(orgId), { timeout: 20_000 });
    await org.waitForFunction(speaking, '.tile.self');
    s.ui.assertNoConsoleErrors();
  });
});

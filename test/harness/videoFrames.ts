import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';

/** The page's document, as page.evaluate sees it (this side has no DOM types). */
declare const document: {
  querySelector: (selector: string) => {
    getVideoPlaybackQuality?: () => { totalVideoFrames: number };
    srcObject?: { getVideoTracks: () => { id: string }[] } | null;
  } | null;
};

/** The selector of a participant's tile in someone else's room. */
export const remoteTile = (participantId: string): string =>
  `.tile.remote[data-participant="${participantId}"]`;

/** Frames keep arriving in the video under `selector`: its decoded frame count grows within half a second. */
export async function framesFlow(page: Page, selector: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // The tile may be drawn anew meanwhile (a new consumer): measure again on the new element.
    const grown = await page.evaluate(async (sel) => {
      // No named helpers in here: tsx would wrap them in a `__name` call the page does not have.
      const video = document.querySelector(`${sel} video`);
      const before = video?.getVideoPlaybackQuality?.().totalVideoFrames;
      await new Promise((r) => setTimeout(r, 500));
      const after = video?.getVideoPlaybackQuality?.().totalVideoFrames;
      return before !== undefined && after !== undefined && after > before;
    }, selector);
    if (grown) return;
    if (Date.now() > deadline) assert.fail(`no frames decoded in ${selector} for ${timeoutMs} ms`);
  }
}

/** The id of the track the video under `selector` plays (a new consumer brings a new track). */
export async function videoTrackId(page: Page, selector: string): Promise<string | undefined> {
  return page.evaluate((sel) => {
    const video = document.querySelector(`${sel} video`);
    return video?.srcObject?.getVideoTracks()[0]?.id;
  }, selector);
}

/** Waits until the video under `selector` plays a track other than `previous`: its media was built anew. */
export async function newVideoTrack(
  page: Page,
  selector: string,
  previous: string,
  timeoutMs: number,
): Promise<void> {
  await page.waitForFunction(
    ([sel, old]) => {
      const id = document.querySelector(`${sel} video`)?.srcObject?.getVideoTracks()[0]?.id;
      return id !== undefined && id !== old;
    },
    [selector, previous] as const,
    { timeout: timeoutMs },
  );
}

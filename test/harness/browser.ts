import { chromium, type Browser } from 'playwright-core';
import { testStack } from './testStack.js';

/**
 * Debian's Chromium, headless, with fake camera and microphone. The networking flags keep it from reaching for
 * Google's services, which this closed network refuses. Tests find the binary through the test stack; a bench,
 * which runs without it, passes the one its config names.
 */
export async function launchChromium(
  executablePath = testStack().config.stack?.chromiumBin,
  extraArgs: string[] = [],
): Promise<{ browser: Browser; close: () => Promise<void> }> {
  if (!executablePath) throw new Error('chromium is not installed: run scripts/bootstrap');
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      // Remote <audio> plays without a click; getDisplayMedia picks the (fake) screen without a picker.
      '--autoplay-policy=no-user-gesture-required',
      '--auto-select-desktop-capture-source=Entire screen',
      ...extraArgs,
    ],
  });
  return {
    browser,
    // playwright gives each launch a fresh temporary profile and removes it on close.
    close: () => browser.close(),
  };
}

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import { launchChromium } from './browser.js';
import { startServer, type ServerFixture, type TestUser } from './serverFixture.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** Screenshots of the main screens (and of failures); gitignored. */
export const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');

export interface OpenOptions {
  viewport?: { width: number; height: number };
  permissions?: string[];
  /** For a test that injects a script of its own (axe-core), which our CSP would refuse. */
  bypassCSP?: boolean;
  /** Another browser's user agent string. */
  userAgent?: string;
}

interface Opened {
  name: string;
  page: Page;
  errors: string[];
}

/**
 * Chromium with one context per opened page (separate cookies: separate people), collecting each page's console
 * errors, so that a test can assert normal use logs none, and screenshots on failure.
 */
export class UiPages {
  readonly #chromium: { browser: Browser; close: () => Promise<void> };
  readonly #baseUrl: string;
  readonly #opened: Opened[] = [];

  private constructor(chromium: { browser: Browser; close: () => Promise<void> }, baseUrl: string) {
    this.#chromium = chromium;
    this.#baseUrl = baseUrl;
  }

  /**
   * `chromiumArgs`: more command-line flags (a fake microphone playing a file, for the phone tests);
   * `chromiumBin`: the browser a bench's config names (tests find it through the test stack).
   */
  static async create(baseUrl: string, chromiumArgs: string[] = [], chromiumBin?: string): Promise<UiPages> {
    await mkdir(ARTIFACTS, { recursive: true });
    return new UiPages(await launchChromium(chromiumBin, chromiumArgs), baseUrl);
  }

  async open(name: string, urlPath: string, options: OpenOptions = {}): Promise<Page> {
    const context = await this.#chromium.browser.newContext({
      viewport: options.viewport ?? { width: 1280, height: 800 },
      permissions: options.permissions ?? [],
      bypassCSP: options.bypassCSP ?? false,
      ...(options.userAgent ? { userAgent: options.userAgent } : {}),
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(`[pageerror] ${e.message}`));
    this.#opened.push({ name, page, errors });
    const res = await page.goto(`${this.#baseUrl}${urlPath}`);
    assert.equal(res?.status(), 200);
    return page;
  }

  /** Signs in through the login form and waits for the shell. */
  async signIn(page: Page, user: TestUser, screenshot?: string): Promise<void> {
    await page.getByLabel('Nome utente').fill(user.extension);
    await page.getByLabel('Password').fill(user.password);
    if (screenshot) await this.screenshot(page, screenshot);
    await page.getByRole('button', { name: 'Accedi', exact: true }).click();
    await page.getByRole('tab', { name: /^Meeting/ }).waitFor();
  }

  /** Opens the meeting's guest link as `name`, who asks to join and waits for the organizer. */
  async guestWaiting(meeting: MeetingView, name: string, options: OpenOptions = {}): Promise<Page> {
    const page = await this.open('guest', `/m/${meeting.guestUrl.split('/m/')[1] ?? ''}`, options);
    await page.getByLabel('Nome e cognome').fill(name);
    await page.getByRole('button', { name: 'Partecipa' }).click();
    await page.getByText("In attesa dell'organizzatore…").waitFor();
    return page;
  }

  /** Signs the organizer in and clicks "Inizia meeting" on the meeting titled `title` in the agenda. */
  async organizerStarts(organizer: TestUser, title: string, options: OpenOptions = {}): Promise<Page> {
    const page = await this.open('organizer', '/', options);
    await this.signIn(page, organizer);
    await page
      .locator('li.meeting', { hasText: title })
      .getByRole('button', { name: 'Inizia meeting' })
      .click();
    return page;
  }

  async screenshot(page: Page, file: string): Promise<void> {
    await page.screenshot({ path: path.join(ARTIFACTS, file) });
  }

  /** Console errors of the pages opened so far, `name: message`, leaving out the pages named in `except`. */
  errors(except: string[] = []): string[] {
    return this.#opened
      .filter((o) => !except.includes(o.name))
      .flatMap(({ name, errors }) => errors.map((m) => `${name}: ${m}`));
  }

  /** Normal use logs no console errors and throws nothing. */
  assertNoConsoleErrors(except: string[] = []): void {
    assert.deepEqual(this.errors(except), [], 'no console errors in normal use');
  }

  /** After a failed test: a screenshot and the console errors of every page. Then closes Chromium. */
  async close(failedTest?: string): Promise<void> {
    if (failedTest) {
      for (const { name, page, errors } of this.#opened) {
        const file = `${failedTest.replace(/\W+/g, '-')}-${name}-failed.png`;
        await page.screenshot({ path: path.join(ARTIFACTS, file) }).catch(() => undefined);
        process.stderr.write(`--- ${name} console errors ---\n${errors.join('\n')}\n`);
      }
    }
    this.#opened.splice(0);
    await this.#chromium.close();
  }
}

/** A browser suite's fixtures, fresh for each test. */
export interface UiSuite {
  readonly fx: ServerFixture;
  readonly ui: UiPages;
}

/**
 * Registers the hooks every browser suite needs: a server (started by `start`, the suite's real services by
 * default) and Chromium before each test; after it, screenshots and console errors if it failed, then both
 * closed. Call it inside `describe`, before the suite's own hooks, which can then use the fixtures.
 */
export function uiSuite(start: () => Promise<ServerFixture> = () => startServer()): UiSuite {
  let fx: ServerFixture | undefined;
  let ui: UiPages | undefined;
  beforeEach(async () => {
    fx = await start();
    ui = await UiPages.create(fx.baseUrl);
  });
  afterEach(async function () {
    const failed = this.currentTest?.state === 'failed' ? this.currentTest.title || 'test' : undefined;
    await ui?.close(failed);
    await fx?.close();
    ui = undefined;
    fx = undefined;
  });
  return {
    get fx(): ServerFixture {
      if (!fx) throw new Error('the server starts in beforeEach');
      return fx;
    },
    get ui(): UiPages {
      if (!ui) throw new Error('Chromium starts in beforeEach');
      return ui;
    },
  };
}

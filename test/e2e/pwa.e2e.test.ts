import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { uiSuite } from '../harness/uiPages.js';

/** What page.evaluate uses of the page's globals (this side has no DOM types). */
declare const navigator: {
  serviceWorker: {
    controller: { scriptURL: string } | null;
    ready: Promise<{ active: { state: string } | null }>;
    getRegistrations: () => Promise<unknown[]>;
  };
};
declare const caches: {
  keys: () => Promise<string[]>;
  match: (url: string) => Promise<unknown>;
  open: (name: string) => Promise<{ put: (url: string, response: Response) => Promise<void> }>;
};

interface WebManifest {
  name: string;
  short_name: string;
  start_url: string;
  display: string;
  lang: string;
  theme_color: string;
  background_color: string;
  icons: { src: string; sizes: string; type: string; purpose?: string }[];
}

describe('installable web app (manifest and service worker) in Chromium', function () {
  this.timeout(60_000);
  const s = uiSuite();

  /**
   * A page in a fresh browser context (UiPages gives each page its own): no service worker, no cache from another
   * test. A phone's viewport: the installed app's usual home.
   */
  const open = (name: string, urlPath: string): Promise<Page> =>
    s.ui.open(name, urlPath, { viewport: { width: 390, height: 844 } });

  /** Opens the app, waits for its service worker to be active, and reloads so that it controls the page. */
  async function controlledApp(): Promise<Page> {
    const page = await open('app', '/');
    await page.getByRole('heading', { name: 'Autenticazione' }).waitFor();
    assert.equal(
      await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.state !== undefined),
      true,
    );
    await page.reload();
    await page.getByRole('heading', { name: 'Autenticazione' }).waitFor();
    assert.match(
      (await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)) ?? '',
      /\/sw\.js$/,
    );
    return page;
  }

  /** The files index.html loads from assets/ (hashed names, so they change with every build). */
  async function pageAssets(): Promise<string[]> {
    const html = await (await fetch(`${s.fx.baseUrl}/`)).text();
    return [...html.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((m) => m[1] ?? '');
  }

  it('serves a manifest with its icons, links it from the page, and sw.js uncached', async () => {
    const res = await fetch(`${s.fx.baseUrl}/manifest.webmanifest`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/manifest\+json/);
    const manifest = (await res.json()) as WebManifest;
    assert.equal(manifest.name, 'OpiVoice UCC');
    assert.ok(manifest.short_name);
    assert.equal(manifest.start_url, '/');
    assert.equal(manifest.display, 'standalone');
    assert.equal(manifest.lang, 'it');
    assert.match(manifest.theme_color, /^#[0-9a-f]{6}$/i);
    assert.match(manifest.background_color, /^#[0-9a-f]{6}$/i);

    // Chrome wants 192 and 512 pixel PNGs to offer installing, and a maskable one for Android's shapes.
    const sizes = new Set(manifest.icons.filter((i) => i.type === 'image/png').map((i) => i.sizes));
    assert.ok(sizes.has('192x192') && sizes.has('512x512'), [...sizes].join());
    assert.ok(manifest.icons.some((i) => i.purpose?.split(' ').includes('maskable')));
    for (const icon of manifest.icons) {
      const got = await fetch(new URL(icon.src, res.url));
      assert.equal(got.status, 200, icon.src);
      assert.equal(got.headers.get('content-type')?.split(';')[0], icon.type, icon.src);
      const bytes = Buffer.from(await got.arrayBuffer());
      if (icon.type === 'image/png') {
        // The PNG header's width and height must be what the manifest says.
        assert.equal(`${bytes.readUInt32BE(16)}x${bytes.readUInt32BE(20)}`, icon.sizes, icon.src);
      } else assert.match(bytes.toString('utf8'), /<svg[\s>]/, icon.src);
    }

    const page = await open('app', '/');
    const link = (rel: string): Promise<string | null> =>
      page.locator(`link[rel="${rel}"]`).getAttribute('href');
    assert.equal(await link('manifest'), '/manifest.webmanifest');
    assert.equal((await fetch(`${s.fx.baseUrl}${(await link('apple-touch-icon')) ?? ''}`)).status, 200);
    assert.ok(await page.locator('meta[name="theme-color"]').getAttribute('content'));

    // Browsers must see a new build's worker at once; hashed assets may be kept for good.
    const worker = await fetch(`${s.fx.baseUrl}/sw.js`);
    assert.equal(worker.status, 200);
    assert.match(worker.headers.get('content-type') ?? '', /javascript/);
    assert.equal(worker.headers.get('cache-control'), 'no-cache');
    const [asset] = await pageAssets();
    assert.match(
      (await fetch(`${s.fx.baseUrl}${asset ?? ''}`)).headers.get('cache-control') ?? '',
      /immutable/,
    );

    // The recovery mail's link is one of the app's routes.
    const reset = await fetch(`${s.fx.baseUrl}/reset-password?token=abc`);
    assert.equal(reset.status, 200);
    assert.match(await reset.text(), /<div id="root">/);
  });

  it('the service worker controls the page after a reload, precaches the shell and never serves a stale page online', async () => {
    const page = await controlledApp();
    const assets = await pageAssets();
    assert.ok(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css')));
    for (const url of ['/index.html', ...assets]) {
      assert.equal(await page.evaluate(async (u) => (await caches.match(u)) !== undefined, url), true, url);
    }
    const names = await page.evaluate(() => caches.keys());
    assert.equal(names.length, 1, names.join());

    // The API is never cached (an unauthenticated call: its 401 is the one console error expected below).
    await page.evaluate(() => fetch('/api/me').then(() => undefined));
    assert.equal(await page.evaluate(() => caches.match('/api/me').then((r) => r !== undefined)), false);

    // A cached page from an older build: online, the navigation still gets the server's page.
    const [cache = ''] = names;
    await page.evaluate(
      async (name) =>
        (await caches.open(name)).put(
          '/index.html',
          new Response('<h1>Vecchia versione</h1>', { headers: { 'Content-Type': 'text/html' } }),
        ),
      cache,
    );
    await page.reload();
    await page.getByRole('heading', { name: 'Autenticazione' }).waitFor();
    assert.equal(await page.getByText('Vecchia versione').count(), 0);
    assert.deepEqual(
      s.ui.errors().filter((e) => !e.includes('status of 401')),
      [],
    );
    // Offline, that cached page is what the worker has: proof that the fallback comes from the cache.
    await page.context().setOffline(true);
    await page.reload();
    await page.getByRole('heading', { name: 'Vecchia versione' }).waitFor();
    await page.context().setOffline(false);
  });

  it('with the server stopped, a reload still shows the app shell from the cache', async () => {
    const page = await controlledApp();
    await s.fx.server.close();
    assert.equal(
      (await fetch(`${s.fx.baseUrl}/`).catch(() => undefined))?.status,
      undefined,
      'the server is down',
    );

    const res = await page.reload();
    assert.equal(res?.fromServiceWorker(), true);
    await page.getByRole('heading', { name: 'OpiVoice UCC' }).waitFor();
    // The login form is React's work: the script came from the cache too.
    await page.getByRole('heading', { name: 'Autenticazione' }).waitFor();
    await page.getByLabel('Nome utente').waitFor();
    await s.ui.screenshot(page, 'offline-login.png');
  });

  it('the media test page does not register the service worker', async () => {
    const page = await open(
      'media-test',
      `/media-test.html?token=${s.fx.guestToken()}&meetingId=m1&publish=0`,
    );
    await page.waitForLoadState('load');
    // The app registers on its load event; leave a moment for anything of the kind.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(
      await page.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).length),
      0,
    );
  });
});

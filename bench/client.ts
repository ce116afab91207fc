/**
 * bench:client — the first load of the guest page (`/m/<code>`) in Debian Chromium, from a UccServer on loopback
 * serving the production build (client/dist), against its own embedded FerretDB and Synapse. A PRO user creates
 * a meeting through the API; then each load opens the guest link in a fresh browser context (an empty HTTP cache
 * and no service worker: a first visit) and measures until the guest form is ready (the "Nome e cognome" field is
 * visible), with the page's Navigation Timing, first contentful paint and the JS and CSS bytes it fetched. In the
 * same context, once the service worker is active, a second load measures a returning guest.
 *
 * Usage: npm run bench:client [-- --loads 20 --warmup 2]
 * Writes bench/results/client-<date>.json and .md, and prints the summary. A benchmark, never a test.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { hashPassword } from '../server/util/passwords.js';
import { TokenService } from '../server/auth/TokenService.js';
import { systemClock } from '../server/clock.js';
import { userModel } from '../server/directory/User.js';
import type { MeetingView } from '../shared/schemas/meetings.js';
import type { FirstLoad } from '../client/vite.config.js';
import { launchChromium } from '../test/harness/browser.js';
import {
  machine,
  publish,
  run,
  say,
  startBenchServer,
  summarize,
  wholeNumberOption,
  type Summary,
} from './harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Written by the build (client/vite.config.ts, firstLoadReport). */
const FIRST_LOAD_JSON = path.join(ROOT, 'client', 'dist', '.vite', 'first-load.json');
const GUEST_NAME_FIELD = 'Nome e cognome';
/** The guest form's name input (client/src/app/Guest.tsx); the page-side clock watches for it. */
const GUEST_NAME_ID = 'guest-name';
const GOAL_MS = 1_000;

/** What the page-side functions use of the page's globals (this side has no DOM types). */
interface Rect {
  width: number;
  height: number;
}
declare const document: { getElementById: (id: string) => { getBoundingClientRect: () => Rect } | null };
declare const window: { benchFieldAt?: number };
declare const MutationObserver: new (callback: () => void) => {
  observe: (target: unknown, options: { childList: boolean; subtree: boolean; attributes: boolean }) => void;
  disconnect: () => void;
};
declare const navigator: {
  serviceWorker: { controller: unknown; ready: Promise<unknown> };
};

interface Options {
  loads: number;
  warmup: number;
}

/** One entry of the page's Navigation or Resource Timing, as read in the page. */
interface Fetched {
  name: string;
  transferSize: number;
  encodedBodySize: number;
}

/** What one load of the guest page measured (ms from the start of the navigation; bytes). */
interface Load {
  /** Harness clock: from page.goto to Playwright seeing the name field visible. */
  fieldVisibleMs: number;
  /** Page clock: the name field laid out with a size (a MutationObserver from an init script). */
  fieldInDomMs: number;
  ttfbMs: number;
  firstContentfulPaintMs: number;
  domContentLoadedMs: number;
  loadMs: number;
  documentBytes: number;
  js: { files: string[]; transferBytes: number; encodedBytes: number };
  css: { files: string[]; transferBytes: number; encodedBytes: number };
  controlledByServiceWorker: boolean;
}

function args(): Options {
  const options = { loads: wholeNumberOption('loads', 20), warmup: wholeNumberOption('warmup', 2) };
  if (options.loads < 1) throw new Error('need ≥ 1 load');
  return options;
}

/** Runs in the page before its scripts: notes when the name field first has a size. */
function watchNameField(id: string): void {
  const observer = new MutationObserver(() => {
    const rect = document.getElementById(id)?.getBoundingClientRect();
    if (!rect || rect.width === 0 || rect.height === 0) return;
    window.benchFieldAt = performance.now();
    observer.disconnect();
  });
  observer.observe(document, { childList: true, subtree: true, attributes: true });
}

/** The page's Navigation Timing entry, in the parts read here. */
interface NavigationEntry extends Fetched {
  responseStart: number;
  domContentLoadedEventEnd: number;
  loadEventEnd: number;
}

/** The page's performance object (Node's typings describe Node's, which has no navigation entries). */
interface PagePerformance {
  now: () => number;
  getEntriesByType: ((type: 'navigation') => NavigationEntry[]) & ((type: 'resource') => Fetched[]);
  getEntriesByName: (name: string) => { startTime: number }[];
}

/** Runs in the page after its load event: the timings and what it fetched. */
async function readTimings(): Promise<{
  navigation: NavigationEntry;
  fcp: number | undefined;
  fieldAt: number | undefined;
  resources: Fetched[];
  controlled: boolean;
}> {
  const perf = performance as unknown as PagePerformance;
  const deadline = perf.now() + 3_000;
  // loadEventEnd is set once the load handlers have run; the paint entry once the frame is presented.
  while (
    (!perf.getEntriesByType('navigation')[0]?.loadEventEnd ||
      perf.getEntriesByName('first-contentful-paint').length === 0) &&
    perf.now() < deadline
  )
    await new Promise((r) => setTimeout(r, 10));
  const n = perf.getEntriesByType('navigation')[0];
  if (!n) throw new Error('no navigation entry');
  return {
    // Copied field by field: the entries themselves do not survive the trip out of the page.
    navigation: {
      name: n.name,
      transferSize: n.transferSize,
      encodedBodySize: n.encodedBodySize,
      responseStart: n.responseStart,
      domContentLoadedEventEnd: n.domContentLoadedEventEnd,
      loadEventEnd: n.loadEventEnd,
    },
    fcp: perf.getEntriesByName('first-contentful-paint')[0]?.startTime,
    fieldAt: window.benchFieldAt,
    resources: perf.getEntriesByType('resource').map((r) => ({
      name: r.name,
      transferSize: r.transferSize,
      encodedBodySize: r.encodedBodySize,
    })),
    controlled: navigator.serviceWorker.controller !== null,
  };
}

async function measure(page: Page, url: string): Promise<Load> {
  const t0 = performance.now();
  await page.goto(url, { waitUntil: 'commit' });
  await page.getByLabel(GUEST_NAME_FIELD).waitFor({ state: 'visible' });
  const fieldVisibleMs = performance.now() - t0;
  await page.waitForLoadState('load');
  const t = await page.evaluate(readTimings);
  if (t.fcp === undefined || t.fieldAt === undefined || !t.navigation.loadEventEnd)
    throw new Error(`incomplete timings: ${JSON.stringify(t)}`);
  const of = (ext: string): Load['js'] => {
    const list = t.resources.filter((r) => new URL(r.name).pathname.endsWith(ext));
    return {
      files: list.map((r) => new URL(r.name).pathname),
      transferBytes: list.reduce((s, r) => s + r.transferSize, 0),
      encodedBytes: list.reduce((s, r) => s + r.encodedBodySize, 0),
    };
  };
  return {
    fieldVisibleMs,
    fieldInDomMs: t.fieldAt,
    ttfbMs: t.navigation.responseStart,
    firstContentfulPaintMs: t.fcp,
    domContentLoadedMs: t.navigation.domContentLoadedEventEnd,
    loadMs: t.navigation.loadEventEnd,
    documentBytes: t.navigation.transferSize,
    js: of('.js'),
    css: of('.css'),
    controlledByServiceWorker: t.controlled,
  };
}

/** A cold load in a fresh context, then (service worker active) a warm one in the same context. */
async function coldAndWarm(browser: Browser, url: string): Promise<{ cold: Load; warm: Load | undefined }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    await context.addInitScript(watchNameField, GUEST_NAME_ID);
    const page = await context.newPage();
    const cold = await measure(page, url);
    // main.tsx registers the worker on the load event; it is ready once it has precached the shell.
    const ready = await page
      .evaluate(() => navigator.serviceWorker.ready.then(() => true))
      .then(
        (ok) => ok,
        () => false,
      );
    const warm = ready ? await measure(page, url) : undefined;
    return { cold, warm };
  } finally {
    await context.close();
  }
}

/** What was built: the commit, and whether client/ had uncommitted changes (the build takes the working tree). */
function built(): { commit: string; uncommittedClientFiles: number } {
  const git = (...a: string[]): string => execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' });
  return {
    commit: git('rev-parse', '--short', 'HEAD').trim(),
    uncommittedClientFiles: git('status', '--porcelain', '--', 'client').split('\n').filter(Boolean).length,
  };
}

async function main(): Promise<void> {
  const options = args();
  const firstLoad = JSON.parse(await readFile(FIRST_LOAD_JSON, 'utf8').catch(() => '[]')) as FirstLoad[];
  const app = firstLoad.find((p) => p.entry === 'app');
  if (!app) throw new Error(`no first-load report at ${FIRST_LOAD_JSON}: run npm run build:client first`);
  const before = machine();
  const build = built();

  const started = performance.now();
  const { config, db, baseUrl, close } = await startBenchServer('client');
  let chromium: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    say(`stack and server up in ${Math.round(performance.now() - started)} ms`);
    const chromiumBin = config.stack?.chromiumBin;
    if (!chromiumBin) throw new Error('chromium is not installed: run scripts/bootstrap');

    const organizer = await userModel(db.connection).create({
      extension: '200',
      firstName: 'Bench',
      lastName: 'Organizer',
      plan: 'pro',
      passwordHash: await hashPassword('bench-password'),
    });
    const tokens = new TokenService({
      secret: config.auth.jwtSecret ?? '',
      accessTtlMs: 3_600_000,
      guestTtlMs: 3_600_000,
      clock: systemClock,
    });
    const token = tokens.signAccess({ userId: String(organizer._id), extension: organizer.extension }).token;
    const res = await fetch(`${baseUrl}/api/meetings`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'Bench', startAt: new Date().toISOString(), durationMinutes: 60 }),
    });
    if (res.status !== 201) throw new Error(`POST /api/meetings: ${res.status} ${await res.text()}`);
    const meeting = (await res.json()) as MeetingView;
    const guestPath = `/m/${meeting.guestUrl.split('/m/')[1] ?? ''}`;
    const url = `${baseUrl}${guestPath}`;

    chromium = await launchChromium(chromiumBin);
    const browserVersion = chromium.browser.version();
    const cold: Load[] = [];
    const warm: Load[] = [];
    for (let i = 0; i < options.warmup + options.loads; i++) {
      const r = await coldAndWarm(chromium.browser, url);
      if (i < options.warmup) continue;
      cold.push(r.cold);
      if (r.warm) warm.push(r.warm);
    }
    const after = machine();

    const kib = (bytes: number): number => Math.round((bytes / 1024) * 10) / 10;
    const figures = (loads: Load[]) => ({
      fieldVisibleMs: summarize(loads.map((l) => l.fieldVisibleMs)),
      fieldInDomMs: summarize(loads.map((l) => l.fieldInDomMs)),
      ttfbMs: summarize(loads.map((l) => l.ttfbMs)),
      firstContentfulPaintMs: summarize(loads.map((l) => l.firstContentfulPaintMs)),
      domContentLoadedMs: summarize(loads.map((l) => l.domContentLoadedMs)),
      loadMs: summarize(loads.map((l) => l.loadMs)),
      documentKiB: summarize(loads.map((l) => kib(l.documentBytes))),
      jsTransferKiB: summarize(loads.map((l) => kib(l.js.transferBytes))),
      jsEncodedKiB: summarize(loads.map((l) => kib(l.js.encodedBytes))),
      cssTransferKiB: summarize(loads.map((l) => kib(l.css.transferBytes))),
      cssEncodedKiB: summarize(loads.map((l) => kib(l.css.encodedBytes))),
    });
    const coldFigures = figures(cold);
    const warmFigures = warm.length > 0 ? figures(warm) : undefined;
    const firstCold = cold[0];
    const loadedJs = firstCold?.js.files ?? [];
    const lazyLoaded = app.lazy.flatMap((c) => c.files).filter((f) => loadedJs.includes(`/${f}`));

    const when = new Date();
    const result = {
      date: when.toISOString(),
      machine: { ...before, loadavgAfter: after.loadavg, chromium: browserVersion },
      build,
      options,
      page: guestPath.replace(/[^/]+$/, '<code>'),
      goal: {
        fieldVisibleMs: GOAL_MS,
        met: coldFigures.fieldVisibleMs.p95 < GOAL_MS,
      },
      cold: coldFigures,
      warm: warmFigures,
      warmControlledByServiceWorker: warm.filter((l) => l.controlledByServiceWorker).length,
      coldJsFiles: loadedJs,
      coldCssFiles: firstCold?.css.files ?? [],
      lazyChunksLoadedByGuestPage: lazyLoaded,
      firstLoad,
      samples: { cold, warm },
    };

    const row = (label: string, unit: string, c: Summary, w: Summary | undefined): string =>
      `| ${label} | ${unit} | ${c.p50} | ${c.p95} | ${w?.p50 ?? '—'} | ${w?.p95 ?? '—'} |`;
    const size = (s: { bytes: number; gzipBytes: number }): string =>
      `${kib(s.bytes)} KiB (gzip ${kib(s.gzipBytes)} KiB)`;
    const w = warmFigures;
    const md = [
      `# bench:client — ${result.date}`,
      '',
      `The guest page \`${result.page}\` from a UccServer on loopback (production build, embedded FerretDB and ` +
        `Synapse), in headless Chromium ${browserVersion} at 1280×800. ${options.loads} cold loads after ` +
        `${options.warmup} discarded ones, each in a fresh browser context (empty HTTP cache, no service worker: ` +
        `a first visit); each followed, in the same context once the service worker was active, by a warm load ` +
        `(${warm.length} measured, ${result.warmControlledByServiceWorker} controlled by the worker).`,
      '',
      `Machine: ${before.cpu}, ${before.cores} cores, ${before.memoryGiB} GiB, ${before.os}, Node ${before.node}. ` +
        `Load average (1, 5, 15 min) ${before.loadavg.join(', ')} before and ${after.loadavg.join(', ')} after: ` +
        'the machine is shared, and other work may have run during the measurement.',
      '',
      'Name field visible: from `page.goto` to Playwright seeing `getByLabel("Nome e cognome")` visible (harness ' +
        'clock, includes the DevTools protocol round trips). Name field laid out: the page’s own clock, from the ' +
        'start of the navigation to the first mutation after which the field has a size. The other times are the ' +
        'page’s Navigation Timing and paint entries; bytes are Resource Timing `transferSize` (over the network, ' +
        'headers included) and `encodedBodySize` (the body as served).',
      '',
      '| figure | unit | cold p50 | cold p95 | warm p50 | warm p95 |',
      '| --- | --- | --- | --- | --- | --- |',
      row('name field visible (harness)', 'ms', coldFigures.fieldVisibleMs, w?.fieldVisibleMs),
      row('name field laid out (page)', 'ms', coldFigures.fieldInDomMs, w?.fieldInDomMs),
      row('time to first byte', 'ms', coldFigures.ttfbMs, w?.ttfbMs),
      row('first contentful paint', 'ms', coldFigures.firstContentfulPaintMs, w?.firstContentfulPaintMs),
      row('DOMContentLoaded end', 'ms', coldFigures.domContentLoadedMs, w?.domContentLoadedMs),
      row('load end', 'ms', coldFigures.loadMs, w?.loadMs),
      row('document transferred', 'KiB', coldFigures.documentKiB, w?.documentKiB),
      row('JS transferred', 'KiB', coldFigures.jsTransferKiB, w?.jsTransferKiB),
      row('JS body (encoded)', 'KiB', coldFigures.jsEncodedKiB, w?.jsEncodedKiB),
      row('CSS transferred', 'KiB', coldFigures.cssTransferKiB, w?.cssTransferKiB),
      row('CSS body (encoded)', 'KiB', coldFigures.cssEncodedKiB, w?.cssEncodedKiB),
      '',
      `Goal: the guest form ready in under ${GOAL_MS} ms on a first visit; cold p95 of "name field visible" ` +
        `${coldFigures.fieldVisibleMs.p95} ms: ${result.goal.met ? 'met' : 'NOT met'}.`,
      '',
      `JS the guest page loaded: ${loadedJs.map((f) => `\`${f}\``).join(', ')}; CSS: ` +
        `${result.coldCssFiles.map((f) => `\`${f}\``).join(', ')}. Lazy chunks among them: ` +
        `${lazyLoaded.length > 0 ? lazyLoaded.join(', ') : 'none'}.`,
      '',
      `## Build (client/dist, from the build’s first-load report; commit ${build.commit}` +
        `${build.uncommittedClientFiles > 0 ? ` plus ${build.uncommittedClientFiles} uncommitted files under client/` : ''})`,
      '',
      '| page | first-load JS | first-load CSS | lazy chunks |',
      '| --- | --- | --- | --- |',
      ...firstLoad.map(
        (p) =>
          `| ${p.entry} | ${size(p.js)} | ${size(p.css)} | ` +
          `${p.lazy.map((c) => `${c.files.join()} ${size(c)}`).join('; ') || '—'} |`,
      ),
      '',
    ].join('\n');
    await publish('client', when, result, md);
  } finally {
    await chromium?.close();
    await close();
  }
}

run(main);

/**
 * bench:join — from "Inizia meeting" / "Partecipa" to the first decoded remote frame, in Debian Chromium with fake
 * cameras, through the real web app (client/dist) served by a UccServer on its own embedded stack.
 *  1. start: a guest waits for the organizer; the organizer, signed in on the agenda, clicks "Inizia meeting";
 *     the time until each side decodes the other's camera. A new meeting, guest and organizer page each run.
 *  2. live: a meeting with `--publishers` people in it, cameras on; a new guest clicks "Partecipa" on the guest
 *     form; the time until the first remote tile decodes, and until all of them do.
 * Times are taken on this side, from just before the click to Playwright seeing the frame (`videoWidth` > 0,
 * polled every animation frame), so they carry ~20 ms of polling and IPC. Target (issue 18): p50 ≤ 400 ms to the
 * first remote frame for a guest joining a live meeting. The split by phase is not measured yet.
 *
 * Usage: npm run bench:join [-- --runs 20 --publishers 5]
 * Writes bench/results/join-<date>.json and .md, and prints the summary. A benchmark, never a test.
 */
import type { Page } from 'playwright-core';
import { TokenService } from '../server/auth/TokenService.js';
import { systemClock } from '../server/clock.js';
import { userModel } from '../server/directory/User.js';
import { hashPassword } from '../server/util/passwords.js';
import type { MeetingView } from '../shared/schemas/meetings.js';
import type { TestUser } from '../test/harness/serverFixture.js';
import { UiPages } from '../test/harness/uiPages.js';
import {
  figuresTable,
  machine,
  publish,
  run,
  say,
  startBenchServer,
  summarize,
  wholeNumberOption,
} from './harness.js';

const TARGET_P50_MS = 400;
const FRAME_TIMEOUT_MS = 30_000;

/** What the page-side function uses of the page's globals (this side has no DOM types). */
declare const document: { querySelectorAll: (selector: string) => Iterable<{ videoWidth: number }> };

/** Until `count` remote tiles show a decoded frame (the function runs in the page, through the debugger). */
async function tilesDecoding(page: Page, count: number): Promise<void> {
  await page.waitForFunction(
    (n) => [...document.querySelectorAll('.tile.remote video')].filter((v) => v.videoWidth > 0).length >= n,
    count,
    { timeout: FRAME_TIMEOUT_MS, polling: 'raf' },
  );
}

async function main(): Promise<void> {
  const runs = wholeNumberOption('runs', 20);
  const publishers = wholeNumberOption('publishers', 5);
  if (runs < 1 || publishers < 1) throw new Error('need ≥ 1 run and ≥ 1 publisher');
  const before = machine();
  const { config, db, baseUrl, close } = await startBenchServer('join', {
    UCC_RATE_LIMIT_GUEST_JOIN_PER_IP_LINK: String(10 * (runs + publishers)),
  });
  let ui: UiPages | undefined;
  try {
    const tokens = new TokenService({
      secret: config.auth.jwtSecret ?? '',
      accessTtlMs: 3_600_000,
      guestTtlMs: 3_600_000,
      clock: systemClock,
    });
    const password = 'bench-password';
    const doc = await userModel(db.connection).create({
      extension: '700',
      firstName: 'Mario',
      lastName: 'Rossi',
      plan: 'pro',
      passwordHash: await hashPassword(password),
    });
    const organizerToken = tokens.signAccess({ userId: String(doc._id), extension: doc.extension }).token;
    const organizer: TestUser = {
      id: String(doc._id),
      extension: doc.extension,
      password,
      token: organizerToken,
    };
    const schedule = async (title: string): Promise<MeetingView> => {
      const res = await fetch(`${baseUrl}/api/meetings`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${organizerToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ title, startAt: new Date().toISOString(), durationMinutes: 120 }),
      });
      if (res.status !== 201) throw new Error(`POST /api/meetings: ${res.status} ${await res.text()}`);
      return (await res.json()) as MeetingView;
    };
    ui = await UiPages.create(baseUrl, [], config.stack?.chromiumBin);
    const pages = ui;

    // 1. The organizer starts a meeting a guest waits for.
    const startGuest: number[] = [];
    const startOrganizer: number[] = [];
    for (let i = 0; i < runs; i++) {
      const meeting = await schedule(`Riunione ${i} di prova`);
      const guest = await pages.guestWaiting(meeting, `Ospite ${i}`);
      const org = await pages.open('organizer', '/');
      await pages.signIn(org, organizer);
      const start = org
        .locator('li.meeting', { hasText: `Riunione ${i} di prova` })
        .getByRole('button', { name: 'Inizia meeting' });
      await start.waitFor();
      const t0 = performance.now();
      await start.click();
      await Promise.all([
        tilesDecoding(guest, 1).then(() => startGuest.push(performance.now() - t0)),
        tilesDecoding(org, 1).then(() => startOrganizer.push(performance.now() - t0)),
      ]);
      await Promise.all([guest.context().close(), org.context().close()]);
    }
    say(`start: ${runs} runs done`);

    // 2. A guest joins a live meeting where `publishers` people have their cameras on.
    const live = await schedule('Riunione dal vivo');
    const org = await pages.open('organizer', '/');
    await pages.signIn(org, organizer);
    await org
      .locator('li.meeting', { hasText: 'Riunione dal vivo' })
      .getByRole('button', { name: 'Inizia meeting' })
      .click();
    const code = live.guestUrl.split('/m/')[1] ?? '';
    const present: Page[] = [org];
    for (let p = 1; p < publishers; p++) {
      const page = await pages.open('publisher', `/m/${code}`);
      await page.getByLabel('Nome e cognome').fill(`Relatore ${p}`);
      await page.getByRole('button', { name: 'Partecipa' }).click();
      await tilesDecoding(page, p);
      present.push(page);
    }
    await Promise.all(present.map((page) => tilesDecoding(page, publishers - 1)));
    const firstFrame: number[] = [];
    const allFrames: number[] = [];
    for (let i = 0; i < runs; i++) {
      const page = await pages.open('joiner', `/m/${code}`);
      await page.getByLabel('Nome e cognome').fill(`Nuovo ${i}`);
      const join = page.getByRole('button', { name: 'Partecipa' });
      await join.waitFor();
      const t0 = performance.now();
      await join.click();
      await tilesDecoding(page, 1);
      firstFrame.push(performance.now() - t0);
      await tilesDecoding(page, publishers);
      allFrames.push(performance.now() - t0);
      await page.context().close();
    }
    say(`live: ${runs} runs done`);

    const figures = {
      'start: guest decodes the organizer': summarize(startGuest),
      'start: organizer decodes the guest': summarize(startOrganizer),
      'live: first remote frame': summarize(firstFrame),
      [`live: all ${publishers} tiles decoding`]: summarize(allFrames),
    };
    const met = figures['live: first remote frame'].p50 <= TARGET_P50_MS;
    const when = new Date();
    const after = machine();
    const result = {
      date: when.toISOString(),
      machine: { before, after },
      options: { runs, publishers },
      figures,
      target: { liveFirstFrameP50Ms: TARGET_P50_MS, met },
    };
    const md = [
      `# bench:join — ${result.date}`,
      '',
      `${runs} runs of each. Headless Debian Chromium with fake cameras, the production build served by one node on ` +
        'the embedded stack, all on loopback. From just before the click ("Inizia meeting" at the organizer, ' +
        '"Partecipa" at a new guest) to a remote tile with a decoded frame, seen from the harness (~20 ms of ' +
        `polling and IPC included). Live meeting: ${publishers} people in it with cameras on. Machine: ` +
        `${before.cores} cores, load ${before.loadavg.join(' / ')} before, ${after.loadavg.join(' / ')} after.`,
      '',
      ...figuresTable(figures),
      '',
      `Target p50 ≤ ${TARGET_P50_MS} ms to the first remote frame for a guest joining a live meeting: ` +
        `${met ? 'met' : 'NOT met'}.`,
      '',
    ].join('\n');
    await publish('join', when, result, md);
  } finally {
    await ui?.close();
    await close();
  }
}

run(main);

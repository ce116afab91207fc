/**
 * bench:phone, browser ↔ desk: the real UCC server (its embedded FerretDB, Synapse, Kamailio and rtpengine, the
 * production client build) on loopback, headless Chromium signed in with the web phone on, and a baresip desk
 * phone. Both directions, `count` calls each:
 * - the browser dials the desk phone: the click on "Chiama" (page clock) → the desk's CALL_INCOMING; the desk's
 *   `accept` → the first audio packet in the browser (`inbound-rtp`, polled in the page) and → the desk's
 *   CALL_RTPESTAB;
 * - the desk phone dials the browser: `dial` → the INVITE on the web phone's WebSocket (JsSIP answers 180 at
 *   once) and → the incoming-call banner in the DOM; the click on "Rispondi" (page clock) → the first audio packet
 *   in the browser and → the desk's CALL_RTPESTAB.
 * Page times are mapped onto the bench's clock by a round trip before each call (phonePage.ts), with its error.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { TokenService } from '../server/auth/TokenService.js';
import { systemClock } from '../server/clock.js';
import { userModel } from '../server/directory/User.js';
import { hashPassword } from '../server/util/passwords.js';
import type { SipPasswordView } from '../shared/schemas/calls.js';
import { BaresipPhone } from '../test/harness/baresip.js';
import { launchChromium } from '../test/harness/browser.js';
import { describe, machine, say, startBenchServer, summarize, type BenchServer } from './harness.js';
import { figure, timeOf, type Half } from './phoneHalf.js';
import {
  estimatedFirstPacket,
  firstAudio,
  PAGE_PROBES,
  peerConnections,
  syncPageClock,
  takeMarks,
  type FirstAudio,
  type PageClock,
  type PageMark,
} from './phonePage.js';

const DOMAIN = 'bench.test';
const WEB = { extension: '201', firstName: 'Mario', lastName: 'Rossi', password: 'bench-password-201' };
const DESK = { extension: '202', firstName: 'Giulia', lastName: 'Bianchi', password: 'bench-password-202' };
/** How often the page reads getStats while it waits for the first audio packet. */
const POLL_MS = 5;
const WAIT_MS = 15_000;

/** What one call measured (ms, by key), the clock mapping's error and the first-audio poll. */
interface Call {
  ms: Record<string, number>;
  clockErrorMs: number;
  audio: FirstAudio;
}

/** The browser's page and the desk phone, both registered, between calls. */
interface Rig {
  page: Page;
  desk: BaresipPhone;
}

/** The first mark of a kind whose detail starts with `prefix`, or an error naming what the page noted. */
function markOf(marks: PageMark[], what: PageMark['what'], prefix: string): PageMark {
  const found = marks.find((m) => m.what === what && m.detail.startsWith(prefix));
  if (!found) throw new Error(`the page noted no ${what} "${prefix}…": ${JSON.stringify(marks)}`);
  return found;
}

/** How long the call's RTCPeerConnection took to gather its ICE candidates. */
function gatheringMs(marks: PageMark[]): number {
  return markOf(marks, 'pc', 'ICE gathering complete').t - markOf(marks, 'pc', 'ICE gathering started').t;
}

/** Before a call: no old events or marks, the clocks mapped, the peer connections counted. */
async function prepare({ page, desk }: Rig): Promise<{ clock: PageClock; pcs: number }> {
  desk.clearEvents();
  await takeMarks(page);
  const clock = await syncPageClock(page);
  return { clock, pcs: await peerConnections(page) };
}

/** The browser dials the desk phone, which answers. */
async function browserDials(rig: Rig): Promise<Call> {
  const { page, desk } = rig;
  const { clock, pcs } = await prepare(rig);
  const ringing = timeOf(desk.next('CALL_INCOMING'));
  await page.getByLabel('Numero da chiamare').fill(DESK.extension);
  await page.getByRole('button', { name: 'Chiama', exact: true }).click();
  const rangAt = await ringing;
  const audio = firstAudio(page, pcs, POLL_MS, WAIT_MS);
  audio.catch(() => undefined);
  const deskRtp = timeOf(desk.next('CALL_RTPESTAB'));
  const answeredAt = performance.now();
  await desk.command('accept');
  const [deskRtpAt, heard] = await Promise.all([deskRtp, audio]);
  const marks = await takeMarks(page);
  const click = markOf(marks, 'click', 'Chiama');
  await hangUpAtTheDesk(rig);
  return {
    ms: {
      postDial: rangAt - clock.toBench(click.t),
      clickToMicrophone: markOf(marks, 'media', 'microphone open').t - click.t,
      gathering: gatheringMs(marks),
      clickToInvite: markOf(marks, 'sip-out', 'INVITE ').t - click.t,
      toBrowser: clock.toBench(heard.collectedAt) - answeredAt,
      toBrowserEstimated: clock.toBench(estimatedFirstPacket(heard)) - answeredAt,
      toDesk: deskRtpAt - answeredAt,
    },
    clockErrorMs: clock.errorMs,
    audio: heard,
  };
}

/** The desk phone dials the browser, which answers from the incoming-call banner. */
async function deskDials(rig: Rig): Promise<Call> {
  const { page, desk } = rig;
  const { clock, pcs } = await prepare(rig);
  const banner = page.getByRole('alertdialog', { name: 'Chiamata in arrivo' });
  const dialledAt = performance.now();
  await desk.dial(WEB.extension);
  await banner.waitFor({ timeout: WAIT_MS });
  const audio = firstAudio(page, pcs, POLL_MS, WAIT_MS);
  audio.catch(() => undefined);
  const deskRtp = timeOf(desk.next('CALL_RTPESTAB'));
  await banner.getByRole('button', { name: 'Rispondi' }).click();
  const [deskRtpAt, heard] = await Promise.all([deskRtp, audio]);
  const marks = await takeMarks(page);
  const answer = markOf(marks, 'click', 'Rispondi');
  await hangUpAtTheDesk(rig);
  return {
    ms: {
      inviteAtBrowser: clock.toBench(markOf(marks, 'sip-in', 'INVITE ').t) - dialledAt,
      postDial: clock.toBench(markOf(marks, 'banner', '').t) - dialledAt,
      clickToMicrophone: markOf(marks, 'media', 'microphone open').t - answer.t,
      gathering: gatheringMs(marks),
      clickToOk: markOf(marks, 'sip-out', 'SIP/2.0 200').t - answer.t,
      toBrowser: heard.collectedAt - answer.t,
      toBrowserEstimated: estimatedFirstPacket(heard) - answer.t,
      toDesk: deskRtpAt - clock.toBench(answer.t),
    },
    clockErrorMs: clock.errorMs,
    audio: heard,
  };
}

/** `count` calls one way, with a line every 10. */
async function calls(label: string, count: number, one: () => Promise<Call>): Promise<Call[]> {
  const done: Call[] = [];
  for (let i = 0; i < count; i++) {
    done.push(await one());
    if ((i + 1) % 10 === 0) say(`${label}: ${i + 1}/${count} calls`);
  }
  return done;
}

export async function browserHalf(count: number): Promise<Half> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ucc-bench-webphone-'));
  const cleanup: (() => Promise<unknown>)[] = [() => rm(dir, { recursive: true, force: true })];
  try {
    const started = performance.now();
    const bench = await startBenchServer('phone', { UCC_SIP_DOMAIN: DOMAIN }, { telephony: true });
    cleanup.unshift(() => bench.close());
    const sipPort = bench.kamailio?.sipPort;
    if (sipPort === undefined) throw new Error('kamailio/rtpengine are not installed: run scripts/bootstrap');
    const chromiumBin = bench.config.stack?.chromiumBin;
    if (!chromiumBin) throw new Error('chromium is not installed: run scripts/bootstrap');
    say(`server and its services up in ${Math.round(performance.now() - started)} ms`);

    const passwords = await sipPasswords(bench);
    const desk = await BaresipPhone.start({
      dir: path.join(dir, 'desk'),
      extension: DESK.extension,
      password: passwords.desk,
      domain: DOMAIN,
      proxyPort: sipPort,
      toneHz: 440,
      // Longer than any call here: each call ends by a hangup, never by the file's end.
      toneMs: 20_000,
    });
    cleanup.unshift(() => desk.stop());
    await desk.next('REGISTER_OK');

    // rtpengine and Chromium meet on loopback; the fake microphone is Chromium's own beep.
    const chromium = await launchChromium(chromiumBin, ['--allow-loopback-in-peer-connection']);
    cleanup.unshift(() => chromium.close());
    const context = await chromium.browser.newContext({
      viewport: { width: 1280, height: 800 },
      permissions: ['microphone', 'notifications'],
    });
    await context.addInitScript(PAGE_PROBES);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await signInWithWebPhone(page, bench.baseUrl);

    const rig = { page, desk };
    const before = machine();
    const out = await calls('browser → desk', count, () => browserDials(rig));
    const into = await calls('desk → browser', count, () => deskDials(rig));
    const after = machine();
    if (pageErrors.length > 0) say(`errors thrown in the page: ${pageErrors.join('; ')}`);
    return report(count, chromium.browser.version(), out, into, pageErrors, { before, after });
  } catch (err) {
    say(`browser half failed: ${describe(err)}`);
    throw err;
  } finally {
    for (const step of cleanup) await step().catch((err: unknown) => say(`clean-up failed: ${String(err)}`));
  }
}

function report(
  count: number,
  chromium: string,
  out: Call[],
  into: Call[],
  pageErrors: string[],
  load: Half['machine'],
): Half {
  const both = [...out, ...into];
  const clockError = summarize(both.map((c) => c.clockErrorMs));
  const windows = both.flatMap(({ audio: a }) =>
    a.emptyCollectedAt === undefined ? [] : [a.collectedAt - a.emptyCollectedAt],
  );
  const collectionWindow = summarize(windows);
  // A report collected during the read that returned it has its timestamp within the read: the epoch ↔ page
  // clock conversion holds (1 ms of slack for the timestamps' rounding).
  const fresh = both.filter(
    ({ audio: a }) => a.collectedAt >= a.readStartedAt - 1 && a.collectedAt <= a.readAt + 1,
  ).length;
  const of = (list: Call[], key: string): number[] => list.map((c) => c.ms[key] ?? NaN);
  return {
    title: 'browser (web phone) ↔ desk phone',
    method: [
      `${count} calls each way between the web phone in headless Chromium ${chromium} (fake microphone; opus ` +
        'towards the browser) and a baresip desk phone (PCMA), through the UCC server (`/sip` WebSocket proxy) ' +
        'with its embedded Kamailio and rtpengine (DTLS-SRTP and ICE ↔ RTP, opus ↔ PCMA), all on loopback. The ' +
        'browser dials and answers through the UI (clicks on "Chiama" and "Rispondi"); the desk phone hangs up ' +
        'each call. Desk-phone times are taken by the bench when it sends a command or receives an event over ' +
        'ctrl_tcp.',
      'Page times (the click, a SIP message on the web phone’s WebSocket, the banner inserted into the DOM, ' +
        'the first audio packet) are taken in the page with `performance.now()` and mapped onto the bench’s ' +
        'clock by a round trip (`page.evaluate`) before each call; the mapping is off by at most half the ' +
        `round trip: p50 ${clockError.p50} ms, max ${clockError.max} ms in this run. Times between two page ` +
        'events need no mapping (the browser side of "answer → first audio" when the browser answers).',
      `First audio packet in the browser: the page reads \`getStats()\` of the call's RTCPeerConnection every ` +
        `${POLL_MS} ms until \`inbound-rtp\` has packetsReceived > 0. Chromium answers from a report it keeps ` +
        'for about 50 ms, so the time taken is when that report was collected (its `timestamp`, from the epoch ' +
        'like `performance.timeOrigin`): the first packet arrived between the collection of the report before ' +
        `(without it) and that one, a window of p50 ${collectionWindow.p50} ms, max ${collectionWindow.max} ms ` +
        `in this run, and the "latest" figure is its end. (${fresh} of ${both.length} of those reports were ` +
        'collected during the read that returned them and had their timestamp within it on the page’s clock.) ' +
        'The "estimated" figure takes that report’s `lastPacketReceivedTimestamp` less 20 ms (one opus packet) ' +
        'for each packet received before the last, never earlier than the window’s start.',
    ],
    calls: count,
    figures: [
      figure(
        'browser → desk: post-dial delay, click "Chiama" → CALL_INCOMING at the desk (ms)',
        of(out, 'postDial'),
      ),
      figure(
        'browser → desk: click "Chiama" → microphone open (getUserMedia resolved) (ms)',
        of(out, 'clickToMicrophone'),
      ),
      figure('browser → desk: ICE gathering in the browser, started → complete (ms)', of(out, 'gathering')),
      figure(
        'browser → desk: click "Chiama" → first INVITE sent on the WebSocket (ms)',
        of(out, 'clickToInvite'),
      ),
      figure(
        'browser → desk: desk `accept` → first audio packet in the browser, latest (ms)',
        of(out, 'toBrowser'),
      ),
      figure(
        'browser → desk: desk `accept` → first audio packet in the browser, estimated (ms)',
        of(out, 'toBrowserEstimated'),
      ),
      figure(
        'browser → desk: desk `accept` → first RTP packet at the desk (CALL_RTPESTAB) (ms)',
        of(out, 'toDesk'),
      ),
      figure(
        'desk → browser: desk `dial` → INVITE on the browser’s WebSocket (JsSIP answers 180 at once) (ms)',
        of(into, 'inviteAtBrowser'),
      ),
      figure(
        'desk → browser: post-dial delay, desk `dial` → incoming banner in the DOM (after the caller’s name lookup) (ms)',
        of(into, 'postDial'),
      ),
      figure(
        'desk → browser: click "Rispondi" → microphone open (getUserMedia resolved) (ms)',
        of(into, 'clickToMicrophone'),
      ),
      figure('desk → browser: ICE gathering in the browser, started → complete (ms)', of(into, 'gathering')),
      figure('desk → browser: click "Rispondi" → 200 OK sent on the WebSocket (ms)', of(into, 'clickToOk')),
      figure(
        'desk → browser: click "Rispondi" → first audio packet in the browser, latest (ms)',
        of(into, 'toBrowser'),
      ),
      figure(
        'desk → browser: click "Rispondi" → first audio packet in the browser, estimated (ms)',
        of(into, 'toBrowserEstimated'),
      ),
      figure(
        'desk → browser: click "Rispondi" → first RTP packet at the desk (CALL_RTPESTAB) (ms)',
        of(into, 'toDesk'),
      ),
    ],
    facts: {
      chromium,
      pollMs: POLL_MS,
      clockMappingErrorMs: clockError,
      firstAudioCollectionWindowMs: collectionWindow,
      firstAudioReportsCollectedDuringTheirRead: { fresh, of: both.length },
      firstAudioPolls: summarize(both.map((c) => c.audio.polls)),
      packetsAtFirstAudio: summarize(both.map((c) => c.audio.packetsReceived)),
      pageErrors,
    },
    machine: load,
  };
}

/**
 * The two directory users; both get a SIP password from the API, as a user sets up a phone (the web phone then
 * registers with its HA1).
 */
async function sipPasswords(bench: BenchServer): Promise<{ web: string; desk: string }> {
  const users = userModel(bench.db.connection);
  const tokens = new TokenService({
    secret: bench.config.auth.jwtSecret ?? '',
    accessTtlMs: 3_600_000,
    guestTtlMs: 3_600_000,
    clock: systemClock,
  });
  const password = async (u: typeof WEB): Promise<string> => {
    const { password: plain, ...fields } = u;
    const doc = await users.create({ ...fields, passwordHash: await hashPassword(plain) });
    const token = tokens.signAccess({ userId: String(doc._id), extension: doc.extension }).token;
    const res = await fetch(`${bench.baseUrl}/api/telephony/me/password`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
    });
    if (res.status !== 201)
      throw new Error(`POST /api/telephony/me/password: ${res.status} ${await res.text()}`);
    return ((await res.json()) as SipPasswordView).password;
  };
  return { web: await password(WEB), desk: await password(DESK) };
}

/** Signs the web phone's user in through the login form and waits until the web phone is registered. */
async function signInWithWebPhone(page: Page, baseUrl: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('Nome utente').fill(WEB.extension);
  await page.getByLabel('Password').fill(WEB.password);
  await page.getByRole('button', { name: 'Accedi', exact: true }).click();
  await page.getByRole('tab', { name: /^Telefono/ }).click();
  await page.locator('[data-registration="registered"]').waitFor({ timeout: 30_000 });
}

/** The desk phone hangs up; the browser's call screen is dismissed, back to the number field. */
async function hangUpAtTheDesk({ page, desk }: Rig): Promise<void> {
  await desk.command('hangup');
  await desk.next('CALL_CLOSED');
  await page.locator('section.call-screen[data-state="ended"]').waitFor({ timeout: WAIT_MS });
  await page.getByRole('button', { name: 'Chiudi', exact: true }).click();
  await page.getByLabel('Numero da chiamare').waitFor({ timeout: WAIT_MS });
}

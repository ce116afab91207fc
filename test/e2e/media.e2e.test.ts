import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type {
  ConsumerStats,
  PageState,
  TransportView,
  UccTestApi,
} from '../../client/src/media-test/testApi.js';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import { launchChromium } from '../harness/browser.js';
import { eventually } from '../harness/eventually.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';
import { testStack } from '../harness/testStack.js';

/** The media test page's API, as page.evaluate sees it (this side has no DOM types). */
declare const window: { ucc?: UccTestApi };

const ROOT = path.resolve(import.meta.dirname, '../..');
const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');

/** Calls `probe` until it returns something other than undefined, or fails after `timeoutMs`. */
function poll<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  return eventually(what, timeoutMs, probe, 250);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('media in Chromium: an organizer and a guest', function () {
  this.timeout(90_000);
  let fx: ServerFixture;
  let chromium: { browser: Browser; close: () => Promise<void> } | undefined;
  let organizer: TestUser;
  let meeting: MeetingView;
  const pages: { name: string; page: Page; context: BrowserContext; log: string[] }[] = [];

  beforeEach(async () => {
    fx = await startServer();
    chromium = await launchChromium();
    organizer = await fx.createUser({ firstName: 'Mario', lastName: 'Rossi', plan: 'pro' });
    const res = await fx.api('POST', '/api/meetings', {
      token: organizer.token,
      body: { title: 'Media e2e', startAt: new Date().toISOString(), durationMinutes: 60 },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    meeting = res.body as MeetingView;
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      await mkdir(ARTIFACTS, { recursive: true });
      for (const { name, page, log } of pages) {
        const file = `${(this.currentTest.title || 'test').replace(/\W+/g, '-')}-${name}`;
        await page.screenshot({ path: path.join(ARTIFACTS, `${file}.png`) }).catch(() => undefined);
        process.stderr.write(`--- ${name} console ---\n${log.join('\n')}\n`);
      }
    }
    pages.splice(0);
    await chromium?.close();
    chromium = undefined;
    await fx.close();
  });

  /** Opens the media test page in a fresh browser context (its own cookies, devices and peer connections). */
  async function open(name: string, token: string, extra: Record<string, string> = {}): Promise<Page> {
    if (!chromium) throw new Error('Chromium is not running');
    const context = await chromium.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const log: string[] = [];
    page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
    pages.push({ name, page, context, log });
    const query = new URLSearchParams({ token, meetingId: meeting.id, ...extra });
    const res = await page.goto(`${fx.baseUrl}/media-test.html?${query.toString()}`);
    assert.equal(res?.status(), 200);
    return page;
  }

  const state = (page: Page): Promise<PageState> =>
    page.evaluate(() => {
      if (!window.ucc) throw new Error('the page has no window.ucc');
      return window.ucc.state();
    });

  /** Waits until the page is in the meeting and publishes mic and camera. */
  async function published(page: Page, sources: string[] = ['mic', 'camera']): Promise<PageState> {
    return poll('the page to join and publish', async () => {
      const s = await state(page);
      if (s.error) throw new Error(s.error);
      return sources.every((x) => s.published.includes(x as 'mic')) ? s : undefined;
    });
  }

  const transports = (page: Page): Promise<TransportView[]> =>
    page.evaluate(() => window.ucc?.transports() ?? []);

  const stats = (page: Page): Promise<ConsumerStats[]> => page.evaluate(() => window.ucc?.stats() ?? []);

  /** Waits until `page` decodes video and receives audio from `from`; returns those stats. */
  async function receiving(
    page: Page,
    from: string,
  ): Promise<{ video: ConsumerStats; audio: ConsumerStats }> {
    return poll(`media from ${from}`, async () => {
      const all = (await stats(page)).filter((s) => s.participantId === from);
      const video = all.find((s) => s.source === 'camera' && s.framesDecoded > 0);
      const audio = all.find((s) => s.source === 'mic' && s.packetsReceived > 0);
      return video && audio ? { video, audio } : undefined;
    });
  }

  async function guestToken(): Promise<string> {
    const code = meeting.guestUrl.split('/m/')[1] ?? '';
    const res = await fx.api('POST', `/api/guest/${code}/join`, { body: { displayName: 'Anna Guest' } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return (res.body as { guestToken: string }).guestToken;
  }

  /** The organizer first, then the guest through the guest link; both publish mic and camera. */
  async function call(
    extra: Record<string, string> = {},
  ): Promise<{ org: Page; guest: Page; orgId: string; guestId: string }> {
    const org = await open('organizer', organizer.token, extra);
    const orgState = await published(org);
    assert.equal(orgState.isOrganizer, true);
    const guest = await open('guest', await guestToken(), extra);
    const guestState = await published(guest);
    assert.equal(guestState.isOrganizer, false);
    return { org, guest, orgId: orgState.participantId ?? '', guestId: guestState.participantId ?? '' };
  }

  it('both sides decode video and receive audio', async () => {
    const { org, guest, orgId, guestId } = await call();
    const atGuest = await receiving(guest, orgId);
    const atOrg = await receiving(org, guestId);
    process.stderr.write(
      `    organizer→guest: ${atGuest.video.framesDecoded} frames, ${atGuest.audio.packetsReceived} audio packets; ` +
        `guest→organizer: ${atOrg.video.framesDecoded} frames, ${atOrg.audio.packetsReceived} audio packets\n`,
    );
    // What a person would see, kept for a look (test/artifacts is not committed).
    await mkdir(ARTIFACTS, { recursive: true });
    await org.screenshot({ path: path.join(ARTIFACTS, 'media-call-organizer.png') });
    await guest.screenshot({ path: path.join(ARTIFACTS, 'media-call-guest.png') });
    assert.ok(atGuest.video.framesDecoded > 0 && atOrg.video.framesDecoded > 0);
    assert.ok(atGuest.audio.packetsReceived > 0 && atOrg.audio.packetsReceived > 0);
    // The fake microphones beep: the server's active-speaker observer names one of the two.
    const speaker = await poll('an active speaker', async () => {
      const events = [
        ...(await org.evaluate(() => window.ucc?.events() ?? [])),
        ...(await guest.evaluate(() => window.ucc?.events() ?? [])),
      ];
      return events.find((e) => e.type === 'activeSpeaker');
    });
    assert.ok(speaker.type === 'activeSpeaker' && [orgId, guestId].includes(speaker.participantId));
  });

  it('a shared screen (getDisplayMedia on the fake screen) reaches the other side', async () => {
    const { org, guest, orgId } = await call();
    const share = await org.evaluate(() => window.ucc?.startScreenShare('display'));
    assert.ok(share?.producerId, 'the screen producer exists');
    const screen = await poll('the screen share at the guest', async () =>
      (await stats(guest)).find(
        (s) => s.participantId === orgId && s.source === 'screen' && s.framesDecoded > 0,
      ),
    );
    process.stderr.write(
      `    screen at the guest: ${screen.framesDecoded} frames, ${screen.frameWidth}x${screen.frameHeight}\n`,
    );
    assert.equal(screen.kind, 'video');

    // Stopping the share closes the guest's consumer.
    await org.evaluate(() => window.ucc?.stopScreenShare());
    await poll('the screen consumer to close', async () => {
      const consumers = await guest.evaluate(() => window.ucc?.consumers() ?? []);
      return consumers.some((c) => c.source === 'screen') ? undefined : true;
    });
  });

  it('the organizer mutes the guest: the guest is told, and its audio stops at the organizer', async () => {
    const { org, guest, guestId } = await call();
    const before = await receiving(org, guestId);
    const micPackets = async (): Promise<number> =>
      (await stats(org)).find((s) => s.consumerId === before.audio.consumerId)?.packetsReceived ?? -1;
    const videoFrames = async (): Promise<number> =>
      (await stats(org)).find((s) => s.consumerId === before.video.consumerId)?.framesDecoded ?? -1;
    // Audio flows before the mute.
    const flowing = await poll('audio packets to grow', async () =>
      (await micPackets()) > before.audio.packetsReceived ? true : undefined,
    );
    assert.ok(flowing);

    const muted = await org.evaluate((id) => window.ucc?.muteParticipant(id, true), guestId);
    assert.equal(muted, 1);
    await poll('mutedByOrganizer at the guest', async () => {
      const events = await guest.evaluate(() => window.ucc?.events() ?? []);
      return events.some((e) => e.type === 'mutedByOrganizer' && e.locked) ? true : undefined;
    });
    assert.deepEqual((await state(guest)).mic, { muted: true, locked: true });
    await poll('the organizer to see the guest mic paused', async () => {
      const consumers = await org.evaluate(() => window.ucc?.consumers() ?? []);
      return consumers.find((c) => c.consumerId === before.audio.consumerId)?.producerPaused
        ? true
        : undefined;
    });

    // Let packets in flight land, then nothing more arrives while the video goes on.
    await sleep(500);
    const audioAtMute = await micPackets();
    const framesAtMute = await videoFrames();
    await sleep(2_000);
    const audioLater = await micPackets();
    const framesLater = await videoFrames();
    process.stderr.write(
      `    guest mic at the organizer: ${audioAtMute} → ${audioLater} packets over 2 s while muted; ` +
        `video ${framesAtMute} → ${framesLater} frames\n`,
    );
    assert.equal(audioLater, audioAtMute, 'no audio packets while muted');
    assert.ok(framesLater > framesAtMute, 'the video keeps flowing');

    // Locked: the guest cannot unmute itself, until the organizer unlocks the mic.
    assert.equal(await guest.evaluate(() => window.ucc?.unmuteMic()), 'FORBIDDEN');
    await org.evaluate((id) => window.ucc?.unlockParticipant(id), guestId);
    await poll('micUnlocked at the guest', async () => {
      const events = await guest.evaluate(() => window.ucc?.events() ?? []);
      return events.some((e) => e.type === 'micUnlocked') ? true : undefined;
    });
    assert.equal(await guest.evaluate(() => window.ucc?.unmuteMic()), undefined);
    await poll('audio to flow again', async () => ((await micPackets()) > audioLater ? true : undefined));
  });

  it('picks the simulcast layer from the size of the tile that shows it', async () => {
    const { org, guest, orgId } = await call();
    await poll('3 encoded simulcast streams', async () => {
      const e = await org.evaluate(() => window.ucc?.producerEncodings('camera'));
      return e && e.outbound.filter((o) => o.framesEncoded > 0).length === 3 ? e : undefined;
    });
    const { video } = await receiving(guest, orgId);
    const layerAt = async (heightPx: number, expected: number): Promise<void> => {
      await guest.evaluate(([id, h]) => window.ucc?.followDisplay(id, h), [
        video.consumerId,
        heightPx,
      ] as const);
      await poll(`spatial layer ${expected} for a ${heightPx} px tile`, async () => {
        const s = (await stats(guest)).find((c) => c.consumerId === video.consumerId);
        return s?.spatialLayer === expected ? true : undefined;
      });
    };
    await layerAt(120, 0);
    await layerAt(700, 2);
    await layerAt(300, 1);
  });

  it('simulcast: the camera sends 3 encodings, and preferred layers switch the layer the guest receives', async () => {
    const { org, guest, orgId } = await call();
    const encodings = await poll('3 encoded simulcast streams', async () => {
      const e = await org.evaluate(() => window.ucc?.producerEncodings('camera'));
      return e && e.outbound.filter((o) => o.framesEncoded > 0).length === 3 ? e : undefined;
    });
    assert.equal(encodings.encodings.length, 3);
    process.stderr.write(
      `    camera encodings: ${encodings.outbound.map((o) => `${o.rid ?? '?'} ${o.frameWidth}x${o.frameHeight}`).join(', ')}\n`,
    );
    const { video } = await receiving(guest, orgId);
    const consumerId = video.consumerId;

    /** Asks for a spatial layer; waits until the server forwards it and the guest decodes it. */
    const switchTo = async (spatialLayer: number): Promise<ConsumerStats> => {
      await guest.evaluate(([id, layer]) => window.ucc?.setPreferredLayers(id, layer), [
        consumerId,
        spatialLayer,
      ] as const);
      return poll(`spatial layer ${spatialLayer}`, async () => {
        const s = (await stats(guest)).find((c) => c.consumerId === consumerId);
        return s?.spatialLayer === spatialLayer ? s : undefined;
      });
    };
    const low = await switchTo(0);
    const lowWidth = await poll('the low layer to be decoded', async () => {
      const s = (await stats(guest)).find((c) => c.consumerId === consumerId);
      return s && s.frameWidth > 0 && s.frameWidth <= 400 ? s.frameWidth : undefined;
    });
    const mid = await switchTo(1);
    const midWidth = await poll('the middle layer to be decoded', async () => {
      const s = (await stats(guest)).find((c) => c.consumerId === consumerId);
      return s && s.frameWidth > lowWidth ? s.frameWidth : undefined;
    });
    process.stderr.write(
      `    guest receives layer ${low.spatialLayer} at ${lowWidth} px wide, then layer ${mid.spatialLayer} at ${midWidth} px\n`,
    );
  });

  it('negotiates DTLS-SRTP with an AES-GCM profile', async () => {
    const { org, guest, orgId, guestId } = await call();
    await receiving(guest, orgId);
    await receiving(org, guestId);
    for (const page of [org, guest]) {
      const views = await transports(page);
      assert.equal(views.length, 2);
      for (const t of views) {
        assert.equal(t.connectionState, 'connected', JSON.stringify(t));
        assert.equal(t.dtlsState, 'connected', JSON.stringify(t));
        assert.match(t.srtpCipher ?? '', /^(SRTP_)?AEAD_AES_(128|256)_GCM$/, JSON.stringify(t));
      }
    }
    const [sample] = await transports(guest);
    process.stderr.write(
      `    ${sample?.srtpCipher}, ${sample?.protocol} ${sample?.localCandidateType}→${sample?.remoteCandidateType}\n`,
    );
  });

  it('the same call relayed through coturn (iceTransportPolicy relay)', async () => {
    const { org, guest, orgId, guestId } = await call({ relay: '1' });
    const atGuest = await receiving(guest, orgId);
    const atOrg = await receiving(org, guestId);
    for (const page of [org, guest]) {
      for (const t of await transports(page)) {
        assert.equal(t.localCandidateType, 'relay', JSON.stringify(t));
      }
    }
    process.stderr.write(
      `    relayed: ${atGuest.video.framesDecoded} and ${atOrg.video.framesDecoded} frames, ` +
        `${atGuest.audio.packetsReceived} and ${atOrg.audio.packetsReceived} audio packets\n`,
    );
  });

  it('a guest who arrives first waits, is admitted when the organizer joins, and the media flows', async () => {
    const guest = await open('guest', await guestToken());
    await poll('the guest to wait', async () =>
      (await state(guest)).connection === 'waiting' ? true : undefined,
    );
    const org = await open('organizer', organizer.token);
    const orgState = await published(org);
    const guestState = await published(guest);
    await receiving(guest, orgState.participantId ?? '');
    await receiving(org, guestState.participantId ?? '');
  });

  it('after an ICE restart of both transports the media keeps flowing', async () => {
    const { org, guest, orgId } = await call();
    const before = await receiving(guest, orgId);
    await guest.evaluate(() => window.ucc?.restartIce());
    const events = await guest.evaluate(() => window.ucc?.events() ?? []);
    assert.deepEqual(
      events
        .filter((e) => e.type === 'iceRestarted')
        .map((e) => (e.type === 'iceRestarted' ? e.direction : ''))
        .sort(),
      ['recv', 'send'],
    );
    await poll('frames after the ICE restart', async () => {
      const s = (await stats(guest)).find((c) => c.consumerId === before.video.consumerId);
      return s && s.framesDecoded > before.video.framesDecoded + 30 ? true : undefined;
    });
    assert.ok((await transports(org)).every((t) => t.connectionState === 'connected'));
  });

  it('rebuilds the media by itself when the worker of the meeting dies (media.restart)', async () => {
    const { org, guest, orgId, guestId } = await call();
    const old = await receiving(guest, orgId);
    await receiving(org, guestId);
    const victims: number[] = [];
    for (const w of testStack().pool.workers) {
      if ((await w.worker.dump()).routerIds.length > 0) victims.push(w.worker.pid);
    }
    assert.ok(victims.length > 0, 'a worker hosts the meeting');
    for (const pid of victims) process.kill(pid, 'SIGKILL');

    for (const page of [org, guest]) {
      await poll('media.restart at the page', async () => {
        const events = await page.evaluate(() => window.ucc?.events() ?? []);
        return events.some((e) => e.type === 'restarting') ? true : undefined;
      });
    }
    // New consumers (new ids), with media again.
    const atGuest = await receiving(guest, orgId);
    const atOrg = await receiving(org, guestId);
    assert.notEqual(atGuest.video.consumerId, old.video.consumerId);
    process.stderr.write(
      `    after the worker died: ${atGuest.video.framesDecoded} and ${atOrg.video.framesDecoded} frames decoded again\n`,
    );
    assert.equal((await state(guest)).media, 'ready');
  });

  it('after the socket drops, the guest rejoins as the same participant; its producers were kept, its consumers are new', async () => {
    const { org, guest, orgId, guestId } = await call();
    const old = await receiving(org, guestId);
    const oldAtGuest = await receiving(guest, orgId);
    await guest.evaluate(() => window.ucc?.dropConnection());
    await poll('the guest to resume its media', async () => {
      const events = await guest.evaluate(() => window.ucc?.events() ?? []);
      const s = await state(guest);
      return events.some((e) => e.type === 'resumed') && s.media === 'ready' ? s : undefined;
    });
    const events = await guest.evaluate(() => window.ucc?.events() ?? []);
    assert.ok(!events.some((e) => e.type === 'restarting'), 'resumed, not rebuilt');
    assert.equal((await state(guest)).participantId, guestId);
    // The server kept the guest's producers through the drop: the organizer's consumers are the same, and flowing.
    const atOrg = await receiving(org, guestId);
    assert.equal(atOrg.video.consumerId, old.video.consumerId);
    await poll('the guest video to keep flowing at the organizer', async () => {
      const s = (await stats(org)).find((c) => c.consumerId === old.video.consumerId);
      return s && s.framesDecoded > atOrg.video.framesDecoded ? true : undefined;
    });
    // The guest's own consumers are re-created.
    const atGuest = await receiving(guest, orgId);
    assert.notEqual(atGuest.video.consumerId, oldAtGuest.video.consumerId);
    // No ghost: the organizer sees one guest, with one mic and one camera.
    const fromGuest = (await org.evaluate(() => window.ucc?.consumers() ?? [])).filter(
      (c) => c.participantId === guestId,
    );
    assert.deepEqual(fromGuest.map((c) => c.source).sort(), ['camera', 'mic']);
  });
});

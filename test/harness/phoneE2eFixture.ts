import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { Config } from '../../server/config.js';
import type { DialPlan } from '../../server/stack/kamailioDialPlan.js';
import { sineWav, type BaresipPhone } from './baresip.js';
import { deskPhoneFor, edgeRpc, sipPasswordOf, startPhoneEdge, type PhoneEdge } from './phoneEdge.js';
import { startServer, type ServerFixture, type TestUser } from './serverFixture.js';
import { UiPages } from './uiPages.js';

/** A directory user of the suite, with a baresip desk phone if `desk` says how it sounds. */
export interface PhonePerson {
  firstName: string;
  lastName: string;
  extension?: string;
  desk?: { toneHz: number; toneMs: number; echo?: boolean };
}

export interface PhoneE2eOptions<K extends string> {
  /** Names the temporary folder, the screenshots of a failure and the PHONE_DEBUG logs. */
  name: string;
  noAnswerTimeoutMs: number;
  /** `mario` is the one signed in to Chromium with the web phone on; the others are his colleagues. */
  people: Record<K | 'mario', PhonePerson>;
  /** Chromium's fake microphone plays a sine of this frequency (a 10 s file it loops); without, its own beep. */
  micToneHz?: number;
  /** Added to the page before the app's scripts (a string: see TRACK_PEER_CONNECTIONS). */
  initScript: string;
  serverConfig?: Partial<Config>;
  /** The edge's dial plan, made once the suite's folder exists (a carrier started first names its port). */
  dialPlan?: (dir: string) => Promise<DialPlan>;
}

/** What a phone suite has once its `before` ran. */
export interface PhoneE2e<K extends string> {
  readonly edge: PhoneEdge;
  readonly fx: ServerFixture;
  readonly ui: UiPages;
  /** Mario's page: signed in, on the Telefono tab, the web phone registered. */
  readonly page: Page;
  readonly dir: string;
  /** Where the desk phones keep their files: `<phonesDir>/<extension>/rec` holds the recordings. */
  readonly phonesDir: string;
  readonly users: Record<K | 'mario', TestUser>;
  /** The desk phones of the people that have one. */
  readonly desks: Partial<Record<K | 'mario', BaresipPhone>>;
  /** The desk phone of `who`, which the suite gave one. */
  desk(who: K | 'mario'): BaresipPhone;
  /** A JSON-RPC call to Kamailio: its result. */
  rpc(method: string, params?: (string | number)[]): Promise<unknown>;
  /** Types `number` on the Telefono tab's dial box and clicks "Chiama". */
  dial(number: string): Promise<void>;
}

/**
 * The stack of the web phone suites, one for the whole suite: Kamailio and rtpengine (test/harness/phoneEdge.ts),
 * a server on them, the suite's people (Mario first) with their baresip desk phones registered, and Chromium with
 * Mario signed in, the web phone on and registered, `initScript` in the page. Registers the suite's `before` and
 * `after` (call it first inside `describe`, so the suite's own hooks find it up), like uiSuite.
 */
export function phoneE2eFixture<K extends string>(options: PhoneE2eOptions<K>): PhoneE2e<K> {
  let state: Omit<PhoneE2e<K>, 'desk' | 'rpc' | 'dial'> | undefined;
  const built = (): NonNullable<typeof state> => {
    if (!state) throw new Error('the phone stack starts in before()');
    return state;
  };
  // What before() got to start, for after() to stop even when before() failed half-way.
  const made: { dir?: string; edge?: PhoneEdge; fx?: ServerFixture; ui?: UiPages; desks: BaresipPhone[] } = {
    desks: [],
  };

  before(async function () {
    this.timeout(90_000);
    const dir = (made.dir = await mkdtemp(path.join(tmpdir(), `ucc-${options.name}-`)));
    const phonesDir = path.join(dir, 'phones');
    const edge = (made.edge = await startPhoneEdge({
      noAnswerTimeoutMs: options.noAnswerTimeoutMs,
      ...(options.dialPlan ? { dialPlan: await options.dialPlan(dir) } : {}),
    }));
    const fx = (made.fx = await startServer({
      kamailio: edge.kamailio.endpoint,
      ...(options.serverConfig ? { config: options.serverConfig } : {}),
    }));
    const users = {} as Record<K | 'mario', TestUser>;
    const desks: Partial<Record<K | 'mario', BaresipPhone>> = {};
    const people = Object.entries(options.people) as [K | 'mario', PhonePerson][];
    for (const [key, { desk, ...fields }] of people) {
      const user = (users[key] = await fx.createUser(fields));
      if (!desk) continue;
      const { toneHz, toneMs, echo } = desk;
      const phone = await deskPhoneFor(fx, edge, phonesDir, user, toneHz, toneMs, echo ? { echo } : {});
      made.desks.push((desks[key] = phone));
    }
    // The web phone registers with the HA1 of the extension's credentials, made with a desk phone password.
    if (!desks.mario) await sipPasswordOf(fx, users.mario);
    await Promise.all(made.desks.map((d) => d.next('REGISTER_OK')));

    const chromiumArgs = ['--allow-loopback-in-peer-connection']; // rtpengine and Chromium meet on loopback
    if (options.micToneHz !== undefined) {
      const wav = path.join(dir, 'mic.wav');
      await writeFile(wav, sineWav(options.micToneHz, 10_000, 48_000));
      chromiumArgs.unshift(`--use-file-for-fake-audio-capture=${wav}`);
    }
    const ui = (made.ui = await UiPages.create(fx.baseUrl, chromiumArgs));
    const page = await ui.open('mario', '/', { permissions: ['microphone', 'notifications'] });
    await page.addInitScript(options.initScript);
    if (process.env.PHONE_DEBUG) {
      await page.addInitScript('localStorage.debug = "JsSIP:*"');
      page.on('console', (m) => process.stderr.write(`[page] ${m.text().slice(0, 1500)}\n`));
    }
    await page.reload();
    await ui.signIn(page, users.mario);
    await page.getByRole('tab', { name: /^Telefono/ }).click();
    await page.locator('[data-registration="registered"]').waitFor({ timeout: 20_000 });
    state = { edge, fx, ui, page, dir, phonesDir, users, desks };
  });

  after(async function () {
    this.timeout(30_000);
    const { dir, edge, fx, ui, desks } = made;
    const failed = this.currentTest?.state === 'failed' || state === undefined;
    await ui?.close(failed ? options.name : undefined);
    await Promise.all(desks.map((d) => d.stop()));
    if (process.env.PHONE_DEBUG && edge) {
      for (const log of ['kamailio', 'rtpengine']) {
        await cp(path.join(edge.dataDir, `${log}.log`), `/tmp/${options.name}-${log}.log`);
      }
    }
    await fx?.close();
    await fx?.db.close();
    await edge?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    state = undefined;
  });

  const fixture: Pick<PhoneE2e<K>, 'desk' | 'rpc' | 'dial'> = {
    desk(who) {
      const phone = built().desks[who];
      if (!phone) throw new Error(`${who} has no desk phone in this suite`);
      return phone;
    },
    rpc: async (method, params = []) => (await edgeRpc(built().edge, method, params)).result,
    dial: async (number) => {
      const { page } = built();
      await page.getByLabel('Numero da chiamare').fill(number);
      await page.getByRole('button', { name: 'Chiama', exact: true }).click();
    },
  };
  // The rest is read from what before() built, when the suite's hooks and tests ask.
  const parts = ['edge', 'fx', 'ui', 'page', 'dir', 'phonesDir', 'users', 'desks'] as const;
  for (const part of parts) Object.defineProperty(fixture, part, { get: () => built()[part] });
  return fixture as PhoneE2e<K>;
}

/**
 * Every RTCPeerConnection the page makes, kept for its statistics: the test reads them, the app does not. A
 * string, not a function: what the TypeScript loader adds to compiled functions does not exist in the page.
 */
export const TRACK_PEER_CONNECTIONS = `
  window.__pcs = [];
  const Original = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Original {
    constructor(...args) {
      super(...args);
      window.__pcs.push(this);
    }
  };
`;

/** The newest peer connection of the page, as its statistics and descriptions tell it. */
export interface PeerView {
  /** Audio packets received (`inbound-rtp`) and sent (`outbound-rtp`). */
  received: number;
  sent: number;
  /** The codec of the audio received ("audio/opus"), or ''. */
  codec: string;
  ice: string;
  localUfrag: string;
  remoteUfrag: string;
  remoteSdp: string;
  /** Whether one of its senders can send RFC 4733 digits. */
  inbandDtmf: boolean;
}

/** The page's newest peer connection (TRACK_PEER_CONNECTIONS must be in the page); zeros before there is one. */
export async function lastPeer(page: Page): Promise<PeerView> {
  // A string: the page has none of the helpers the TypeScript loader adds to compiled functions.
  return page.evaluate<PeerView>(`(async () => {
    const pc = window.__pcs[window.__pcs.length - 1];
    if (!pc) {
      return { received: 0, sent: 0, codec: '', ice: 'none', localUfrag: '', remoteUfrag: '', remoteSdp: '', inbandDtmf: false };
    }
    const stats = await pc.getStats();
    let received = 0;
    let sent = 0;
    let codec = '';
    stats.forEach((r) => {
      if (r.kind !== 'audio') return;
      if (r.type === 'outbound-rtp') sent += Number(r.packetsSent ?? 0);
      if (r.type !== 'inbound-rtp') return;
      received += Number(r.packetsReceived ?? 0);
      const c = typeof r.codecId === 'string' ? stats.get(r.codecId) : undefined;
      if (typeof c?.mimeType === 'string') codec = c.mimeType;
    });
    const ufrag = (sdp) => /a=ice-ufrag:(\\S+)/.exec(sdp ?? '')?.[1] ?? '';
    return {
      received,
      sent,
      codec,
      ice: pc.iceConnectionState,
      localUfrag: ufrag(pc.localDescription?.sdp),
      remoteUfrag: ufrag(pc.remoteDescription?.sdp),
      remoteSdp: pc.remoteDescription?.sdp ?? '',
      inbandDtmf: pc.getSenders().some((s) => s.dtmf?.canInsertDTMF === true),
    };
  })()`);
}

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CallRecordView, CallsView } from '../../shared/schemas/calls.js';
import type { BaresipPhone } from './baresip.js';
import { eventually } from './eventually.js';
import { deskPhoneFor, edgeRpc, startPhoneEdge, type PhoneEdge, type PhoneEdgeOptions } from './phoneEdge.js';
import { startServer, type ServerFixture, type TestUser } from './serverFixture.js';

/** What a telephony suite has once its `before` ran. */
export interface TelephonySuite {
  readonly edge: PhoneEdge;
  readonly fx: ServerFixture;
  /** The suite's folder: desk phones keep their files in `<dir>/<extension>`. */
  readonly dir: string;
  /**
   * A baresip desk phone for `user` (a fresh SIP password from the API, unless `password` is given), stopped
   * after the suite, its events cleared before each test. Not yet registered: wait for REGISTER_OK.
   */
  phone: (user: TestUser, toneHz: number, more?: DeskMore) => Promise<BaresipPhone>;
  /** A new directory user with a desk phone (as `phone`), once the phone is registered. */
  userWithPhone: (
    fields: { firstName: string; lastName: string },
    toneHz: number,
    more?: DeskMore,
  ) => Promise<{ user: TestUser; phone: BaresipPhone }>;
  /** A phone made elsewhere (a carrier), looked after the same way. */
  track: <T extends BaresipPhone>(phone: T) => T;
  /** `GET /api/calls` as `user` (`query`: "?filter=…"), the records. */
  calls: (user: TestUser, query?: string) => Promise<CallRecordView[]>;
  /** The user's newest call record that started at `after` (ms) or later (and has ended, with `ended`). */
  newestRecord: (user: TestUser, after: number, options?: { ended?: boolean }) => Promise<CallRecordView>;
  /** A JSON-RPC call to Kamailio: its answer. */
  rpc: (method: string, params?: (string | number)[]) => Promise<{ result?: unknown; error?: unknown }>;
}

/** How long a desk phone's tone file lasts (a call ends with it), and a password of its own (a wrong one). */
export interface DeskMore {
  toneMs?: number;
  password?: string;
}

/**
 * The integration suites of telephony: one Kamailio and rtpengine (test/harness/phoneEdge.ts) and a server on
 * them for the whole suite, the desk phones made through `phone`, all gone after it. Registers the suite's
 * `before`, `beforeEach` and `after` (call it first inside `describe`, so the suite's own hooks find it up).
 * `edge` gives the edge's options once the folder exists (a carrier started first names its port).
 */
export function telephonySuite(
  name: string,
  edge: (dir: string) => Promise<PhoneEdgeOptions> | PhoneEdgeOptions = () => ({}),
): TelephonySuite {
  const phones: BaresipPhone[] = [];
  let built: { edge: PhoneEdge; fx: ServerFixture; dir: string } | undefined;
  let dir: string | undefined;
  let started: PhoneEdge | undefined;
  let fx: ServerFixture | undefined;
  const get = (): NonNullable<typeof built> => {
    if (!built) throw new Error('the telephony edge starts in before()');
    return built;
  };

  before(async function () {
    this.timeout(60_000);
    dir = await mkdtemp(path.join(tmpdir(), `ucc-${name}-`));
    started = await startPhoneEdge(await edge(dir));
    fx = await startServer({ kamailio: started.kamailio.endpoint });
    built = { edge: started, fx, dir };
  });

  after(async function () {
    this.timeout(20_000);
    await Promise.allSettled(phones.map((p) => p.stop()));
    phones.length = 0;
    await fx?.close();
    await fx?.db.close();
    await started?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    built = undefined;
  });

  beforeEach(() => {
    for (const p of phones) p.clearEvents();
  });

  const suite: TelephonySuite = {
    get edge() {
      return get().edge;
    },
    get fx() {
      return get().fx;
    },
    get dir() {
      return get().dir;
    },
    phone: async (user, toneHz, { toneMs = 700, password } = {}) => {
      const { fx, edge, dir } = get();
      return suite.track(
        await deskPhoneFor(fx, edge, dir, user, toneHz, toneMs, password ? { password } : {}),
      );
    },
    userWithPhone: async (fields, toneHz, more) => {
      const user = await get().fx.createUser(fields);
      const phone = await suite.phone(user, toneHz, more);
      await phone.next('REGISTER_OK');
      return { user, phone };
    },
    track: (phone) => {
      phones.push(phone);
      return phone;
    },
    calls: async (user, query = '') => {
      const res = await get().fx.api('GET', `/api/calls${query}`, { token: user.token });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return (res.body as CallsView).calls;
    },
    newestRecord: (user, after, { ended = false } = {}) =>
      eventually(`a new call record for ${user.extension}`, 5_000, async () => {
        const [latest] = await suite.calls(user);
        if (!latest || Date.parse(latest.startedAt) < after) return undefined;
        return !ended || latest.endedAt ? latest : undefined;
      }),
    rpc: (method, params = []) => edgeRpc(get().edge, method, params),
  };
  return suite;
}

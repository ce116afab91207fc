import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import JsSIP from 'jssip';
import WebSocket from 'ws';
import type {
  CallRecordView,
  CallsView,
  MissedCallsView,
  TelephonySettingsView,
} from '../../shared/schemas/calls.js';
import type { BaresipPhone } from '../harness/baresip.js';
import { eventually } from '../harness/eventually.js';
import { deskPhoneFor, startPhoneEdge, type PhoneEdge } from '../harness/phoneEdge.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';

// JsSIP needs a WebSocket; Node 20 has none built in (`ws` is what socket.io-client uses).
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

/** Long enough that no call ends by itself (baresip hangs up when its tone file ends): each test hangs up. */
const LONG_TONE_MS = 30_000;

interface RtcSession {
  terminate(options?: { status_code?: number; reason_phrase?: string }): void;
  on(event: 'failed' | 'ended', listener: (e: { cause?: string }) => void): void;
}

/**
 * A web phone as the browser's is, JsSIP registered over the app's /sip proxy with the HA1 of /api/telephony/me,
 * that turns every incoming call down as "Rifiuta" does (PhoneCall.hangUp: 603 Decline). No media: it never
 * answers, so it needs no RTCPeerConnection.
 */
class RejectingWebPhone {
  readonly #ua: JsSIP.UA;
  #rejected = 0;
  readonly #waiters = new Set<() => void>();

  private constructor(ua: JsSIP.UA) {
    this.#ua = ua;
    ua.on('newRTCSession', (e: { originator: string; session: RtcSession }) => {
      if (e.originator !== 'remote') return;
      e.session.on('failed', () => {
        this.#rejected += 1;
        for (const wake of [...this.#waiters]) wake();
      });
      e.session.terminate({ status_code: 603, reason_phrase: 'Decline' });
    });
  }

  static async start(settings: TelephonySettingsView): Promise<RejectingWebPhone> {
    // JsSIP takes an incoming INVITE only where `window.RTCPeerConnection` exists (a browser); this phone never
    // answers, so a stand-in does. Set for this suite only (stop() takes it away): nothing else here reads it.
    const g = globalThis as { window?: unknown };
    if (g.window === undefined) {
      g.window = { RTCPeerConnection: class {} };
      RejectingWebPhone.#ownWindow = true;
    }
    const ua = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(settings.wsUrl)],
      uri: settings.sipUri,
      authorization_user: settings.authorizationUser,
      realm: settings.realm,
      ha1: settings.ha1,
      register: true,
    });
    const phone = new RejectingWebPhone(ua);
    await new Promise<void>((resolve, reject) => {
      ua.on('registered', () => resolve());
      ua.on('registrationFailed', (e: { cause?: string }) =>
        reject(new Error(`web phone not registered: ${e.cause ?? ''}`)),
      );
      ua.start();
    });
    return phone;
  }

  /** Resolves once this phone has turned `count` calls down in all. */
  async rejected(count: number): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (this.#rejected < count) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`the web phone rejected ${this.#rejected} of ${count} calls`);
      const waiters = this.#waiters;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done(): void {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        waiters.add(done);
      });
    }
  }

  stop(): void {
    this.#ua.stop();
    if (RejectingWebPhone.#ownWindow) delete (globalThis as { window?: unknown }).window;
    RejectingWebPhone.#ownWindow = false;
  }

  static #ownWindow = false;
}

/**
 * How "Chiamate recenti" records a call the callee turned down (486 from a desk phone, 603 from the web phone),
 * for plain calls and for a queue member, and a blind transfer (REFER) made from a desk phone: real Kamailio,
 * rtpengine, baresip desk phones and a JsSIP web phone.
 */
describe('call records: rejected calls and blind transfers (Kamailio + rtpengine, baresip and JsSIP)', function () {
  this.timeout(60_000);
  let edge: PhoneEdge;
  let fx: ServerFixture;
  let phonesDir: string;
  let admin: TestUser;
  let alice: TestUser;
  let bob: TestUser;
  let carla: TestUser;
  let dora: TestUser;
  let a: BaresipPhone;
  let b: BaresipPhone;
  let c: BaresipPhone;
  let web: RejectingWebPhone;
  let webRejections = 0;
  const phones: BaresipPhone[] = [];

  async function calls(user: TestUser, query = ''): Promise<CallRecordView[]> {
    const res = await fx.api('GET', `/api/calls${query}`, { token: user.token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as CallsView).calls;
  }

  async function missed(user: TestUser): Promise<number> {
    const res = await fx.api('GET', '/api/calls/missed', { token: user.token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as MissedCallsView).missed;
  }

  /** The user's records of calls started since `after`, once there are `count` of them, newest first. */
  async function recordsOf(user: TestUser, after: number, count = 1): Promise<CallRecordView[]> {
    return eventually(`${count} new call records for ${user.extension}`, 5_000, async () => {
      const rows = (await calls(user)).filter((r) => Date.parse(r.startedAt) >= after);
      return rows.length >= count ? rows : undefined;
    });
  }

  async function newest(user: TestUser, after: number): Promise<CallRecordView> {
    const [row] = await recordsOf(user, after);
    assert.ok(row);
    return row;
  }

  before(async function () {
    this.timeout(60_000);
    phonesDir = await mkdtemp(path.join(tmpdir(), 'ucc-xfer-'));
    edge = await startPhoneEdge({ noAnswerTimeoutMs: 2_000 });
    fx = await startServer({ kamailio: edge.kamailio.endpoint });
    admin = await fx.createUser({ firstName: 'Ada', lastName: 'Admin', role: 'admin' });
    alice = await fx.createUser({ firstName: 'Alice', lastName: 'Rossi' });
    bob = await fx.createUser({ firstName: 'Bruno', lastName: 'Bianchi' });
    carla = await fx.createUser({ firstName: 'Carla', lastName: 'Verdi' });
    dora = await fx.createUser({ firstName: 'Dora', lastName: 'Neri' });
    a = await deskPhoneFor(fx, edge, phonesDir, alice, 440, LONG_TONE_MS);
    b = await deskPhoneFor(fx, edge, phonesDir, bob, 660, LONG_TONE_MS);
    c = await deskPhoneFor(fx, edge, phonesDir, carla, 880, LONG_TONE_MS);
    phones.push(a, b, c);
    await Promise.all(phones.map((p) => p.next('REGISTER_OK')));
    // A user's SIP credentials exist once a password was made for them (as telephony.test.ts does).
    const password = await fx.api('POST', '/api/telephony/me/password', { token: dora.token });
    assert.equal(password.status, 201, JSON.stringify(password.body));
    const me = await fx.api('GET', '/api/telephony/me', { token: dora.token });
    assert.equal(me.status, 200, JSON.stringify(me.body));
    const settings = me.body as TelephonySettingsView;
    web = await RejectingWebPhone.start(settings);
    const queue = await fx.api('POST', '/api/queues', {
      token: admin.token,
      body: { number: '600', name: 'Assistenza', members: [bob.extension, dora.extension, carla.extension] },
    });
    assert.equal(queue.status, 201, JSON.stringify(queue.body));
  });

  after(async function () {
    this.timeout(20_000);
    web?.stop();
    await Promise.allSettled(phones.map((p) => p.stop()));
    await fx?.close();
    await fx?.db.close();
    await edge?.stop();
    await rm(phonesDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    for (const p of phones) p.clearEvents();
  });

  it('records a call the web phone rejects (603) as rejected on both sides, and not as a missed one', async () => {
    const t0 = Date.now();
    await a.dial(dora.extension);
    await web.rejected(++webRejections);
    const closed = await a.next('CALL_CLOSED');
    assert.match(closed.param ?? '', /603/);
    const mine = await newest(alice, t0);
    assert.equal(mine.outcome, 'rejected');
    assert.equal(mine.sipCode, 603);
    const theirs = await newest(dora, t0);
    assert.equal(theirs.direction, 'incoming');
    assert.equal(theirs.outcome, 'rejected');
    assert.deepEqual(await calls(dora, '?filter=missed'), []);
    assert.equal(await missed(dora), 0);
  });

  it('records a call a desk phone rejects (486) as busy on both sides, and not as a missed one', async () => {
    const t0 = Date.now();
    await a.dial(bob.extension);
    await b.next('CALL_INCOMING');
    await b.command('hangup');
    assert.match((await a.next('CALL_CLOSED')).param ?? '', /486/);
    assert.equal((await newest(alice, t0)).outcome, 'busy');
    assert.equal((await newest(bob, t0)).outcome, 'busy');
    assert.deepEqual(await calls(bob, '?filter=missed'), []);
    assert.equal(await missed(bob), 0);
  });

  it('keeps a queue call ringing for the others when a member rejects it, and records each member as it answered', async () => {
    // Answered: Dora rejects (603) and Bruno too (486), Carla still rings and takes it.
    let t0 = Date.now();
    await a.dial('600');
    await Promise.all([b.next('CALL_INCOMING'), c.next('CALL_INCOMING'), web.rejected(++webRejections)]);
    await b.command('hangup');
    await c.command('accept');
    await Promise.all([a.next('CALL_ESTABLISHED'), c.next('CALL_ESTABLISHED')]);
    await a.command('hangup');
    await c.next('CALL_CLOSED');
    const taken = await newest(carla, t0);
    assert.equal(taken.outcome, 'answered');
    assert.equal(taken.queue, 'Assistenza');
    assert.equal((await newest(alice, t0)).outcome, 'answered');
    // Answered by a colleague: nothing for those who turned it down.
    assert.deepEqual(
      (await calls(bob)).filter((r) => Date.parse(r.startedAt) >= t0),
      [],
    );

    // Not answered: each member's own outcome, whatever the queue's final answer.
    t0 = Date.now();
    for (const p of phones) p.clearEvents();
    await a.dial('600');
    await Promise.all([b.next('CALL_INCOMING'), c.next('CALL_INCOMING'), web.rejected(++webRejections)]);
    await b.command('hangup');
    await c.next('CALL_CLOSED', 10_000);
    await a.next('CALL_CLOSED');
    const byMember = new Map<string, CallRecordView>();
    for (const member of [bob, carla, dora]) {
      const r = await newest(member, t0);
      assert.equal(r.queue, 'Assistenza');
      byMember.set(member.extension, r);
    }
    assert.equal(byMember.get(bob.extension)?.outcome, 'busy');
    assert.equal(byMember.get(dora.extension)?.outcome, 'rejected');
    assert.equal(byMember.get(carla.extension)?.outcome, 'missed');
    assert.equal(
      (await calls(carla, '?filter=missed')).filter((r) => Date.parse(r.startedAt) >= t0).length,
      1,
    );
    assert.deepEqual(
      (await calls(bob, '?filter=missed')).filter((r) => Date.parse(r.startedAt) >= t0),
      [],
    );
  });

  it('records a blind transfer: the first call says to whom, the transferred call by whom', async () => {
    const t0 = Date.now();
    await a.dial(bob.extension);
    await b.next('CALL_INCOMING');
    await b.command('accept');
    await Promise.all([a.next('CALL_ESTABLISHED'), b.next('CALL_ESTABLISHED')]);
    // Bruno hands Alice over to Carla: baresip sends the REFER, Alice's phone calls Carla.
    const xfer = await b.command('transfer', `sip:${carla.extension}@ucc.test`);
    assert.ok(xfer.ok, xfer.data);
    await c.next('CALL_INCOMING');
    await c.command('accept');
    await c.next('CALL_ESTABLISHED');
    await b.next('CALL_CLOSED');
    await c.command('hangup');
    await a.next('CALL_CLOSED');

    const bruno = { number: bob.extension, name: 'Bianchi Bruno' };
    const toCarla = { number: carla.extension, name: 'Verdi Carla' };
    const [second, first] = await recordsOf(alice, t0, 2);
    assert.equal(first?.peerNumber, bob.extension);
    assert.equal(first?.outcome, 'answered');
    assert.deepEqual(first?.transferredTo, toCarla);
    assert.equal(first?.transferredBy, undefined);
    assert.equal(second?.peerNumber, carla.extension);
    assert.equal(second?.outcome, 'answered');
    assert.deepEqual(second?.transferredBy, bruno);
    assert.equal(second?.transferredTo, undefined);
    // The transferor's own record of the first call, and the target's of the second.
    const mine = await newest(bob, t0);
    assert.equal(mine.peerNumber, alice.extension);
    assert.deepEqual(mine.transferredTo, toCarla);
    const target = await newest(carla, t0);
    assert.equal(target.peerNumber, alice.extension);
    assert.equal(target.outcome, 'answered');
    assert.deepEqual(target.transferredBy, bruno);
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CallsView, MissedCallsView } from '../../shared/schemas/calls.js';
import { BaresipPhone } from '../harness/baresip.js';
import { seedCallRecords } from '../harness/callRecords.js';
import { deskPhoneFor, startPhoneEdge, type PhoneEdge } from '../harness/phoneEdge.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';
import { nextEvent, roundTrip, SocketPool } from '../harness/sockets.js';

/**
 * "Chiamate recenti" beyond the list itself (telephony.test.ts covers the records and the filters): the
 * `calls.changed` push, the missed-calls badge and its "seen" mark, the 100-row cap, the queue filter and bad input.
 */
describe('Chiamate recenti: live changes, the missed-calls badge and bad input', function () {
  this.timeout(60_000);
  let edge: PhoneEdge;
  let fx: ServerFixture;
  let sockets: SocketPool;
  let phonesDir: string;
  let alice: TestUser;
  let bob: TestUser;
  let a: BaresipPhone;
  let b: BaresipPhone;

  const phone = (user: TestUser, toneHz: number): Promise<BaresipPhone> =>
    deskPhoneFor(fx, edge, phonesDir, user, toneHz);

  async function missed(user: TestUser): Promise<MissedCallsView> {
    const res = await fx.api('GET', '/api/calls/missed', { token: user.token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as MissedCallsView;
  }

  async function seen(user: TestUser): Promise<MissedCallsView> {
    const res = await fx.api('POST', '/api/calls/seen', { token: user.token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as MissedCallsView;
  }

  async function list(user: TestUser, query = ''): Promise<CallsView['calls']> {
    const res = await fx.api('GET', `/api/calls${query}`, { token: user.token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as CallsView).calls;
  }

  /** Alice calls Bob and hangs up while it rings: cancelled for her, missed for him. */
  async function missedCall(): Promise<void> {
    a.clearEvents();
    b.clearEvents();
    await a.dial(bob.extension);
    await b.next('CALL_INCOMING');
    await a.command('hangup');
    await b.next('CALL_CLOSED');
  }

  before(async function () {
    this.timeout(60_000);
    phonesDir = await mkdtemp(path.join(tmpdir(), 'ucc-recent-'));
    edge = await startPhoneEdge();
    fx = await startServer({ kamailio: edge.kamailio.endpoint });
    sockets = new SocketPool(fx.baseUrl);
    alice = await fx.createUser({ firstName: 'Alice', lastName: 'Rossi' });
    bob = await fx.createUser({ firstName: 'Nicolò', lastName: 'Bianchi' });
    a = await phone(alice, 440);
    b = await phone(bob, 660);
    await Promise.all([a.next('REGISTER_OK'), b.next('REGISTER_OK')]);
  });

  after(async function () {
    this.timeout(20_000);
    sockets?.closeAll();
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await fx?.close();
    await edge?.stop();
    await rm(phonesDir, { recursive: true, force: true });
  });

  it('tells both sides when a call ends, counts the missed one until seen, and seen clears every device', async () => {
    const aliceSocket = await sockets.connect(alice.token);
    const bobPhone = await sockets.connect(bob.token);
    const bobLaptop = await sockets.connect(bob.token);
    assert.deepEqual(await missed(bob), { missed: 0 });

    const toAlice = nextEvent(aliceSocket, 'calls.changed', 10_000);
    const toBob = nextEvent(bobPhone, 'calls.changed', 10_000);
    await missedCall();
    assert.deepEqual(await toAlice, { reason: 'recorded' });
    assert.deepEqual(await toBob, { reason: 'recorded' });
    // Once told, the record is there: the event comes after the write.
    assert.equal((await list(bob, '?filter=missed')).length, 1);
    assert.deepEqual(await missed(bob), { missed: 1 });
    // The caller's cancelled call is not a missed one.
    assert.deepEqual(await missed(alice), { missed: 0 });

    const toLaptop = nextEvent(bobLaptop, 'calls.changed');
    const cleared = await seen(bob);
    assert.equal(cleared.missed, 0);
    assert.ok(cleared.seenAt && Date.parse(cleared.seenAt) <= Date.now());
    assert.deepEqual(await toLaptop, { reason: 'seen' });
    assert.deepEqual(await missed(bob), cleared);
    // Only Bob looked: Alice's socket heard nothing of it.
    let heard = false;
    aliceSocket.once('calls.changed', () => (heard = true));
    await roundTrip(aliceSocket);
    assert.equal(heard, false);

    // A new missed call counts again; an answered one does not.
    const next = nextEvent(bobPhone, 'calls.changed', 10_000);
    await missedCall();
    await next;
    assert.deepEqual(await missed(bob), { missed: 1, seenAt: cleared.seenAt });
    const answered = nextEvent(bobPhone, 'calls.changed', 10_000);
    a.clearEvents();
    b.clearEvents();
    await a.dial(bob.extension);
    await b.next('CALL_INCOMING');
    await b.command('accept');
    await Promise.all([a.next('CALL_CLOSED'), b.next('CALL_CLOSED')]);
    await answered;
    assert.equal((await missed(bob)).missed, 1);
    assert.equal((await list(bob, '?filter=received')).length, 1);

    // Seen twice, or from a slower device, the mark never goes back.
    const again = await seen(bob);
    assert.equal(again.missed, 0);
    assert.ok(Date.parse(again.seenAt ?? '') >= Date.parse(cleared.seenAt ?? ''));
  });

  it('finds calls by a first name typed without its accent, and by part of the number', async () => {
    const byName = await list(alice, '?q=nicolo');
    assert.ok(byName.length >= 3, JSON.stringify(byName));
    assert.ok(byName.every((c) => c.peerName === 'Bianchi Nicolò'));
    assert.equal((await list(alice, `?q=${bob.extension.slice(1)}`)).length, byName.length);
    assert.deepEqual(await list(alice, '?q=%20'), await list(alice));
  });

  it('keeps the last 100 calls, counts at most 100 missed, and filters the calls from a queue', async () => {
    const carla = await fx.createUser({ firstName: 'Carla', lastName: 'Verdi' });
    const start = Date.now() - 3_600_000;
    await seedCallRecords(
      fx.db,
      carla,
      Array.from({ length: 120 }, (_, i) => ({
        direction: 'incoming' as const,
        peerNumber: `02${String(i).padStart(6, '0')}`,
        outcome: 'missed' as const,
        startedAt: new Date(start + i * 1000),
        ...(i === 5 ? { queue: 'Assistenza' } : {}),
      })),
    );
    const rows = await list(carla);
    assert.equal(rows.length, 100);
    // Newest first: the 20 oldest are the ones left out.
    assert.equal(rows[0]?.peerNumber, '02000119');
    assert.equal(rows[99]?.peerNumber, '02000020');
    assert.deepEqual(await missed(carla), { missed: 100 });
    const queue = await list(carla, '?filter=queue');
    assert.deepEqual(
      queue.map((c) => [c.peerNumber, c.queue]),
      [['02000005', 'Assistenza']],
    );
    assert.equal((await seen(carla)).missed, 0);
  });

  it('refuses bad input with 400 and the error body, and strangers with 401 or 403', async () => {
    const bad = [
      '/api/calls?filter=everything',
      '/api/calls?filter=',
      `/api/calls?q=${'x'.repeat(101)}`,
      '/api/calls?q=a&q=b',
      '/api/calls?filter=all&filter=missed',
      '/api/calls?page=2',
      '/api/calls/missed?since=yesterday',
    ];
    for (const url of bad) {
      const res = await fx.api('GET', url, { token: alice.token });
      assert.equal(res.status, 400, `${url}: ${JSON.stringify(res.body)}`);
      const { error } = res.body as { error: { code: string; message: string } };
      assert.equal(error.code, 'VALIDATION_FAILED', url);
      assert.ok(error.message, url);
    }
    for (const [method, url] of [
      ['GET', '/api/calls/missed'],
      ['POST', '/api/calls/seen'],
    ] as const) {
      const anonymous = await fx.api(method, url);
      assert.equal(anonymous.status, 401, url);
      assert.equal((anonymous.body as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
      const guest = await fx.api(method, url, { token: fx.guestToken() });
      assert.equal(guest.status, 403, url);
    }
    // A body on the bodyless POST is not read (and never a 500).
    const withBody = await fx.api('POST', '/api/calls/seen', { token: alice.token, body: '{not json' });
    assert.equal(withBody.status, 200);
  });
});

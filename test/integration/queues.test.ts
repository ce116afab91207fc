import assert from 'node:assert/strict';
import { once } from 'node:events';
import { dominantTone, type BaresipPhone } from '../harness/baresip.js';
import { eventually } from '../harness/eventually.js';
import type { ServerFixture, TestUser } from '../harness/serverFixture.js';
import { telephonySuite } from '../harness/telephonySuite.js';

const TONE_CALLER = 440;
const TONE_MEMBER = 660;

describe('call queues: a number that rings its members (Kamailio + rtpengine, baresip desk phones)', function () {
  this.timeout(60_000);
  const suite = telephonySuite('queue', () => ({ noAnswerTimeoutMs: 2_000 }));
  const { calls, rpc } = suite;
  const recordOf = (user: TestUser, after: number): ReturnType<typeof suite.newestRecord> =>
    suite.newestRecord(user, after);
  let fx: ServerFixture;
  let admin: TestUser;
  let caller: TestUser;
  let m1: TestUser;
  let m2: TestUser;
  let absent: TestUser;
  let c: BaresipPhone;
  let p1: BaresipPhone;
  let p2: BaresipPhone;
  const phones: BaresipPhone[] = [];

  before(async () => {
    ({ fx } = suite);
    admin = await fx.createUser({ firstName: 'Ada', lastName: 'Admin', role: 'admin' });
    caller = await fx.createUser({ firstName: 'Carlo', lastName: 'Cliente' });
    m1 = await fx.createUser({ firstName: 'Marta', lastName: 'Uno' });
    m2 = await fx.createUser({ firstName: 'Mario', lastName: 'Due' });
    absent = await fx.createUser({ firstName: 'Assente', lastName: 'Sempre' });
    c = await suite.phone(caller, TONE_CALLER);
    p1 = await suite.phone(m1, TONE_MEMBER);
    p2 = await suite.phone(m2, TONE_MEMBER);
    phones.push(c, p1, p2);
    await Promise.all(phones.map((p) => p.next('REGISTER_OK')));
  });

  it('validates queues: admin only, members must be users, the number must not be a user', async () => {
    const good = { number: '600', name: 'Assistenza', members: [m1.extension, m2.extension] };
    const asUser = await fx.api('POST', '/api/queues', { token: caller.token, body: good });
    assert.equal(asUser.status, 403);
    const unknown = await fx.api('POST', '/api/queues', {
      token: admin.token,
      body: { ...good, members: [m1.extension, '9999'] },
    });
    assert.equal(unknown.status, 400, JSON.stringify(unknown.body));
    const error = (unknown.body as { error: { code: string; details?: { path: string; message: string }[] } })
      .error;
    assert.equal(error.code, 'VALIDATION_FAILED');
    assert.equal(error.details?.[0]?.path, 'members');
    assert.match(error.details?.[0]?.message ?? '', /9999/);
    const clash = await fx.api('POST', '/api/queues', {
      token: admin.token,
      body: { ...good, number: m1.extension },
    });
    assert.equal(clash.status, 409, JSON.stringify(clash.body));
    assert.equal((clash.body as { error: { code: string } }).error.code, 'CONFLICT');
    const empty = await fx.api('POST', '/api/queues', { token: admin.token, body: { ...good, members: [] } });
    assert.equal(empty.status, 400);
    const created = await fx.api('POST', '/api/queues', { token: admin.token, body: good });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body, good);
    const again = await fx.api('POST', '/api/queues', { token: admin.token, body: good });
    assert.equal(again.status, 409);
    const list = await fx.api('GET', '/api/queues', { token: admin.token });
    assert.deepEqual(list.body, { queues: [good] });
    const nobody = await fx.api('POST', '/api/queues', {
      token: admin.token,
      body: { number: '601', name: 'Notte', members: [absent.extension] },
    });
    assert.equal(nobody.status, 201, JSON.stringify(nobody.body));
  });

  it('rings every member; the first to answer gets the call with audio, and the records say the queue', async () => {
    await p1.clearRecordings();
    const t0 = Date.now();
    await c.dial('600');
    await Promise.all([p1.next('CALL_INCOMING'), p2.next('CALL_INCOMING')]);
    await p1.command('accept');
    await Promise.all([c.next('CALL_ESTABLISHED'), p1.next('CALL_ESTABLISHED')]);
    // The other member's phone stops ringing (tm cancels its branch).
    await p2.next('CALL_CLOSED');
    await Promise.all([c.next('CALL_CLOSED'), p1.next('CALL_CLOSED')]);
    const heard = dominantTone(await p1.lastRecording(), [TONE_CALLER, TONE_MEMBER]);
    assert.equal(heard.hz, TONE_CALLER, `the member heard ${JSON.stringify(heard)}`);

    const answered = await recordOf(m1, t0);
    assert.equal(answered.direction, 'incoming');
    assert.equal(answered.outcome, 'answered');
    assert.equal(answered.queue, 'Assistenza');
    assert.equal(answered.peerNumber, caller.extension);
    const mine = await recordOf(caller, t0);
    assert.equal(mine.direction, 'outgoing');
    assert.equal(mine.outcome, 'answered');
    assert.equal(mine.peerNumber, '600');
    assert.equal(mine.peerName, 'Assistenza');
    const fromQueue = await calls(m1, '?filter=queue');
    assert.deepEqual(
      fromQueue.map((r) => r.id),
      [answered.id],
    );
    // Answered by a colleague: nothing for the other member to call back.
    assert.deepEqual(await calls(m2), []);
  });

  it('records an unanswered queue call as missed for every member it rang', async () => {
    const t0 = Date.now();
    await c.dial('600');
    await Promise.all([p1.next('CALL_INCOMING'), p2.next('CALL_INCOMING')]);
    const closed = await c.next('CALL_CLOSED', 10_000);
    assert.match(closed.param ?? '', /408/);
    for (const member of [m1, m2]) {
      const r = await recordOf(member, t0);
      assert.equal(r.outcome, 'missed');
      assert.equal(r.queue, 'Assistenza');
    }
    assert.equal((await recordOf(caller, t0)).outcome, 'missed');
  });

  it('fails a call to a queue with no registered member with 480, at once', async () => {
    const t0 = Date.now();
    await c.dial('601');
    const closed = await c.next('CALL_CLOSED');
    assert.match(closed.param ?? '', /480/);
    const mine = await recordOf(caller, t0);
    assert.equal(mine.sipCode, 480);
    assert.equal(mine.peerName, 'Notte');
  });

  it('pushes changes at once and again after Kamailio restarts', async () => {
    const res = await fx.api('PATCH', '/api/queues/600', {
      token: admin.token,
      body: { members: [m2.extension] },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const missing = await fx.api('PATCH', '/api/queues/699', { token: admin.token, body: { name: 'X' } });
    assert.equal(missing.status, 404);
    const pid = suite.edge.kamailio.pid;
    assert.ok(pid);
    const restarted = once(suite.edge.kamailio, 'restarted');
    process.kill(pid, 'SIGKILL');
    await restarted;
    // The queues are pushed after the credentials: once it is back, phones can register again.
    await eventually('the queue back in Kamailio', 10_000, async () => {
      const answer = (await rpc('htable.get', ['queues', '600'])) as {
        result?: { item?: { value?: string } };
      };
      return answer.result?.item?.value === m2.extension ? true : undefined;
    });
    for (const p of phones) p.clearEvents();
    await Promise.all(phones.map(async (p) => p.reRegister()));
    await Promise.all(phones.map((p) => p.next('REGISTER_OK')));
    const dialed = await c.dial('600');
    assert.ok(dialed.ok, JSON.stringify(dialed));
    // Failed once in a full run (no INVITE reached the member, 2026-12-03): say what the caller and Kamailio saw.
    await p2.next('CALL_INCOMING').catch(async (err: unknown) => {
      const bindings = await rpc('ul.dump').catch((e: unknown) => String(e));
      throw new Error(
        `${String(err)}\ncaller ${c.report()}\nul.dump ${JSON.stringify(bindings).slice(0, 2_000)}`,
      );
    });
    await p2.command('accept');
    await Promise.all([c.next('CALL_ESTABLISHED'), p2.next('CALL_ESTABLISHED')]);
    await Promise.all([c.next('CALL_CLOSED'), p2.next('CALL_CLOSED')]);
    const gone = await fx.api('DELETE', '/api/queues/600', { token: admin.token });
    assert.equal(gone.status, 204);
    c.clearEvents();
    await c.dial('600');
    assert.match((await c.next('CALL_CLOSED')).param ?? '', /404/);
  });
});

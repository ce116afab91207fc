import assert from 'node:assert/strict';
import { once } from 'node:events';
import JsSIP from 'jssip';
import WebSocket from 'ws';
import type { SipPasswordView, TelephonySettingsView } from '../../shared/schemas/calls.js';
import { dominantTone, type BaresipPhone } from '../harness/baresip.js';
import { eventually } from '../harness/eventually.js';
import { TEST_SIP_DOMAIN } from '../harness/phoneEdge.js';
import { calleeBye } from '../../server/telephony/calleeBye.js';
import { byeCount, dialogsOf, type LiveDialog } from '../../server/telephony/liveDialogs.js';
import type { ServerFixture, TestUser } from '../harness/serverFixture.js';
import { telephonySuite } from '../harness/telephonySuite.js';

// JsSIP needs a WebSocket; Node 20 has none built in (`ws` is what socket.io-client uses).
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const TONE_A = 440;
const TONE_B = 660;

describe('telephony: Kamailio + rtpengine with baresip desk phones', function () {
  this.timeout(60_000);
  const suite = telephonySuite('phones');
  const { phone, rpc, calls, newestRecord } = suite;
  let fx: ServerFixture;
  let alice: TestUser;
  let bob: TestUser;
  let admin: TestUser;
  let a: BaresipPhone;
  let b: BaresipPhone;

  async function sipPassword(user: TestUser): Promise<string> {
    const res = await fx.api('POST', '/api/telephony/me/password', { token: user.token });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return (res.body as SipPasswordView).password;
  }

  /**
   * Registers the phone again and checks that the edge lists its binding: the REGISTER_OK the phone saw is a
   * binding Kamailio keeps (the old account's un-REGISTER has a Contact of its own, see BaresipPhone.reRegister).
   */
  async function bound(phone: BaresipPhone): Promise<void> {
    phone.clearEvents();
    await phone.reRegister();
    await phone.next('REGISTER_OK');
    const { result } = await rpc('ul.lookup', ['location', phone.extension]);
    const contacts = (result as { Contacts?: unknown[] } | undefined)?.Contacts ?? [];
    assert.ok(contacts.length > 0, `${phone.extension}: registered, yet not bound at the edge`);
  }

  before(async () => {
    ({ fx } = suite);
    alice = await fx.createUser({ firstName: 'Alice', lastName: 'Rossi' });
    bob = await fx.createUser({ firstName: 'Bruno', lastName: 'Bianchi' });
    admin = await fx.createUser({ firstName: 'Ada', lastName: 'Admin', role: 'admin' });
    a = await phone(alice, TONE_A);
    b = await phone(bob, TONE_B);
    await Promise.all([a.next('REGISTER_OK'), b.next('REGISTER_OK')]);
  });

  it('registers desk phones with digest auth and refuses a wrong password', async () => {
    const carla = await fx.createUser({ firstName: 'Carla', lastName: 'Verdi' });
    await sipPassword(carla);
    const wrong = await phone(carla, TONE_A, { password: 'not-the-password' });
    const fail = await wrong.next(['REGISTER_FAIL', 'REGISTER_OK']);
    assert.equal(fail.type, 'REGISTER_FAIL');
    assert.match(fail.param ?? '', /403/);
    await wrong.stop();
    // The phones ask for 600 s; Kamailio keeps registrations in memory and grants at most 120 s, so that phones
    // come back within that after a restart.
    const { result } = await rpc('ul.lookup', ['location', alice.extension]);
    const contacts = (result as { Contacts: { Contact: { Expires: number } }[] }).Contacts;
    assert.ok(contacts.length >= 1);
    for (const c of contacts) assert.ok(c.Contact.Expires <= 120, `expires ${c.Contact.Expires}`);
  });

  it('connects a call between two desk phones with audio both ways, and records it as answered', async () => {
    await a.clearRecordings();
    await b.clearRecordings();
    const t0 = Date.now();
    await a.dial(bob.extension);
    await b.next('CALL_INCOMING');
    await b.command('accept');
    await Promise.all([a.next('CALL_ESTABLISHED'), b.next('CALL_ESTABLISHED')]);
    // Each tone file is 0.7 s: the phone whose file ends first hangs up.
    await Promise.all([a.next('CALL_CLOSED'), b.next('CALL_CLOSED')]);
    const heardByA = dominantTone(await a.lastRecording(), [TONE_A, TONE_B]);
    const heardByB = dominantTone(await b.lastRecording(), [TONE_A, TONE_B]);
    assert.equal(heardByA.hz, TONE_B, `alice heard ${JSON.stringify(heardByA)}`);
    assert.equal(heardByB.hz, TONE_A, `bob heard ${JSON.stringify(heardByB)}`);
    assert.ok(heardByA.seconds > 0.3 && heardByB.seconds > 0.3, 'both recordings hold audio');
    assert.ok(heardByA.ratio > 10 && heardByB.ratio > 10, 'the other tone dominates clearly');

    const mine = await newestRecord(alice, t0);
    assert.equal(mine.direction, 'outgoing');
    assert.equal(mine.outcome, 'answered');
    assert.equal(mine.peerNumber, bob.extension);
    assert.equal(mine.peerName, 'Bianchi Bruno');
    assert.ok(mine.answeredAt && mine.endedAt);
    const theirs = await newestRecord(bob, t0);
    assert.equal(theirs.direction, 'incoming');
    assert.equal(theirs.outcome, 'answered');
    assert.equal(theirs.peerNumber, alice.extension);
    assert.equal(theirs.peerName, 'Rossi Alice');
  });

  it('records a rejected call as busy (486) on both sides', async () => {
    const t0 = Date.now();
    await a.dial(bob.extension);
    await b.next('CALL_INCOMING');
    await b.command('hangup');
    const closed = await a.next('CALL_CLOSED');
    assert.match(closed.param ?? '', /486/);
    assert.equal((await newestRecord(alice, t0)).outcome, 'busy');
    assert.equal((await newestRecord(bob, t0)).outcome, 'busy');
  });

  it('fails an unanswered call after the no-answer timeout, missed on both sides', async () => {
    const t0 = Date.now();
    await a.dial(bob.extension);
    await b.next('CALL_INCOMING');
    const closed = await a.next('CALL_CLOSED', 10_000);
    assert.match(closed.param ?? '', /408/);
    await b.next('CALL_CLOSED');
    const mine = await newestRecord(alice, t0);
    assert.equal(mine.outcome, 'missed');
    assert.equal(mine.sipCode, 408);
    assert.equal((await newestRecord(bob, t0)).outcome, 'missed');
  });

  it('records a call the caller cancels as cancelled for the caller and missed for the callee', async () => {
    const t0 = Date.now();
    await a.dial(bob.extension);
    await b.next('CALL_INCOMING');
    await a.command('hangup');
    await b.next('CALL_CLOSED');
    const mine = await newestRecord(alice, t0);
    assert.equal(mine.outcome, 'cancelled');
    assert.equal(mine.sipCode, 487);
    assert.equal((await newestRecord(bob, t0)).outcome, 'missed');
  });

  it('filters Chiamate recenti and searches by number and name', async () => {
    const missed = await calls(bob, '?filter=missed');
    assert.ok(
      missed.length >= 2 && missed.every((c) => c.direction === 'incoming' && c.outcome === 'missed'),
    );
    const received = await calls(bob, '?filter=received');
    assert.ok(received.length >= 1 && received.every((c) => c.outcome === 'answered'));
    const outgoing = await calls(alice, '?filter=outgoing');
    assert.ok(outgoing.length >= 4 && outgoing.every((c) => c.direction === 'outgoing'));
    assert.deepEqual(await calls(alice, '?filter=queue'), []);
    assert.ok((await calls(alice, '?q=bianchi')).length >= 4);
    assert.ok((await calls(alice, `?q=${bob.extension}`)).length >= 4);
    assert.deepEqual(await calls(alice, '?q=nobody-of-that-name'), []);
    const bad = await fx.api('GET', '/api/calls?filter=everything', { token: alice.token });
    assert.equal(bad.status, 400);
    assert.equal((bad.body as { error: { code: string } }).error.code, 'VALIDATION_FAILED');
  });

  it('click-to-call rings the caller first, then connects the number', async () => {
    const t0 = Date.now();
    const res = await fx.api('POST', '/api/calls/click-to-call', {
      token: alice.token,
      body: { number: ` ${bob.extension} ` },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(res.body, { from: alice.extension, number: bob.extension, internal: true });
    const ringing = await a.next('CALL_INCOMING');
    assert.match(ringing.peeruri ?? '', /ucc-bridge/);
    await a.command('accept');
    const incoming = await b.next('CALL_INCOMING');
    assert.match(incoming.peeruri ?? '', new RegExp(`sip:${alice.extension}@`));
    await b.command('accept');
    await b.next('CALL_ESTABLISHED');
    await Promise.all([a.next('CALL_CLOSED'), b.next('CALL_CLOSED')]);
    const mine = await newestRecord(alice, t0);
    assert.equal(mine.clickToCall, true);
    assert.equal(mine.outcome, 'answered');
    assert.equal(mine.peerNumber, bob.extension);
  });

  it('refuses bad click-to-call input with 400', async () => {
    for (const body of [{}, { number: 'abc' }, { number: '1' }, { number: alice.extension }, { number: 5 }]) {
      const res = await fx.api('POST', '/api/calls/click-to-call', { token: alice.token, body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal((res.body as { error: { code: string } }).error.code, 'VALIDATION_FAILED');
    }
    const anonymous = await fx.api('POST', '/api/calls/click-to-call', { body: { number: bob.extension } });
    assert.equal(anonymous.status, 401);
  });

  it('gives the web phone its settings: WebSocket URL, SIP URI and HA1, never a password', async () => {
    const res = await fx.api('GET', '/api/telephony/me', { token: alice.token });
    assert.equal(res.status, 200);
    const body = res.body as Record<string, unknown>;
    assert.equal(body.sipUri, `sip:${alice.extension}@${TEST_SIP_DOMAIN}`);
    // The app's own origin: the server pipes /sip to Kamailio (SipWebSocketProxy).
    assert.match(String(body.wsUrl), /^ws:\/\/127\.0\.0\.1:\d+\/sip\?ticket=[^&]+$/);
    assert.match(String(body.ha1), /^[0-9a-f]{32}$/);
    assert.equal(body.password, undefined);
  });

  it('registers a JsSIP web phone over SIP-over-WebSocket with the settings of /api/telephony/me (HA1, no password)', async () => {
    const settings = (await fx.api('GET', '/api/telephony/me', { token: alice.token }))
      .body as TelephonySettingsView;
    const register = (ha1: string): Promise<string> =>
      new Promise((resolve) => {
        const ua = new JsSIP.UA({
          sockets: [new JsSIP.WebSocketInterface(settings.wsUrl)],
          uri: settings.sipUri,
          authorization_user: settings.authorizationUser,
          realm: settings.realm,
          ha1,
          register: true,
        });
        const done = (outcome: string): void => {
          ua.stop();
          resolve(outcome);
        };
        ua.on('registered', () => done('registered'));
        ua.on('registrationFailed', (e: { cause?: string }) => done(`failed: ${e.cause ?? ''}`));
        ua.start();
      });
    assert.equal(await register(settings.ha1), 'registered');
    assert.equal(await register('0'.repeat(32)), 'failed: Rejected');
  });

  it("stops a disabled user's phone from registering and calling at once", async () => {
    const dario = await fx.createUser({ firstName: 'Dario', lastName: 'Neri' });
    const d = await phone(dario, TONE_A);
    await d.next('REGISTER_OK');
    const res = await fx.api('PATCH', `/api/directory/users/${dario.id}`, {
      token: admin.token,
      body: { disabled: true },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    // The revocation follows the directory event; Kamailio's own table says when it is done.
    await eventually('the credentials leave Kamailio', 5_000, async () => {
      const answer = await rpc('htable.get', ['creds', dario.extension]);
      return answer.error ? true : undefined;
    });
    d.clearEvents();
    await d.dial(alice.extension);
    const closed = await d.next('CALL_CLOSED');
    assert.match(closed.param ?? '', /403/);
    await d.reRegister();
    const reg = await d.next(['REGISTER_FAIL', 'REGISTER_OK']);
    assert.equal(reg.type, 'REGISTER_FAIL');
    await d.stop();
  });

  it("ends a disabled user's live call at once: both phones see it closed, and the record closes", async () => {
    const elena = await fx.createUser({ firstName: 'Elena', lastName: 'Galli' });
    const fabio = await fx.createUser({ firstName: 'Fabio', lastName: 'Conti' });
    // Tones of a minute: the call can only end early because of the revocation.
    const e = await phone(elena, TONE_A, { toneMs: 60_000 });
    const f = await phone(fabio, TONE_B, { toneMs: 60_000 });
    await Promise.all([e.next('REGISTER_OK'), f.next('REGISTER_OK')]);
    const t0 = Date.now();
    await e.dial(fabio.extension);
    await f.next('CALL_INCOMING');
    await f.command('accept');
    await Promise.all([e.next('CALL_ESTABLISHED'), f.next('CALL_ESTABLISHED')]);
    const res = await fx.api('PATCH', `/api/directory/users/${fabio.id}`, {
      token: admin.token,
      body: { disabled: true },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await Promise.all([e.next('CALL_CLOSED', 10_000), f.next('CALL_CLOSED', 10_000)]);
    const record = await eventually("elena's record of the ended call", 5_000, async () => {
      const latest = await newestRecord(elena, t0);
      return latest.endedAt ? latest : undefined;
    });
    assert.equal(record.outcome, 'answered');
    assert.equal(record.peerNumber, fabio.extension);
    await Promise.all([e.stop(), f.stop()]);
  });

  /** The live dialog between two phones, as Kamailio lists it. */
  async function liveDialog(from: BaresipPhone, to: BaresipPhone): Promise<LiveDialog> {
    const { result } = await rpc('dlg.list');
    const d = dialogsOf(result).find((x) => x.fromUser === from.extension && x.toUser === to.extension);
    assert.ok(d, `no dialog ${from.extension} → ${to.extension} in ${JSON.stringify(result)}`);
    return d;
  }

  async function byesSent(callId: string): Promise<number> {
    return byeCount((await rpc('htable.get', ['byes', callId])).result);
  }

  /** Two new users whose desk phones (minute-long tones) are in a call: the caller's, the callee's, its dialog. */
  async function liveCall(
    callerName: [string, string],
    calleeName: [string, string],
  ): Promise<{ caller: BaresipPhone; callee: BaresipPhone; calleeUser: TestUser; d: LiveDialog }> {
    const [from, calleeUser] = [
      await fx.createUser({ firstName: callerName[0], lastName: callerName[1] }),
      await fx.createUser({ firstName: calleeName[0], lastName: calleeName[1] }),
    ];
    const caller = await phone(from, TONE_A, { toneMs: 60_000 });
    const callee = await phone(calleeUser, TONE_B, { toneMs: 60_000 });
    await Promise.all([caller.next('REGISTER_OK'), callee.next('REGISTER_OK')]);
    await caller.dial(callee.extension);
    await callee.next('CALL_INCOMING');
    await callee.command('accept');
    await Promise.all([caller.next('CALL_ESTABLISHED'), callee.next('CALL_ESTABLISHED')]);
    return { caller, callee, calleeUser, d: await liveDialog(caller, callee) };
  }

  it("the callee's BYE the server builds from Kamailio's dialog ends the call at the callee", async () => {
    // What the server sends when Kamailio 5.6 ended a dialog at the caller only (server/telephony/calleeBye.ts).
    const { caller: g, callee: h, d } = await liveCall(['Gina', 'Serra'], ['Hugo', 'Villa']);
    const { error } = await rpc('tm.t_uac_start', calleeBye(d));
    assert.equal(error, undefined, JSON.stringify(error));
    await h.next('CALL_CLOSED', 10_000);
    assert.equal(await byesSent(d.callId), 1);
    await g.command('hangup');
    await g.next('CALL_CLOSED');
    await Promise.all([g.stop(), h.stop()]);
  });

  it('when Kamailio sent one BYE fewer than it should, the server sends the callee its own', async () => {
    const {
      caller: i,
      callee: l,
      calleeUser: lia,
      d,
    } = await liveCall(['Ivo', 'Marino'], ['Lia', 'Fontana']);
    // Kamailio's race cannot be forced: a counter one behind makes its two BYEs read as one.
    assert.equal((await rpc('htable.seti', ['byes', d.callId, -1])).error, undefined);
    const res = await fx.api('PATCH', `/api/directory/users/${lia.id}`, {
      token: admin.token,
      body: { disabled: true },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await Promise.all([i.next('CALL_CLOSED', 10_000), l.next('CALL_CLOSED', 10_000)]);
    // -1 + Kamailio's two + the server's one.
    await eventually('the BYE the server sent', 5_000, async () =>
      (await byesSent(d.callId)) === 2 ? true : undefined,
    );
    await Promise.all([i.stop(), l.stop()]);
  });

  it('fails a call to an external number with 503 when no trunk is configured, recorded as external', async () => {
    const t0 = Date.now();
    await a.dial('0391234567');
    const closed = await a.next('CALL_CLOSED');
    assert.match(closed.param ?? '', /503/);
    const mine = await newestRecord(alice, t0);
    assert.equal(mine.outcome, 'failed');
    assert.equal(mine.sipCode, 503);
    assert.equal(mine.external, true);
    assert.equal(mine.peerNumber, '+390391234567');
    const res = await fx.api('POST', '/api/calls/click-to-call', {
      token: alice.token,
      body: { number: '039 1234567' },
    });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    const error = (res.body as { error: { code: string; details?: { path: string; message: string }[] } })
      .error;
    assert.equal(error.code, 'VALIDATION_FAILED');
    assert.equal(error.details?.[0]?.path, 'number');
    assert.match(error.details?.[0]?.message ?? '', /no trunk/);
  });

  it('answers 404 to a number that is neither an extension nor an external number', async () => {
    await a.dial('4321');
    const closed = await a.next('CALL_CLOSED');
    assert.match(closed.param ?? '', /404/);
    const res = await fx.api('POST', '/api/calls/click-to-call', {
      token: alice.token,
      body: { number: '4321' },
    });
    assert.equal(res.status, 400);
    const details = (res.body as { error: { details?: { message: string }[] } }).error.details;
    assert.match(details?.[0]?.message ?? '', /no extension/);
  });

  it('answers 503 while Kamailio does not answer, and /readyz says so', async () => {
    const pid = suite.edge.kamailio.pid;
    assert.ok(pid);
    // The whole process group (the namespace wrapper and every Kamailio process): RPC hangs, nothing restarts.
    process.kill(-pid, 'SIGSTOP');
    try {
      const res = await fx.api('POST', '/api/calls/click-to-call', {
        token: alice.token,
        body: { number: bob.extension },
      });
      assert.equal(res.status, 503);
      const error = (res.body as { error: { code: string; message: string } }).error;
      assert.equal(error.code, 'SERVICE_UNAVAILABLE');
      assert.match(error.message, /Kamailio/);
      const ready = await fx.api('GET', '/readyz');
      assert.equal(ready.status, 503);
      const checks = (ready.body as { checks: Record<string, { ok: boolean; error?: string }> }).checks;
      assert.match(checks.telephony?.error ?? '', /Kamailio/);
    } finally {
      process.kill(-pid, 'SIGCONT');
    }
    await eventually('telephony ready again', 10_000, async () => {
      const ready = await fx.api('GET', '/readyz');
      return ready.status === 200 ? true : undefined;
    });
  });

  it('restarts rtpengine after it is killed, and calls have audio both ways again', async () => {
    const pid = suite.edge.rtpengine.pid;
    assert.ok(pid);
    const restarted = once(suite.edge.rtpengine, 'restarted');
    process.kill(pid, 'SIGKILL');
    await restarted;
    await eventually('telephony ready after the restart', 10_000, async () => {
      const ready = await fx.api('GET', '/readyz');
      return ready.status === 200 ? true : undefined;
    });
    await a.clearRecordings();
    await b.clearRecordings();
    await a.dial(bob.extension);
    await b.next('CALL_INCOMING');
    await b.command('accept');
    await Promise.all([a.next('CALL_ESTABLISHED'), b.next('CALL_ESTABLISHED')]);
    await Promise.all([a.next('CALL_CLOSED'), b.next('CALL_CLOSED')]);
    assert.equal(dominantTone(await a.lastRecording(), [TONE_A, TONE_B]).hz, TONE_B);
    assert.equal(dominantTone(await b.lastRecording(), [TONE_A, TONE_B]).hz, TONE_A);
  });

  it('answers 503 while rtpengine does not answer, and /readyz says so', async () => {
    const pid = suite.edge.rtpengine.pid;
    assert.ok(pid);
    process.kill(pid, 'SIGSTOP');
    try {
      const res = await fx.api('POST', '/api/calls/click-to-call', {
        token: alice.token,
        body: { number: bob.extension },
      });
      assert.equal(res.status, 503);
      assert.equal((res.body as { error: { code: string } }).error.code, 'SERVICE_UNAVAILABLE');
      const ready = await fx.api('GET', '/readyz');
      assert.equal(ready.status, 503);
      const checks = (ready.body as { checks: Record<string, { ok: boolean; error?: string }> }).checks;
      assert.match(checks.telephony?.error ?? '', /rtpengine/);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await eventually('telephony ready again', 10_000, async () => {
      const ready = await fx.api('GET', '/readyz');
      return ready.status === 200 ? true : undefined;
    });
  });

  it('brings Kamailio back after a crash, provisions the credentials again, and phones re-register and call', async () => {
    const pid = suite.edge.kamailio.pid;
    assert.ok(pid);
    const restarted = once(suite.edge.kamailio, 'restarted');
    process.kill(pid, 'SIGKILL');
    await restarted;
    await eventually('telephony ready after the restart', 10_000, async () => {
      const ready = await fx.api('GET', '/readyz');
      return ready.status === 200 ? true : undefined;
    });
    await Promise.all([bound(a), bound(b)]);
    await a.dial(bob.extension);
    await b.next('CALL_INCOMING');
    await b.command('accept');
    await Promise.all([a.next('CALL_ESTABLISHED'), b.next('CALL_ESTABLISHED')]);
    await Promise.all([a.next('CALL_CLOSED'), b.next('CALL_CLOSED')]);
  });
});

import assert from 'node:assert/strict';
import path from 'node:path';
import { BaresipPhone, dominantTone } from '../harness/baresip.js';
import type { ServerFixture, TestUser } from '../harness/serverFixture.js';
import { telephonySuite } from '../harness/telephonySuite.js';

const TONE_DESK = 440;
const TONE_CARRIER = 880;
/** "039 1234567" (Monza) in E.164, and what the trunk must get with the outbound prefix "0". */
const E164 = '+390391234567';
const AT_TRUNK = `0${E164}`;

describe('telephony: external numbers through a SIP trunk (a baresip standing in for the carrier)', function () {
  this.timeout(60_000);
  let carrier: BaresipPhone;
  // The carrier first: Kamailio's config names the trunk's port. It answers only calls to AT_TRUNK.
  const suite = telephonySuite('trunk', async (dir) => {
    carrier = await BaresipPhone.start({
      dir: path.join(dir, 'carrier'),
      extension: AT_TRUNK,
      password: '',
      domain: '127.0.0.1',
      proxyPort: 0,
      toneHz: TONE_CARRIER,
      toneMs: 700,
      carrier: true,
    });
    suite.track(carrier);
    return { dialPlan: { country: 'IT', trunkUri: `sip:127.0.0.1:${carrier.sipPort}`, outboundPrefix: '0' } };
  });
  let fx: ServerFixture;
  let alice: TestUser;
  let a: BaresipPhone;

  before(async () => {
    ({ fx } = suite);
    ({ user: alice, phone: a } = await suite.userWithPhone(
      { firstName: 'Alice', lastName: 'Rossi' },
      TONE_DESK,
    ));
  });

  it('sends a national number to the trunk in E.164 with the outbound prefix, with audio both ways', async () => {
    await a.clearRecordings();
    await carrier.clearRecordings();
    const t0 = Date.now();
    await a.dial('0391234567');
    const incoming = await carrier.next('CALL_INCOMING');
    assert.equal(incoming.accountaor, `sip:${AT_TRUNK}@127.0.0.1:${carrier.sipPort}`);
    assert.match(incoming.peeruri ?? '', new RegExp(`sip:${alice.extension}@`));
    await carrier.command('accept');
    await Promise.all([a.next('CALL_ESTABLISHED'), carrier.next('CALL_ESTABLISHED')]);
    await Promise.all([a.next('CALL_CLOSED'), carrier.next('CALL_CLOSED')]);
    const heardByDesk = dominantTone(await a.lastRecording(), [TONE_DESK, TONE_CARRIER]);
    const heardByCarrier = dominantTone(await carrier.lastRecording(), [TONE_DESK, TONE_CARRIER]);
    assert.equal(heardByDesk.hz, TONE_CARRIER, `the desk phone heard ${JSON.stringify(heardByDesk)}`);
    assert.equal(heardByCarrier.hz, TONE_DESK, `the carrier heard ${JSON.stringify(heardByCarrier)}`);
    assert.ok(heardByDesk.ratio > 10 && heardByCarrier.ratio > 10);

    const record = await suite.newestRecord(alice, t0, { ended: true });
    assert.equal(record.direction, 'outgoing');
    assert.equal(record.outcome, 'answered');
    assert.equal(record.external, true);
    assert.equal(record.peerNumber, E164);
    assert.equal(record.peerName, undefined);
  });

  for (const dialled of ['00390391234567', '+390391234567']) {
    it(`reads "${dialled}" as the same number`, async () => {
      await a.dial(dialled);
      const incoming = await carrier.next('CALL_INCOMING');
      assert.equal(incoming.accountaor, `sip:${AT_TRUNK}@127.0.0.1:${carrier.sipPort}`);
      await carrier.command('hangup');
      assert.match((await a.next('CALL_CLOSED')).param ?? '', /486/);
    });
  }

  it('click-to-call to "+39 039 1234567" rings the desk phone, then the carrier', async () => {
    const t0 = Date.now();
    const res = await fx.api('POST', '/api/calls/click-to-call', {
      token: alice.token,
      body: { number: '+39 039 1234567' },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(res.body, { from: alice.extension, number: E164, internal: false });
    await a.next('CALL_INCOMING');
    await a.command('accept');
    await carrier.next('CALL_INCOMING');
    await carrier.command('accept');
    await carrier.next('CALL_ESTABLISHED');
    await Promise.all([a.next('CALL_CLOSED'), carrier.next('CALL_CLOSED')]);
    const record = await suite.newestRecord(alice, t0, { ended: true });
    assert.equal(record.clickToCall, true);
    assert.equal(record.external, true);
    assert.equal(record.outcome, 'answered');
    assert.equal(record.peerNumber, E164);
  });

  it('refuses a number that is no valid phone number and no extension with 400', async () => {
    for (const number of ['039 12', '0000000000', '+999 1234567']) {
      const res = await fx.api('POST', '/api/calls/click-to-call', { token: alice.token, body: { number } });
      assert.equal(res.status, 400, `${number}: ${JSON.stringify(res.body)}`);
      const error = (res.body as { error: { code: string; details?: { path: string }[] } }).error;
      assert.equal(error.code, 'VALIDATION_FAILED');
      assert.equal(error.details?.[0]?.path, 'number');
    }
  });
});

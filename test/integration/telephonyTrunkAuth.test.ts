import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { freePort, freeTcpUdpPort } from '../../server/stack/ports.js';
import { dominantTone, type BaresipPhone } from '../harness/baresip.js';
import type { TestUser } from '../harness/serverFixture.js';
import { runSipp, sippReceived } from '../harness/sipp.js';
import { telephonySuite } from '../harness/telephonySuite.js';

const TONE_DESK = 440;
const DID_PREFIX = '+390391234';
const CALLER = '+390212345678';
const TRUNK_USER = 'ucc-monza';
const TRUNK_PASS = 'pa$$-w0rd!';

const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

/** The parameters of a `Digest k=v, k="v"` header value. */
function digestParams(value: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const m of value.replace(/^Digest\s+/i, '').matchAll(/([a-z-]+)=(?:"([^"]*)"|([^,\s]+))/gi)) {
    params.set((m[1] ?? '').toLowerCase(), m[2] ?? m[3] ?? '');
  }
  return params;
}

/** The one header's value in a SIP message (unfolded lines; the first of that name). */
function header(message: string, name: string): string | undefined {
  const line = message.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

describe('telephony: a SIP trunk with digest auth, and calls from it to DIDs (SIPp as the carrier)', function () {
  this.timeout(60_000);
  let carrierPort: number;
  const suite = telephonySuite('trunkauth', async () => {
    carrierPort = await freeTcpUdpPort();
    return {
      dialPlan: {
        country: 'IT',
        trunkUri: `sip:127.0.0.1:${carrierPort}`,
        outboundPrefix: '',
        didPrefix: DID_PREFIX,
      },
      trunkAuth: { username: TRUNK_USER, password: TRUNK_PASS },
    };
  });
  let dir: string;
  let alice: TestUser;
  let a: BaresipPhone;

  before(async () => {
    ({ dir } = suite);
    ({ user: alice, phone: a } = await suite.userWithPhone(
      { firstName: 'Alice', lastName: 'Rossi' },
      TONE_DESK,
      { toneMs: 1_500 },
    ));
  });

  it('keeps the trunk password in the 0600 config file, off the command line', async () => {
    const { readFile, stat } = await import('node:fs/promises');
    const file = path.join(suite.edge.dataDir, 'kamailio', 'kamailio.cfg');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.ok((await readFile(file, 'utf8')).includes(`"${TRUNK_PASS}"`));
    const { execFileSync } = await import('node:child_process');
    assert.ok(!execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).includes(TRUNK_PASS));
  });

  it('answers the carrier’s 401 with the digest of the configured credentials, and the call goes through', async () => {
    const sipp = runSipp({
      scenario: 'carrier-challenge',
      port: carrierPort,
      mediaPort: await freePort(),
      dir: path.join(dir, 'sipp-ok'),
      vars: { user: TRUNK_USER, pass: TRUNK_PASS },
    });
    const t0 = Date.now();
    await a.dial('0391234567');
    await a.next('CALL_ESTABLISHED');
    await a.next('CALL_CLOSED');
    const run = await sipp.done;
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const record = await suite.newestRecord(alice, t0, { ended: true });
    assert.equal(record.outcome, 'answered');
    assert.equal(record.peerNumber, '+390391234567');
  });

  it('answers a 407 (Proxy-Authenticate, qop=auth) with a Proxy-Authorization digest of the configured credentials', async () => {
    const sippDir = path.join(dir, 'sipp-407');
    const sipp = runSipp({
      scenario: 'carrier-challenge-407',
      port: carrierPort,
      mediaPort: await freePort(),
      dir: sippDir,
      vars: { realm: 'proxy.carrier.test' },
    });
    await a.dial('0391234567');
    await a.next('CALL_ESTABLISHED');
    await a.next('CALL_CLOSED');
    const run = await sipp.done;
    // The scenario requires a Proxy-Authorization header on the second INVITE (ereg check_it).
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const invites = (await sippReceived(sippDir)).filter((m) => m.startsWith('INVITE '));
    assert.equal(invites.length, 2, invites.join('\n\n'));
    const [first, second] = invites as [string, string];
    assert.equal(header(first, 'Proxy-Authorization'), undefined);
    assert.equal(header(second, 'Authorization'), undefined, 'answered as a proxy challenge, not a 401');
    const p = digestParams(header(second, 'Proxy-Authorization') ?? '');
    const requestUri = second.split(' ')[1] ?? '';
    assert.equal(p.get('username'), TRUNK_USER);
    assert.equal(p.get('realm'), 'proxy.carrier.test');
    assert.match(p.get('nonce') ?? '', /^\d+p1$/);
    assert.equal(p.get('uri'), requestUri);
    assert.equal(p.get('qop'), 'auth');
    assert.ok(p.get('cnonce'), 'a cnonce with qop=auth');
    const ha1 = md5(`${TRUNK_USER}:proxy.carrier.test:${TRUNK_PASS}`);
    const ha2 = md5(`INVITE:${requestUri}`);
    const expected = md5(
      `${ha1}:${p.get('nonce') ?? ''}:${p.get('nc') ?? ''}:${p.get('cnonce') ?? ''}:auth:${ha2}`,
    );
    assert.equal(p.get('response'), expected, header(second, 'Proxy-Authorization'));
  });

  it('a wrong password: the carrier refuses the digest and the call fails cleanly (403, a failed record)', async () => {
    const sipp = runSipp({
      scenario: 'carrier-challenge',
      port: carrierPort,
      mediaPort: await freePort(),
      dir: path.join(dir, 'sipp-bad'),
      vars: { user: TRUNK_USER, pass: 'another-password' },
    });
    const t0 = Date.now();
    await a.dial('0391234567');
    assert.match((await a.next('CALL_CLOSED')).param ?? '', /403/);
    const run = await sipp.done;
    // The scenario took one digest (the edge's) and its 403 was the end: the phone never got the 401.
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const record = await suite.newestRecord(alice, t0, { ended: true });
    assert.equal(record.direction, 'outgoing');
    assert.equal(record.outcome, 'failed');
    assert.equal(record.sipCode, 403);
  });

  it('a call from the carrier to DID +39 039 1234 <extension> rings the desk phone from the caller in E.164, audio through', async () => {
    await a.clearRecordings();
    const t0 = Date.now();
    const sipp = runSipp({
      scenario: 'carrier-call',
      port: carrierPort,
      mediaPort: await freePort(),
      dir: path.join(dir, 'sipp-in'),
      remote: `127.0.0.1:${suite.edge.kamailio.endpoint.sipPort}`,
      service: `${DID_PREFIX}${alice.extension}`,
      vars: { caller: CALLER },
    });
    const incoming = await a.next('CALL_INCOMING');
    assert.match(incoming.peeruri ?? '', new RegExp(`^sip:\\${CALLER}@`));
    await a.command('accept');
    await a.next('CALL_ESTABLISHED');
    await a.next('CALL_CLOSED');
    const run = await sipp.done;
    assert.equal(run.code, 0, run.stdout + run.stderr);
    // The carrier echoes what it gets: the desk phone hears its own tone back through the trunk leg.
    const heard = dominantTone(await a.lastRecording(), [TONE_DESK, 880]);
    assert.equal(heard.hz, TONE_DESK, JSON.stringify(heard));
    assert.ok(heard.ratio > 10);
    const record = await suite.newestRecord(alice, t0, { ended: true });
    assert.equal(record.direction, 'incoming');
    assert.equal(record.outcome, 'answered');
    assert.equal(record.external, true);
    assert.equal(record.peerNumber, CALLER);
  });

  for (const did of [`${DID_PREFIX}999`, '+390551234567']) {
    it(`refuses a call from the carrier to the unmapped ${did} with 404`, async () => {
      const run = await runSipp({
        scenario: 'carrier-call',
        port: carrierPort,
        mediaPort: await freePort(),
        dir: path.join(dir, `sipp-404-${did}`),
        remote: `127.0.0.1:${suite.edge.kamailio.endpoint.sipPort}`,
        service: did,
        vars: { caller: CALLER },
      }).done;
      assert.equal(run.code, 0, run.stdout + run.stderr);
    });
  }

  it('the same INVITE from another address than the trunk’s is not let in unauthenticated', async () => {
    const run = await runSipp({
      scenario: 'carrier-call',
      port: await freeTcpUdpPort(),
      mediaPort: await freePort(),
      dir: path.join(dir, 'sipp-elsewhere'),
      remote: `127.0.0.1:${suite.edge.kamailio.endpoint.sipPort}`,
      service: `${DID_PREFIX}${alice.extension}`,
      vars: { caller: CALLER },
    }).done;
    // The scenario takes only 404 or 200: anything else (the edge's 403/407) is an unexpected message.
    assert.notEqual(run.code, 0);
    assert.match(run.stdout + run.stderr, /40[37]/);
  });
});

describe('telephony: a trunk that challenges when the edge has no credentials for it', function () {
  this.timeout(60_000);
  let carrierPort: number;
  const suite = telephonySuite('trunknoauth', async () => {
    carrierPort = await freeTcpUdpPort();
    return { dialPlan: { country: 'IT', trunkUri: `sip:127.0.0.1:${carrierPort}`, outboundPrefix: '' } };
  });
  let a: BaresipPhone;

  before(async () => {
    ({ phone: a } = await suite.userWithPhone({ firstName: 'Bruno', lastName: 'Bianchi' }, TONE_DESK));
  });

  it('fails the call with 403 "Trunk authentication failed", and the 401 never reaches the phone', async () => {
    const sipp = runSipp({
      scenario: 'carrier-challenge',
      port: carrierPort,
      mediaPort: await freePort(),
      dir: path.join(suite.dir, 'sipp'),
      vars: { user: TRUNK_USER, pass: TRUNK_PASS },
    });
    await a.dial('0391234567');
    // Passed on, the phone would answer it with its own extension's credentials, to the carrier.
    assert.match((await a.next('CALL_CLOSED')).param ?? '', /403 Trunk authentication failed/);
    sipp.kill();
    await sipp.done;
  });
});

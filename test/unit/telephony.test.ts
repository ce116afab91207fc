import assert from 'node:assert/strict';
import { clickToCallSchema, dialNumberSchema } from '../../shared/schemas/calls.js';
import { kamailioConfig } from '../../server/stack/kamailioConfig.js';
import { toCallEvent } from '../../server/telephony/KamailioPbx.js';
import { digestHa1 } from '../../server/telephony/SipCredential.js';

describe('telephony: numbers, events and credentials', () => {
  it('normalizes dialable numbers and refuses what is not one', () => {
    assert.equal(dialNumberSchema.parse(' 039 123-45.67 '), '0391234567');
    assert.equal(dialNumberSchema.parse('+39 (02) 1234/567'), '+39021234567');
    assert.equal(dialNumberSchema.parse('201'), '201');
    for (const bad of ['', '1', 'abc', '20a', '++39', '1'.repeat(21), 'sip:201@x', '201;evil']) {
      assert.equal(dialNumberSchema.safeParse(bad).success, false, bad);
    }
    assert.equal(clickToCallSchema.safeParse({ number: '201', extra: 1 }).success, false);
  });

  it('reads the call events of the generated config, and ignores the click-to-call controller leg', () => {
    assert.deepEqual(toCallEvent({ event: 'start', callId: 'c1', from: '200', to: '201' }, 5, 'ucc-bridge'), {
      type: 'start',
      callId: 'c1',
      from: '200',
      to: '201',
      at: 5,
    });
    assert.equal(
      toCallEvent({ event: 'start', callId: 'c2', from: 'ucc-bridge', to: '200' }, 5, 'ucc-bridge'),
      undefined,
    );
    assert.deepEqual(toCallEvent({ event: 'failed', callId: 'c1', code: 486 }, 6, 'b'), {
      type: 'failed',
      callId: 'c1',
      code: 486,
      at: 6,
    });
    assert.deepEqual(toCallEvent({ event: 'ended', callId: 'c1', by: '201' }, 7, 'b'), {
      type: 'ended',
      callId: 'c1',
      by: '201',
      at: 7,
    });
    assert.equal(toCallEvent({ event: 'start', callId: '' }, 1, 'b'), undefined);
    assert.equal(toCallEvent({ event: 'whatever', callId: 'x' }, 1, 'b'), undefined);
  });

  it('computes HA1 as RFC 2617 does', () => {
    // md5("200:ucc.test:pw200")
    // `echo -n 200:ucc.test:pw200 | md5sum`
    assert.equal(digestHa1('200', 'ucc.test', 'pw200'), '024a78f91cd327ec6d9e3a41e43bcdf4');
  });

  it('generates a Kamailio config that guards /RPC with the token and listens only on loopback', () => {
    const cfg = kamailioConfig({
      sipPort: 5999,
      evapiPort: 5998,
      rtpengineNgPort: 5997,
      domain: 'ucc.test',
      bridgeUser: 'ucc-bridge',
      rpcToken: 'tok-123',
      noAnswerTimeoutMs: 2000,
      children: 2,
    });
    assert.match(cfg, /\$hdr\(X-Ucc-Rpc-Token\) != "tok-123"/);
    assert.match(cfg, /listen=udp:127\.0\.0\.1:5999/);
    assert.match(cfg, /listen=tcp:127\.0\.0\.1:5999/);
    assert.doesNotMatch(cfg, /auth_db/);
    assert.match(cfg, /fr_inv_timer", 2000/);
  });
});

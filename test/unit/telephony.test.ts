import assert from 'node:assert/strict';
import { clickToCallSchema, dialNumberSchema } from '../../shared/schemas/calls.js';
import { kamailioConfig } from '../../server/stack/kamailioConfig.js';
import { toCallEvent } from '../../server/telephony/KamailioPbx.js';
import { calleeBye } from '../../server/telephony/calleeBye.js';
import { byeCount, dialogsOf } from '../../server/telephony/liveDialogs.js';
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

  it('reads transfers and queue members turning a call down', () => {
    assert.deepEqual(
      toCallEvent({ event: 'start', callId: 'c3', from: '200', to: '202', referredBy: '201' }, 8, 'b'),
      { type: 'start', callId: 'c3', from: '200', to: '202', referredBy: '201', at: 8 },
    );
    assert.deepEqual(toCallEvent({ event: 'transfer', callId: 'c1', by: '201', to: '202' }, 9, 'b'), {
      type: 'transfer',
      callId: 'c1',
      by: '201',
      to: '202',
      at: 9,
    });
    // The click-to-call controller's own REFER is how click-to-call works, not a transfer; no target, no event.
    assert.equal(toCallEvent({ event: 'transfer', callId: 'c1', by: 'b', to: '202' }, 9, 'b'), undefined);
    assert.equal(toCallEvent({ event: 'transfer', callId: 'c1', by: '201', to: '' }, 9, 'b'), undefined);
    assert.deepEqual(
      toCallEvent({ event: 'memberRefused', callId: 'q1', member: '202', code: 603 }, 10, 'b'),
      { type: 'memberRefused', callId: 'q1', member: '202', code: 603, at: 10 },
    );
    assert.equal(toCallEvent({ event: 'memberRefused', callId: 'q1', code: 603 }, 10, 'b'), undefined);
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
      dialPlan: { country: 'IT', trunkUri: undefined, outboundPrefix: '' },
    });
    assert.match(cfg, /\$hdr\(X-Ucc-Rpc-Token\) != "tok-123"/);
    assert.match(cfg, /listen=udp:127\.0\.0\.1:5999/);
    assert.match(cfg, /listen=tcp:127\.0\.0\.1:5999/);
    assert.doesNotMatch(cfg, /auth_db/);
    assert.match(cfg, /fr_inv_timer", 2000/);
    // No trunk: external numbers fail at once with a clear 503.
    assert.match(cfg, /t_reply\("503", "No trunk for external numbers"\)/);
    assert.match(cfg, /max_expires", 120\)/);
  });

  it('routes external numbers to the trunk with the outbound prefix, reading national numbers by country', () => {
    const base = {
      sipPort: 5999,
      evapiPort: 5998,
      rtpengineNgPort: 5997,
      domain: 'ucc.test',
      bridgeUser: 'ucc-bridge',
      rpcToken: 'tok-123',
      noAnswerTimeoutMs: 2000,
      children: 2,
    };
    const italy = kamailioConfig({
      ...base,
      dialPlan: { country: 'IT', trunkUri: 'sip:trunk.example.org:5080', outboundPrefix: '0' },
    });
    assert.match(italy, /\$ru = "sip:0" \+ \$var\(n\) \+ "@trunk\.example\.org:5080"/);
    assert.match(italy, /\$var\(n\) = "\+39" \+ \$var\(n\)/);
    assert.doesNotMatch(italy, /No trunk/);
    const gb = kamailioConfig({
      ...base,
      dialPlan: { country: 'GB', trunkUri: 'sip:trunk.example.org', outboundPrefix: '' },
    });
    assert.match(gb, /\$var\(n\) = "\+44" \+ \$var\(n\)/);
    assert.match(gb, /s\.substr,1,0/);
  });

  it("reads Kamailio's dlg.list into the dialogs' users", () => {
    const list = [
      { h_entry: 3, h_id: 7, 'call-id': 'c1', from_uri: 'sip:201@ucc.test', to_uri: 'sip:202@ucc.test' },
      {
        h_entry: 4,
        h_id: 8,
        'call-id': 'c2',
        from_uri: 'sip:203@ucc.test',
        to_uri: 'sip:201@ucc.test',
        variables: [{ ws_callee: '1' }],
      },
      { h_entry: 'x', h_id: 1 },
    ];
    const [first, second, ...rest] = dialogsOf(list);
    assert.deepEqual(rest, []);
    assert.deepEqual(
      [first, second].map(
        (d) => d && [d.hEntry, d.hId, d.callId, d.fromUser, d.toUser, d.callerWs, d.calleeWs],
      ),
      [
        [3, 7, 'c1', '201', '202', false, false],
        [4, 8, 'c2', '203', '201', false, true],
      ],
    );
    assert.deepEqual(dialogsOf(null), []);
  });

  it("reads a dialog's two sides, so that the server can send the callee a BYE Kamailio did not", () => {
    const side = (tag: string, contact: string, socket: string) => ({
      tag,
      contact,
      cseq: '21',
      route_set: '',
      socket,
    });
    const [d] = dialogsOf([
      {
        h_entry: 1,
        h_id: 2,
        state: 4,
        'call-id': 'abc@host',
        from_uri: 'sip:201@ucc.test',
        to_uri: 'sip:202@ucc.test',
        caller: side('ft', 'sip:201@127.0.0.1:40000', 'udp:127.0.0.1:5060'),
        callee: side('tt', 'sip:202@127.0.0.1:40002;transport=udp', 'udp:127.0.0.1:5060'),
      },
    ]);
    assert.ok(d);
    assert.equal(d.state, 4);
    const [method, ruri, nexthop, socket, headers] = calleeBye(d);
    assert.deepEqual(
      [method, ruri, nexthop, socket],
      ['BYE', 'sip:202@127.0.0.1:40002;transport=udp', '', 'udp:127.0.0.1:5060'],
    );
    assert.equal(
      headers,
      'From: <sip:201@ucc.test>;tag=ft\r\nTo: <sip:202@ucc.test>;tag=tt\r\nCall-ID: abc@host\r\n' +
        'CSeq: 22 BYE\r\nMax-Forwards: 70\r\n',
    );
  });

  it("sends the callee's BYE to a web phone over the connection its contact's alias names", () => {
    const leg = { tag: 't', cseq: '5', routeSet: '', socket: 'tcp:127.0.0.1:5060' };
    const d = {
      callId: 'c',
      fromUri: 'sip:201@ucc.test',
      toUri: 'sip:202@ucc.test',
      caller: { ...leg, contact: 'sip:201@127.0.0.1:40000' },
      callee: { ...leg, contact: '<sip:x@df7jal23ls0d.invalid;transport=ws;alias=127.0.0.1~51234~5>' },
    };
    const [, ruri, nexthop] = calleeBye(d);
    assert.equal(ruri, 'sip:x@df7jal23ls0d.invalid;transport=ws;alias=127.0.0.1~51234~5');
    assert.equal(nexthop, 'sip:127.0.0.1:51234;transport=ws');
    assert.equal(
      calleeBye({ ...d, callee: { ...d.callee, contact: 'sip:x@[::1]:5;alias=::1~5~2' } })[2],
      'sip:[::1]:5;transport=tcp',
    );
  });

  it('reads how many BYEs Kamailio sent for a call', () => {
    assert.equal(byeCount({ item: { name: 'c', value: 2 } }), 2);
    assert.equal(byeCount(undefined), 0);
    assert.equal(byeCount({ item: { value: 'x' } }), 0);
  });
});

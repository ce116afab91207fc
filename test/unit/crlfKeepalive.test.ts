import assert from 'node:assert/strict';
import { CRLF_PING, CrlfKeepalive } from '../../client/src/app/phone/keepalive.js';
import type { ReconnectTimers } from '../../client/src/app/phone/reconnect.js';
import { ManualClock } from '../../server/clock.js';

function timersOn(clock: ManualClock): ReconnectTimers {
  return {
    setTimeout: (run, ms) => clock.setTimer(ms, run),
    clearTimeout: (handle) => (handle as () => void)(),
  };
}

describe('the web phone’s CRLF keepalive (a silently dead network)', () => {
  function setup(open = () => true) {
    const clock = new ManualClock();
    const sent: number[] = [];
    let lost = 0;
    const k = new CrlfKeepalive({
      send: (ping) => {
        assert.equal(ping, CRLF_PING);
        sent.push(clock.now());
        return open();
      },
      lost: () => lost++,
      timers: timersOn(clock),
      options: { intervalMs: 15_000, timeoutMs: 5_000 },
    });
    return { clock, sent, k, lost: () => lost };
  }

  it('pings every interval and stays quiet while each ping is answered', () => {
    const { clock, sent, k, lost } = setup();
    const t0 = clock.now();
    k.start();
    for (let i = 0; i < 4; i++) {
      clock.advance(15_000);
      k.heard();
    }
    assert.deepEqual(
      sent.map((t) => t - t0),
      [15_000, 30_000, 45_000, 60_000],
    );
    assert.equal(lost(), 0);
  });

  it('calls the connection lost within interval + timeout of the last answer, once, and then stops pinging', () => {
    const { clock, sent, k, lost } = setup();
    k.start();
    clock.advance(15_000);
    k.heard();
    // From here nothing comes back (the clock moves to each timer in turn: a jump runs timers set meanwhile late).
    clock.advance(15_000);
    clock.advance(4_999);
    assert.equal(lost(), 0);
    clock.advance(1);
    assert.equal(lost(), 1);
    clock.advance(60_000);
    assert.equal(lost(), 1);
    assert.equal(sent.length, 2);
  });

  it('counts any message as an answer, sends nothing after stop(), and does not arm a deadline on a closed socket', () => {
    const { clock, sent, k, lost } = setup();
    k.start();
    clock.advance(15_000);
    k.heard();
    k.stop();
    clock.advance(120_000);
    assert.equal(sent.length, 1);
    assert.equal(lost(), 0);

    const closed = setup(() => false);
    closed.k.start();
    closed.clock.advance(60_000);
    assert.equal(closed.lost(), 0, 'a socket that is not open reports its own close');
    assert.equal(closed.sent.length, 1, 'and is not pinged again until start()');
  });
});

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import WebSocket from 'ws';
import { CrlfKeepalive } from '../../client/src/app/phone/keepalive.js';
import type { TelephonySettingsView } from '../../shared/schemas/calls.js';
import { startPhoneEdge, type PhoneEdge } from '../harness/phoneEdge.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';

/**
 * A TCP hop between the browser and the app that can go silent: after `blackhole()` it forwards nothing either
 * way and closes nothing, as a Wi-Fi that died or a NAT that forgot the flow (no FIN, no RST, no `offline`).
 */
async function silentHop(
  targetPort: number,
): Promise<{ port: number; blackhole: () => void; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let dead = false;
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on('data', (chunk: Buffer) => {
        if (!dead) to.write(chunk);
      });
      from.on('error', () => from.destroy());
      from.on('close', () => {
        sockets.delete(from);
        if (!dead) to.destroy();
      });
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    blackhole: () => {
      dead = true;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('the web phone’s CRLF keepalive through the SIP WebSocket proxy (a silently dead network)', function () {
  this.timeout(60_000);
  let edge: PhoneEdge;
  let fx: ServerFixture;
  let alice: TestUser;

  before(async function () {
    this.timeout(60_000);
    edge = await startPhoneEdge();
    fx = await startServer({ kamailio: edge.kamailio.endpoint });
    alice = await fx.createUser({ firstName: 'Alice', lastName: 'Rossi' });
    assert.equal((await fx.api('POST', '/api/telephony/me/password', { token: alice.token })).status, 201);
  });

  after(async function () {
    this.timeout(20_000);
    await fx?.close();
    await fx?.db.close();
    await edge?.stop();
  });

  it('is answered by the edge while the path lives, and calls the connection lost once it goes silent', async () => {
    const hop = await silentHop(Number(new URL(fx.baseUrl).port));
    try {
      const s = (await fx.api('GET', '/api/telephony/me', { token: alice.token }))
        .body as TelephonySettingsView;
      const ticket = new URL(s.wsUrl).search;
      const ws = new WebSocket(`ws://127.0.0.1:${hop.port}/sip${ticket}`, 'sip');
      await once(ws, 'open');
      let pongs = 0;
      let onPong: (() => void) | undefined;
      let lostAt: number | undefined;
      const lost = new Promise<void>((resolve) => {
        // The web phone's own class, on Node's timers; a short interval, a generous timeout (a loaded machine).
        const keepalive = new CrlfKeepalive({
          send: (ping) => {
            if (ws.readyState !== WebSocket.OPEN) return false;
            ws.send(ping);
            return true;
          },
          lost: () => {
            lostAt = Date.now();
            resolve();
          },
          timers: {
            setTimeout: (run, ms) => setTimeout(run, ms),
            clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
          },
          options: { intervalMs: 200, timeoutMs: 3_000 },
        });
        ws.on('message', (data: Buffer) => {
          keepalive.heard();
          if (data.toString() === '\r\n') pongs++;
          onPong?.();
        });
        ws.on('close', () => keepalive.stop());
        keepalive.start();
      });
      // Alive: Kamailio, through our proxy, answers each double CRLF with a CRLF, so the keepalive never fires.
      await new Promise<void>((resolve) => {
        onPong = () => pongs >= 3 && resolve();
      });
      assert.equal(lostAt, undefined);

      const silentFrom = Date.now();
      hop.blackhole();
      await lost;
      // Noticed by the keepalive: nothing closed the WebSocket meanwhile (the network said nothing).
      assert.equal(ws.readyState, WebSocket.OPEN);
      assert.ok((lostAt ?? 0) >= silentFrom);
      process.stdout.write(`      (silent loss noticed after ${(lostAt ?? 0) - silentFrom} ms)\n`);
      ws.terminate();
    } finally {
      await hop.close();
    }
  });
});

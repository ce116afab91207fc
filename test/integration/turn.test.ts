import assert from 'node:assert/strict';
import { turnIceServers } from '../../server/meetings/turnCredentials.js';
import { turnAllocate } from '../harness/turnClient.js';
import { testStack } from '../harness/testStack.js';

describe('TURN (real coturn with use-auth-secret)', () => {
  it('accepts the short-lived credentials the server hands out, and allocates a relay', async () => {
    const { coturn, turn } = testStack();
    const [server] = turnIceServers(turn, 'participant-1', Date.now());
    assert.ok(server?.username && server.credential);
    assert.match(server.username, /^\d+:participant-1$/);
    const result = await turnAllocate(coturn.port, server.username, server.credential);
    assert.ok(result.ok, `refused with ${result.ok ? '' : result.code}`);
    assert.ok(result.relayedPort > 0);
  });

  it('refuses a wrong password', async () => {
    const { coturn, turn } = testStack();
    const [server] = turnIceServers(turn, 'participant-2', Date.now());
    assert.deepEqual(await turnAllocate(coturn.port, server?.username ?? '', 'not-the-password'), {
      ok: false,
      code: 401,
    });
  });

  it('refuses credentials whose time has passed', async () => {
    const { coturn, turn } = testStack();
    const [server] = turnIceServers(turn, 'participant-3', Date.now() - 2 * turn.credentialTtlMs);
    assert.deepEqual(await turnAllocate(coturn.port, server?.username ?? '', server?.credential ?? ''), {
      ok: false,
      code: 401,
    });
  });

  it('gives no ICE servers when TURN is off', () => {
    assert.deepEqual(turnIceServers(undefined, 'x', Date.now()), []);
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createClient, Direction, type MatrixClient } from 'matrix-js-sdk';
import { registerMatrixUser } from '../harness/matrixUsers.js';
import { testStack } from '../harness/testStack.js';

describe('Synapse (real homeserver from PyPI)', () => {
  const clients: MatrixClient[] = [];

  afterEach(() => {
    for (const c of clients.splice(0)) c.stopClient();
  });

  async function newUser(name: string): Promise<MatrixClient> {
    const { matrix } = testStack();
    const username = `${name}_${randomUUID().slice(0, 8)}`;
    const user = await registerMatrixUser(matrix, username, 'correct horse battery');
    const client = createClient({
      baseUrl: matrix.homeserverUrl,
      userId: user.userId,
      accessToken: user.accessToken,
    });
    clients.push(client);
    return client;
  }

  it('delivers a message from one registered user to another through the client API', async () => {
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const { room_id: roomId } = await alice.createRoom({ name: 'smoke', invite: [bob.getSafeUserId()] });
    await bob.joinRoom(roomId);
    await alice.sendTextMessage(roomId, 'ciao Bob');

    const page = await bob.createMessagesRequest(roomId, null, 20, Direction.Backward);
    const messages = page.chunk.filter((e) => e.type === 'm.room.message');
    assert.equal(messages.length, 1);
    assert.equal(messages[0]?.sender, alice.getSafeUserId());
    assert.equal((messages[0]?.content as { body?: string }).body, 'ciao Bob');
  });

  it('accepts the application-service token generated for our bridge', async () => {
    const { matrix } = testStack();
    const response = await fetch(`${matrix.homeserverUrl}/_matrix/client/v3/account/whoami`, {
      headers: { Authorization: `Bearer ${matrix.asToken}` },
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { user_id: string };
    assert.equal(body.user_id, `@ucc-bridge:${matrix.serverName}`);
  });
});

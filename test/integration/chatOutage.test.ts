import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChatMessageView, ChatRoomView } from '../../shared/schemas/chat.js';
import { freePort } from '../../server/stack/ports.js';
import { SynapseService } from '../../server/stack/SynapseService.js';
import { collect, nextMessage, type ErrorBody } from '../harness/chatServer.js';
import { startServer, type ServerFixture } from '../harness/serverFixture.js';
import { ackErrorCode, request, SocketPool } from '../harness/sockets.js';
import { testStack } from '../harness/testStack.js';

describe('chat with an unreachable homeserver URL', () => {
  let fx: ServerFixture;

  beforeEach(async () => {
    fx = await startServer({ matrix: { ...testStack().matrix, homeserverUrl: 'http://127.0.0.1:1' } });
  });

  afterEach(async () => {
    await fx.close();
  });

  it('answers 503 CHAT_UNAVAILABLE instead of pretending', async () => {
    const a = await fx.createUser({ firstName: 'Nadia', lastName: 'Ferri' });
    const b = await fx.createUser({ firstName: 'Oscar', lastName: 'Gatti' });
    const res = await fx.api('POST', '/api/chat/dms', { token: a.token, body: { userId: b.id } });
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.equal((res.body as ErrorBody).error.code, 'CHAT_UNAVAILABLE');
    const list = await fx.api('GET', '/api/chat/rooms', { token: a.token });
    assert.equal(list.status, 503);
  });
});

describe('chat while Synapse is stopped and restarted (a Synapse of its own)', function () {
  // The suite's Synapse is shared, so this test runs a second one on its own data directory, stops it mid-test
  // and starts it again on the same directory and port; the same server keeps running throughout.
  this.timeout(240_000);
  let dataDir: string | undefined;
  let synapse: SynapseService | undefined;
  let fx: ServerFixture | undefined;
  let sockets: SocketPool | undefined;

  async function startSynapse(dir: string, bridgeUrl: string, port?: number): Promise<SynapseService> {
    const stack = testStack();
    if (!stack.config.stack) throw new Error('the embedded stack is not installed');
    return SynapseService.create({
      python: stack.config.stack.synapsePython,
      dataDir: dir,
      serverName: stack.matrix.serverName,
      bridgeUrl,
      logger: stack.logger,
      startTimeoutMs: 120_000,
      ...(port === undefined ? {} : { port }),
    });
  }

  afterEach(async () => {
    sockets?.closeAll();
    await fx?.close();
    await synapse?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    [sockets, fx, synapse, dataDir] = [undefined, undefined, undefined, undefined];
  });

  it('answers 503 CHAT_UNAVAILABLE while it is down, fakes nothing, and sends again after the restart', async () => {
    const stack = testStack();
    dataDir = await mkdtemp(path.join(tmpdir(), 'ucc-synapse-restart-'));
    const bridgePort = await freePort();
    const bridgeUrl = `http://127.0.0.1:${bridgePort}`;
    synapse = await startSynapse(dataDir, bridgeUrl);
    const synapsePort = Number(new URL(synapse.url).port);
    const endpoint = {
      homeserverUrl: synapse.url,
      serverName: synapse.serverName,
      asToken: synapse.secrets.asToken,
      hsToken: synapse.secrets.hsToken,
      registrationSharedSecret: synapse.secrets.registrationSharedSecret,
    };
    fx = await startServer({
      matrix: endpoint,
      config: { http: { ...stack.config.http, port: bridgePort } },
    });
    sockets = new SocketPool(fx.baseUrl);
    const a = await fx.createUser({ firstName: 'Rosa', lastName: 'Villa' });
    const b = await fx.createUser({ firstName: 'Sergio', lastName: 'Monti' });
    const bSocket = await sockets.connect(b.token);
    const dm = await fx.api('POST', '/api/chat/dms', { token: a.token, body: { userId: b.id } });
    assert.equal(dm.status, 201, JSON.stringify(dm.body));
    const roomId = (dm.body as ChatRoomView).roomId;
    const messages = `/api/chat/rooms/${encodeURIComponent(roomId)}/messages`;
    const seen = collect(bSocket);

    const before = nextMessage(bSocket, 'prima');
    const ok = await fx.api('POST', messages, { token: a.token, body: { body: 'prima' } });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    await before;

    await synapse.stop();
    const down = await fx.api('POST', messages, {
      token: a.token,
      body: { body: 'durante', clientTxnId: 'retry-0001' },
    });
    assert.equal(down.status, 503, JSON.stringify(down.body));
    assert.equal((down.body as ErrorBody).error.code, 'CHAT_UNAVAILABLE');
    const history = await fx.api('GET', messages, { token: b.token });
    assert.equal(history.status, 503);
    const typing = await request(bSocket, { type: 'chat.typing', roomId, typing: true });
    assert.equal(ackErrorCode(typing), 'CHAT_UNAVAILABLE');
    const readiness = await fx.api('GET', '/readyz');
    assert.equal(readiness.status, 503);

    // The same data directory and port: the running server's bridge follows without a restart of its own.
    synapse = await startSynapse(dataDir, bridgeUrl, synapsePort);
    // The client retries the refused message with its clientTxnId; a second retry is not sent twice.
    const retried = nextMessage(bSocket, 'durante');
    const again = await fx.api('POST', messages, {
      token: a.token,
      body: { body: 'durante', clientTxnId: 'retry-0001' },
    });
    assert.equal(again.status, 201, JSON.stringify(again.body));
    await retried;
    const twice = await fx.api('POST', messages, {
      token: a.token,
      body: { body: 'durante', clientTxnId: 'retry-0001' },
    });
    assert.equal((twice.body as { eventId: string }).eventId, (again.body as { eventId: string }).eventId);
    const after = nextMessage(bSocket, 'dopo');
    assert.equal((await fx.api('POST', messages, { token: a.token, body: { body: 'dopo' } })).status, 201);
    await after;

    // Matrix has every accepted message once, and nothing that was refused appeared on its own.
    const page = await fx.api('GET', `${messages}?limit=10`, { token: b.token });
    assert.equal(page.status, 200, JSON.stringify(page.body));
    assert.deepEqual(
      (page.body as { items: ChatMessageView[] }).items.map((m) => m.body),
      ['dopo', 'durante', 'prima'],
    );
    // A sentinel after everything: Synapse pushes in order, so whatever it still had for B came before it.
    const sentinel = nextMessage(bSocket, 'sentinella');
    assert.equal(
      (await fx.api('POST', messages, { token: a.token, body: { body: 'sentinella' } })).status,
      201,
    );
    await sentinel;
    assert.deepEqual(
      seen.map((m) => m.body),
      ['prima', 'durante', 'dopo', 'sentinella'],
    );
  });
});

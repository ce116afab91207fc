import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Database } from '../../server/db/Database.js';
import { FerretDbService } from '../../server/stack/FerretDbService.js';
import type { Ack } from '../../shared/protocol.js';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import { startServer, type ServerFixture } from '../harness/serverFixture.js';
import { request, SocketPool } from '../harness/sockets.js';
import { testStack } from '../harness/testStack.js';

/**
 * A server whose database dies under it (a FerretDB of its own, SIGKILLed and left down): clients are told
 * 503 SERVICE_UNAVAILABLE, over REST and over socket acks, never 500 INTERNAL.
 */
describe('database outage', () => {
  let dataDir: string;
  let ferret: FerretDbService;
  let db: Database;
  let fx: ServerFixture;
  let sockets: SocketPool;

  before(async function () {
    this.timeout(120_000);
    dataDir = await mkdtemp(path.join(tmpdir(), 'ucc-outage-'));
    const stack = testStack();
    ferret = await FerretDbService.create({
      bin: stack.config.stack?.ferretdbBin ?? '',
      dataDir,
      logger: stack.logger,
      startTimeoutMs: 60_000,
      // Down for the whole test: the restart is the chaos suite's business.
      restart: { initialDelayMs: 3_600_000, maxDelayMs: 3_600_000, stableAfterMs: 3_600_000 },
    });
    db = await Database.connect(ferret.uri, { dbName: 'ucc', logger: stack.logger });
    fx = await startServer({ reuseDb: db });
    sockets = new SocketPool(fx.baseUrl);
  });

  after(async () => {
    sockets.closeAll();
    await fx.close();
    await db.close();
    await ferret.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers 503 SERVICE_UNAVAILABLE over REST and socket acks, and /readyz names the database', async () => {
    const user = await fx.createUser({ plan: 'pro' });
    const created = await fx.api('POST', '/api/meetings', {
      token: user.token,
      body: { title: 'Outage', startAt: new Date().toISOString(), durationMinutes: 60 },
    });
    assert.equal(created.status, 201);
    const meeting = created.body as MeetingView;
    const socket = await sockets.connect(user.token);

    const crashed = once(ferret, 'crashed');
    assert.ok(ferret.pid);
    process.kill(ferret.pid, 'SIGKILL');
    await crashed;

    const me = await fx.api('GET', '/api/me', { token: user.token });
    assert.equal(me.status, 503, JSON.stringify(me.body));
    assert.equal((me.body as { error: { code: string } }).error.code, 'SERVICE_UNAVAILABLE');
    const login = await fx.api('POST', '/api/auth/login', {
      body: { extension: user.extension, password: user.password },
    });
    assert.equal(login.status, 503, JSON.stringify(login.body));

    const ack: Ack<unknown> = await request(socket, { type: 'meeting.join', meetingId: meeting.id });
    assert.equal(ack.ok, false);
    assert.equal(ack.ok ? '' : ack.error.code, 'SERVICE_UNAVAILABLE');

    const ready = await fx.api('GET', '/readyz');
    assert.equal(ready.status, 503);
    assert.equal((ready.body as { checks: Record<string, { ok: boolean }> }).checks.database?.ok, false);
  });
});

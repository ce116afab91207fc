import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import { Database } from '../../server/db/Database.js';
import { startBalancer, type Balancer } from '../harness/haproxy.js';
import { startMain, waitReady, type MainProcess } from '../harness/mainProcess.js';
import { connectedOn } from '../harness/nodes.js';
import { startTestRedis, type TestRedis } from '../harness/redis.js';
import type { TestUser } from '../harness/serverFixture.js';
import { testStack } from '../harness/testStack.js';
import { UiPages } from '../harness/uiPages.js';
import { framesFlow, newVideoTrack, remoteTile, videoTrackId } from '../harness/videoFrames.js';

/**
 * Two server processes, as `npm start` runs them but on the suite's shared services (FerretDB, Redis, Synapse),
 * behind HAProxy; the node holding a meeting is killed with SIGKILL while an organizer and a guest are in it.
 */
describe('a server node killed mid-meeting (two node processes behind HAProxy)', function () {
  this.timeout(300_000);
  let redis: TestRedis;
  const procs: MainProcess[] = [];
  let balancer: Balancer | undefined;
  let ui: UiPages | undefined;

  before(async function () {
    this.timeout(240_000);
    redis = await startTestRedis();
    const { ferret, matrix } = testStack();
    const env = {
      MONGODB_URI: ferret.uri,
      REDIS_URL: redis.url,
      MATRIX_HOMESERVER_URL: matrix.homeserverUrl,
      MATRIX_AS_TOKEN: matrix.asToken,
      MATRIX_HS_TOKEN: matrix.hsToken,
      MATRIX_SERVER_NAME: matrix.serverName,
      UCC_TURN: 'off',
      UCC_TELEPHONY: 'off',
      // One secret for the site: a token from one node is good on the other.
      UCC_JWT_SECRET: randomBytes(32).toString('hex'),
      UCC_DEMO_PASSWORD: 'demo-pass',
      // A dead node is seen as dead within 1.5 s (the default is 10 s).
      UCC_NODE_HEARTBEAT_MS: '300',
      UCC_NODE_TTL_MS: '1500',
    };
    // One after the other: the first creates the demo directory on the shared database.
    for (let i = 0; i < 2; i++) {
      const proc = await startMain(env);
      procs.push(proc);
      await waitReady(proc, 120_000);
    }
    balancer = await startBalancer({ nodePorts: procs.map((p) => p.port) });
  });

  afterEach(async function () {
    const failed = this.currentTest?.state === 'failed' ? this.currentTest.title || 'test' : undefined;
    await ui?.close(failed);
    ui = undefined;
  });

  after(async () => {
    await balancer?.close();
    for (const proc of procs) {
      if (proc.child.exitCode === null && proc.child.signalCode === null) {
        proc.child.kill('SIGTERM');
        await once(proc.child, 'exit');
      }
      await rm(proc.dataDir, { recursive: true, force: true });
    }
    // The processes used the database `ucc` of the suite's FerretDB.
    const db = await Database.connect(testStack().ferret.uri, { dbName: 'ucc', logger: testStack().logger });
    await db.connection.dropDatabase();
    await db.close();
    await redis.close();
  });

  it("its people come back through the other node as themselves and see each other's video again", async () => {
    const lb = balancer?.baseUrl ?? '';
    const login = await fetch(`${lb}/api/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ extension: '200', password: 'demo-pass' }),
    });
    assert.equal(login.status, 200);
    const { accessToken } = (await login.json()) as { accessToken: string };
    const created = await fetch(`${lb}/api/meetings`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({
        title: 'Nodo che cade',
        startAt: new Date().toISOString(),
        durationMinutes: 60,
      }),
    });
    assert.equal(created.status, 201);
    const meeting = (await created.json()) as MeetingView;

    ui = await UiPages.create(lb);
    const guest = await ui.guestWaiting(meeting, 'Anna Ospite');
    // The demo user 200 signs in through the form: only the extension and password are needed.
    const mario = { extension: '200', password: 'demo-pass' } as TestUser;
    const org = await ui.organizerStarts(mario, 'Nodo che cade');
    const guestId = await org
      .locator('li.person', { hasText: 'Anna Ospite' })
      .getAttribute('data-participant');
    const orgId = await guest.locator('li.person', { hasText: 'Mario' }).getAttribute('data-participant');
    assert.ok(guestId && orgId);
    await framesFlow(org, remoteTile(guestId), 30_000);
    await framesFlow(guest, remoteTile(orgId), 30_000);
    const tracks = [
      await videoTrackId(org, remoteTile(guestId)),
      await videoTrackId(guest, remoteTile(orgId)),
    ];
    assert.ok(tracks[0] && tracks[1]);

    // The meeting's node holds both meeting connections (and maybe the organizer's app socket).
    const counts = await Promise.all(procs.map(connectedOn));
    const hostIndex = counts.findIndex((n) => n >= 2);
    assert.ok(hostIndex >= 0, JSON.stringify(counts));
    const host = procs[hostIndex] as MainProcess;
    const survivor = procs[1 - hostIndex] as MainProcess;
    host.child.kill('SIGKILL');
    await once(host.child, 'exit');

    // Both reconnect through the balancer to the other node, rejoin as the same participants, and their media is
    // rebuilt there (new consumers, new tracks): frames flow again both ways.
    await newVideoTrack(org, remoteTile(guestId), tracks[0], 60_000);
    await newVideoTrack(guest, remoteTile(orgId), tracks[1], 60_000);
    await framesFlow(org, remoteTile(guestId), 60_000);
    await framesFlow(guest, remoteTile(orgId), 60_000);
    assert.equal(await org.locator('.tile.remote').count(), 1);
    assert.equal(await guest.locator('.tile.remote').count(), 1);
    await org.locator('.room-head', { hasText: 'Partecipanti: 2' }).waitFor();
    assert.ok((await connectedOn(survivor)) >= 2);
  });
});

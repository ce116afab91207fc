import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import { chatRoutes, authRoutes, meetingRoutes } from '../../shared/rest/contract.js';
import { DockerEngine } from '../harness/dockerEngine.js';
import { ImageSite } from '../harness/imageSite.js';
import { expectStatus, restClient } from '../harness/restClient.js';
import type { TestUser } from '../harness/serverFixture.js';
import { UiPages } from '../harness/uiPages.js';

const execFileAsync = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const IMAGE = 'opivoice-ucc:test';

/** The page's document, as page.evaluate sees it (this side has no DOM types). */
declare const document: {
  querySelectorAll: (selector: string) => Iterable<{ videoWidth: number }>;
};

/**
 * The server image (docker/Dockerfile) built from this checkout by scripts/docker-build on a real Docker engine,
 * then run as production runs it (test/harness/imageSite.ts): only the container serves these tests.
 */
describe('the server image on a real Docker engine', function () {
  this.timeout(120_000);
  let engine: DockerEngine;
  let site: ImageSite;
  let ui: UiPages | undefined;

  before(async function () {
    // A cold build compiles the mediasoup worker when the bootstrap cache has none (about 15 minutes on 2 cores);
    // with the cached worker and Docker's layer cache it takes a minute or two.
    this.timeout(30 * 60_000);
    engine = await DockerEngine.start();
    await execFileAsync('bash', [path.join(ROOT, 'scripts/docker-build'), IMAGE], {
      env: engine.env,
      maxBuffer: 64 * 1024 * 1024,
    }).catch((err: unknown) => {
      const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
      throw new Error(`scripts/docker-build failed: ${String(err)}\n${(stdout + stderr).slice(-4_000)}`);
    });
    site = await ImageSite.start({ engine, image: IMAGE });
  });

  afterEach(async function () {
    const failed = this.currentTest?.state === 'failed' ? this.currentTest.title || 'test' : undefined;
    if (failed) process.stderr.write(`${await site.logs()}\n`);
    await ui?.close(failed);
    ui = undefined;
  });

  after(async () => {
    await site?.close();
    // The images of earlier builds, untagged by this one, would pile up in the engine's data root.
    await engine?.docker('image', 'prune', '--force').catch(() => undefined);
    await engine?.close();
  });

  /** A demo user of the site, signed in over REST. */
  async function demoUser(extension: string): Promise<TestUser & { firstName: string }> {
    const call = restClient(site.baseUrl);
    const login = expectStatus(
      await call(authRoutes.login, { body: { extension, password: site.demoPassword } }),
      200,
    );
    const token = login.body.accessToken;
    return {
      id: login.body.user.id,
      extension,
      password: site.demoPassword,
      firstName: login.body.user.firstName,
      get token() {
        return token;
      },
    };
  }

  it('becomes healthy with every probe ok, tini as PID 1, every process as uid 10001, and serves the web client', async () => {
    assert.deepEqual(
      (await site.assertReady()).filter((p) => ['database', 'matrix', 'mediasoup'].includes(p)).sort(),
      ['database', 'matrix', 'mediasoup'],
    );
    const processes = await site.assertProcesses();
    assert.ok(
      processes.some((p) => p.startsWith('mediasoup-work')),
      processes.join(', '),
    );
    const page = await fetch(`${site.baseUrl}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await page.text(), /<script type="module"[^>]+\/assets\//);
  });

  it("a guest from the link waits, the organizer starts the meeting, and each decodes the other's video in Chromium", async () => {
    const mario = await demoUser('200');
    const call = restClient(site.baseUrl);
    const created = expectStatus(
      await call(
        meetingRoutes.create,
        {
          body: {
            title: 'Dal container',
            description: '',
            startAt: new Date().toISOString(),
            durationMinutes: 30,
            inviteeIds: [],
          },
        },
        { token: mario.token },
      ),
      201,
    );
    const meeting: MeetingView = created.body;
    // PUBLIC_URL reached the server: its links are built on it.
    assert.ok(meeting.guestUrl.startsWith(`${site.baseUrl}/m/`), meeting.guestUrl);

    ui = await UiPages.create(site.baseUrl);
    const guest = await ui.guestWaiting(meeting, 'Ospite Container');
    const organizer = await ui.organizerStarts(mario, 'Dal container');
    const decoding = (): boolean =>
      [...document.querySelectorAll('.tile.remote video')].some((v) => v.videoWidth > 0);
    await guest.waitForFunction(decoding, undefined, { timeout: 30_000 });
    await organizer.waitForFunction(decoding, undefined, { timeout: 30_000 });
    ui.assertNoConsoleErrors();
  });

  it('a chat message from one colleague reaches the other through Synapse and the appservice', async () => {
    const [mario, giulia] = await Promise.all([demoUser('200'), demoUser('201')]);
    const call = restClient(site.baseUrl);
    const dm = await call(chatRoutes.openDm, { body: { userId: giulia.id } }, { token: mario.token });
    assert.ok(dm.status === 200 || dm.status === 201, JSON.stringify(dm.body));
    const { roomId } = dm.body;
    const body = `Ciao ${giulia.firstName}, dal container`;
    expectStatus(
      await call(chatRoutes.send, { params: { roomId }, body: { body } }, { token: mario.token }),
      201,
    );
    const history = expectStatus(
      await call(chatRoutes.history, { params: { roomId } }, { token: giulia.token }),
      200,
    );
    assert.ok(
      history.body.items.some((m) => m.body === body),
      JSON.stringify(history.body.items.map((m) => m.body)),
    );
  });

  it('docker stop ends the server cleanly: SIGTERM reaches node through tini, exit code 0', async () => {
    await site.assertCleanStop();
  });
});

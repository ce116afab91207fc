/**
 * Smoke test of the server image (docker/Dockerfile), run as test/harness/imageSite.ts runs it (real FerretDB,
 * Synapse and coturn on loopback, `--network host`, configured by the environment only). Checked: the container
 * becomes healthy (its HEALTHCHECK on /readyz) and /readyz names every probe ok; PID 1 is tini and the server
 * runs as the non-root user; the web client is served; a PRO user logs in and creates a meeting over REST
 * (answers checked against the zod contract); `docker stop` ends it cleanly (SIGTERM reached node: exit 0).
 * With --edge, the telephony edge's images (docker/kamailio, docker/rtpengine) run too, with the generated
 * Kamailio config, and the server is pointed at them (UCC_TELEPHONY=external): /readyz must pass `kamailio`
 * (its JSON-RPC) and `telephony` (evapi connected and provisioned, rtpengine answering), and a user's web phone
 * settings say enabled.
 *
 * Usage: bash scripts/docker-smoke [--edge] [image]     (default opivoice-ucc:latest; DOCKER_HOST is honoured)
 * Needs scripts/bootstrap's stack (.ucc/stack.json) and the images (scripts/docker-build; for --edge also
 * `docker build -t opivoice-ucc-kamailio docker/kamailio` and the same for rtpengine), and root for --edge (the
 * config file is given to the Kamailio image's uid). Exit 0: all passed.
 */
import assert from 'node:assert/strict';
import { authRoutes, meetingRoutes } from '../shared/rest/contract.js';
import { telephonyRoutes } from '../shared/rest/callsContract.js';
import { DockerEngine } from '../test/harness/dockerEngine.js';
import { ImageSite } from '../test/harness/imageSite.js';
import { expectStatus, restClient } from '../test/harness/restClient.js';

const args = process.argv.slice(2);
const withEdge = args.includes('--edge');
const image = args.find((a) => !a.startsWith('--')) ?? 'opivoice-ucc:latest';

function ok(what: string): void {
  process.stdout.write(`ok - ${what}\n`);
}

async function main(): Promise<void> {
  const engine = await DockerEngine.start();
  let site: ImageSite | undefined;
  try {
    site = await ImageSite.start({ engine, image, edge: withEdge });
    const { baseUrl } = site;
    ok(
      `the container is healthy (HEALTHCHECK on /readyz)${withEdge ? ', with the edge from its images' : ''}`,
    );

    ok(`/readyz 200: ${(await site.assertReady()).join(', ')}`);
    ok(`PID 1 is tini; ${(await site.assertProcesses()).join(', ')}: all uid 10001`);

    const page = await fetch(`${baseUrl}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await page.text(), /<script type="module"[^>]+\/assets\//);
    ok('the web client is served');

    const call = restClient(baseUrl);
    const login = expectStatus(
      await call(authRoutes.login, { body: { extension: '200', password: site.demoPassword } }),
      200,
    );
    assert.equal(login.body.user.plan, 'pro');
    ok(`login as 200 (${login.body.user.firstName} ${login.body.user.lastName})`);

    if (withEdge) {
      const phone = expectStatus(await call(telephonyRoutes.me, {}, { token: login.body.accessToken }), 200);
      assert.equal(phone.body.enabled, true, JSON.stringify(phone.body));
      ok('telephony: the web phone settings of 200 say enabled');
    }

    const startAt = new Date(Date.now() + 3_600_000).toISOString();
    const meeting = expectStatus(
      await call(
        meetingRoutes.create,
        { body: { title: 'Docker smoke', description: '', startAt, durationMinutes: 30, inviteeIds: [] } },
        { token: login.body.accessToken },
      ),
      201,
    );
    // PUBLIC_URL reached the server: links are built on it.
    assert.ok(meeting.body.joinUrl.startsWith(`${baseUrl}/`), meeting.body.joinUrl);
    ok(`meeting created: ${meeting.body.joinUrl}`);

    await site.assertCleanStop();
    ok('docker stop: SIGTERM reached node, exit code 0');
  } catch (err) {
    if (site) process.stderr.write(`${await site.logs()}\n`);
    throw err;
  } finally {
    await site?.close();
    await engine.close();
  }
}

main().then(
  () => process.stdout.write('docker-smoke: all passed\n'),
  (err: unknown) => {
    process.stderr.write(`not ok - ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);

/**
 * Smoke test of the server image (docker/Dockerfile) against real services on loopback: FerretDB (the MongoDB
 * protocol), Synapse with our appservice registration and coturn, started from the bootstrap's binaries by the
 * server's own stack classes, as the test harness does. The image runs with `--network host` and is pointed at
 * them through the environment only (MONGODB_URI, MATRIX_*, TURN_*), as in production. Checked: the container
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
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { readStackManifest } from '../server/config.js';
import { CoturnService } from '../server/stack/CoturnService.js';
import { FerretDbService } from '../server/stack/FerretDbService.js';
import { kamailioRpcUp } from '../server/stack/KamailioService.js';
import { freePort, freeTcpUdpPort } from '../server/stack/ports.js';
import { SynapseService } from '../server/stack/SynapseService.js';
import { authRoutes, meetingRoutes } from '../shared/rest/contract.js';
import { telephonyRoutes } from '../shared/rest/callsContract.js';
import { eventually } from '../test/harness/eventually.js';
import { expectStatus, restClient } from '../test/harness/restClient.js';
import { configFromArgs } from './kamailio-config.js';

const execFileAsync = promisify(execFile);
const args = process.argv.slice(2);
const withEdge = args.includes('--edge');
const image = args.find((a) => !a.startsWith('--')) ?? 'opivoice-ucc:latest';
const name = `ucc-smoke-${process.pid}`;
/** The uid docker/kamailio/Dockerfile gives Kamailio. */
const KAMAILIO_UID = 10002;
/** Generous bounds on whole phases (the machine is shared), never a pass/fail timing. */
const START_DEADLINE_MS = 180_000;
const STOP_GRACE_S = 30;

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('docker', args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

function ok(what: string): void {
  process.stdout.write(`ok - ${what}\n`);
}

/**
 * Resolves with the container's health once Docker reports it healthy, rejects when it turns unhealthy or dies:
 * `docker events`, started before the container so that no event is missed.
 */
function healthEvents(): { healthy: Promise<void>; close: () => void } {
  const events = spawn(
    'docker',
    [
      'events',
      '--filter',
      `container=${name}`,
      '--filter',
      'event=health_status',
      '--filter',
      'event=die',
      '--format',
      '{{.Status}}',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const healthy = new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(
      () => reject(new Error(`not healthy within ${START_DEADLINE_MS} ms`)),
      START_DEADLINE_MS,
    );
    const settle = (err?: Error): void => {
      clearTimeout(deadline);
      if (err) reject(err);
      else resolve();
    };
    createInterface({ input: events.stdout }).on('line', (status) => {
      if (status.includes('health_status: healthy')) settle();
      else if (status.includes('unhealthy')) settle(new Error('the container turned unhealthy'));
      else if (status === 'die') settle(new Error('the container exited during start-up'));
    });
    events.once('exit', (code) => settle(new Error(`docker events ended (${code})`)));
  });
  return { healthy, close: () => events.kill() };
}

/**
 * rtpengine and Kamailio from their images on loopback ports of their own, Kamailio with the config
 * scripts/docker-secrets would write; resolves with the server's environment for them once Kamailio answers.
 */
async function startEdge(dataDir: string, containers: string[]): Promise<Record<string, string>> {
  const [sip, evapi, ng, rtp] = [
    await freeTcpUdpPort(),
    await freePort(),
    await freeTcpUdpPort(),
    await freeTcpUdpPort(),
  ];
  const token = randomBytes(24).toString('base64url');
  const domain = 'ucc.smoke';
  const cfg = path.join(dataDir, 'kamailio.cfg');
  const config = configFromArgs([
    ...['--domain', domain, '--token', token, '--sip-port', String(sip), '--evapi-port', String(evapi)],
    ...['--rtpengine-ng-port', String(ng), '--children', '2'],
  ]);
  await writeFile(cfg, config, { mode: 0o600 });
  await chown(cfg, KAMAILIO_UID, KAMAILIO_UID);
  const run = async (suffix: string, ...rest: string[]): Promise<void> => {
    const container = `${name}-${suffix}`;
    await docker('run', '--detach', '--network', 'host', '--name', container, ...rest);
    containers.push(container);
  };
  // rtpengine binds its media ports only for calls; none is made here.
  await run(
    'rtpengine',
    'opivoice-ucc-rtpengine:latest',
    '--interface=127.0.0.1',
    `--listen-ng=127.0.0.1:${ng}`,
    `--port-min=${rtp}`,
    `--port-max=${rtp + 20}`,
  );
  await run('kamailio', '--volume', `${cfg}:/etc/kamailio/kamailio.cfg:ro`, 'opivoice-ucc-kamailio:latest');
  await eventually('Kamailio answers JSON-RPC', START_DEADLINE_MS, async () =>
    (await kamailioRpcUp(sip, token)) ? true : undefined,
  );
  ok(`Kamailio (SIP, RPC, WebSocket :${sip}, evapi :${evapi}) and rtpengine (ng :${ng}) from their images`);
  return {
    UCC_TELEPHONY: 'external',
    UCC_KAMAILIO_RPC_URL: `http://127.0.0.1:${sip}/RPC`,
    UCC_KAMAILIO_RPC_TOKEN: token,
    UCC_KAMAILIO_EVAPI: `127.0.0.1:${evapi}`,
    UCC_KAMAILIO_SIP_URI: `sip:127.0.0.1:${sip}`,
    UCC_SIP_WS_URL: `ws://127.0.0.1:${sip}/ws`,
    UCC_SIP_DOMAIN: domain,
  };
}

async function main(): Promise<void> {
  const stack = readStackManifest();
  if (!stack?.turnserverBin)
    throw new Error('run scripts/bootstrap first: .ucc/stack.json (with coturn) is missing');
  await docker('image', 'inspect', image);
  const dataDir = await mkdtemp(path.join(tmpdir(), 'ucc-docker-smoke-'));
  const logger = pino({ level: 'silent' });
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const serverName = 'ucc.smoke';
  const turnSecret = randomBytes(24).toString('base64url');
  const demoPassword = randomBytes(12).toString('base64url');
  const services: { stop: () => Promise<void> }[] = [];
  const keep = <T extends { stop: () => Promise<void> }>(s: T): T => {
    services.push(s);
    return s;
  };
  let containerStarted = false;
  const edgeContainers: string[] = [];
  try {
    const edgeEnv = withEdge ? await startEdge(dataDir, edgeContainers) : { UCC_TELEPHONY: 'off' };
    const [ferret, synapse, coturn] = await Promise.all([
      FerretDbService.create({ bin: stack.ferretdbBin, dataDir, logger, startTimeoutMs: 60_000 }).then(keep),
      // Synapse pushes its appservice transactions to the container, which listens on the host's loopback.
      SynapseService.create({
        python: stack.synapsePython,
        dataDir,
        serverName,
        bridgeUrl: baseUrl,
        logger,
        startTimeoutMs: 120_000,
      }).then(keep),
      CoturnService.create({
        bin: stack.turnserverBin,
        dataDir,
        secret: turnSecret,
        realm: serverName,
        logger,
        startTimeoutMs: 30_000,
      }).then(keep),
    ]);
    ok(`FerretDB ${ferret.uri}, Synapse ${synapse.url}, coturn ${coturn.url}`);

    // Secrets in a 0600 file for --env-file, never on a command line.
    const env: Record<string, string> = {
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: baseUrl,
      LOG_LEVEL: 'info',
      MONGODB_URI: ferret.uri,
      MATRIX_HOMESERVER_URL: synapse.url,
      MATRIX_SERVER_NAME: serverName,
      MATRIX_AS_TOKEN: synapse.secrets.asToken,
      MATRIX_HS_TOKEN: synapse.secrets.hsToken,
      TURN_URLS: coturn.url,
      TURN_SECRET: turnSecret,
      ...edgeEnv,
      UCC_JWT_SECRET: randomBytes(32).toString('base64url'),
      // The smoke test signs in as demo user 200 (compose's default is off).
      UCC_DEMO_DIRECTORY: 'on',
      UCC_DEMO_PASSWORD: demoPassword,
      MEDIASOUP_NUM_WORKERS: '1',
    };
    const envFile = path.join(dataDir, 'ucc.env');
    await writeFile(
      envFile,
      Object.entries(env)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
      { mode: 0o600 },
    );

    const health = healthEvents();
    try {
      // A short health interval for the test only: the image's own (10 s) is what production gets.
      await docker(
        'run',
        '--detach',
        '--network',
        'host',
        '--name',
        name,
        '--env-file',
        envFile,
        '--health-interval',
        '2s',
        image,
      );
      containerStarted = true;
      await health.healthy;
    } finally {
      health.close();
    }
    ok('the container is healthy (HEALTHCHECK on /readyz)');

    const ready = await fetch(`${baseUrl}/readyz`);
    const report = (await ready.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    assert.equal(ready.status, 200, JSON.stringify(report));
    for (const probe of ['database', 'matrix', 'mediasoup', ...(withEdge ? ['kamailio', 'telephony'] : [])]) {
      assert.equal(report.checks[probe]?.ok, true, `${probe}: ${JSON.stringify(report.checks[probe])}`);
    }
    ok(`/readyz 200: ${Object.keys(report.checks).join(', ')}`);

    assert.equal(await docker('exec', name, 'cat', '/proc/1/comm'), 'tini');
    // `docker top` runs the host's ps over the container's processes: node and its mediasoup worker.
    const processes = (await docker('top', name, '-eo', 'pid,uid,comm')).split('\n').slice(1);
    const owners = processes.map((line) => line.trim().split(/\s+/));
    assert.ok(
      owners.some(([, , comm]) => comm === 'node'),
      processes.join('; '),
    );
    for (const [, uid, comm] of owners) assert.equal(uid, '10001', `${comm} runs as ${uid}`);
    ok(`PID 1 is tini; ${owners.map(([, , comm]) => comm).join(', ')}: all uid 10001`);

    const page = await fetch(`${baseUrl}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await page.text(), /<script type="module"[^>]+\/assets\//);
    ok('the web client is served');

    const call = restClient(baseUrl);
    const login = expectStatus(
      await call(authRoutes.login, { body: { extension: '200', password: demoPassword } }),
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

    await docker('stop', '--time', String(STOP_GRACE_S), name);
    const exitCode = await docker('inspect', '--format', '{{.State.ExitCode}}', name);
    assert.equal(exitCode, '0', 'docker stop: the server did not exit cleanly on SIGTERM');
    const { stdout: logs } = await execFileAsync('docker', ['logs', name], { maxBuffer: 16 * 1024 * 1024 });
    assert.match(logs, /"reason":"SIGTERM"/);
    ok('docker stop: SIGTERM reached node, exit code 0');
  } catch (err) {
    for (const c of [...edgeContainers, ...(containerStarted ? [name] : [])]) {
      const logs = await execFileAsync('docker', ['logs', '--tail', '60', c]).catch(() => undefined);
      process.stderr.write(`--- ${c}: last 60 lines\n${logs?.stdout ?? ''}${logs?.stderr ?? ''}\n`);
    }
    throw err;
  } finally {
    if (containerStarted) await docker('rm', '--force', name).catch(() => undefined);
    for (const c of edgeContainers) await docker('rm', '--force', c).catch(() => undefined);
    await Promise.allSettled(services.map((s) => s.stop()));
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.stdout.write('docker-smoke: all passed\n'),
  (err: unknown) => {
    process.stderr.write(`not ok - ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);

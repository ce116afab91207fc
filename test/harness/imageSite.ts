import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { readStackManifest } from '../../server/config.js';
import { CoturnService } from '../../server/stack/CoturnService.js';
import { FerretDbService } from '../../server/stack/FerretDbService.js';
import { kamailioRpcUp } from '../../server/stack/KamailioService.js';
import { freePort, freeTcpUdpPort } from '../../server/stack/ports.js';
import { SynapseService } from '../../server/stack/SynapseService.js';
import { configFromArgs } from '../../scripts/kamailio-config.js';
import type { DockerEngine } from './dockerEngine.js';
import { eventually } from './eventually.js';

const execFileAsync = promisify(execFile);
/** The uid docker/kamailio/Dockerfile gives Kamailio. */
const KAMAILIO_UID = 10002;
/** Generous bounds on whole phases (the machine is shared), never a pass/fail timing. */
const START_DEADLINE_MS = 180_000;
const STOP_GRACE_S = 30;

export interface ImageSiteOptions {
  engine: DockerEngine;
  /** The server image (scripts/docker-build's tag). */
  image: string;
  /** Also the telephony edge's images (docker/kamailio, docker/rtpengine), with the generated Kamailio config. */
  edge?: boolean;
}

/**
 * The server image running as production runs it, against real services on loopback: FerretDB (the MongoDB
 * protocol), Synapse with our appservice registration and coturn, started from the bootstrap's binaries by the
 * server's own stack classes. The container runs with `--network host` and is pointed at them through the
 * environment only (MONGODB_URI, MATRIX_*, TURN_*), its secrets in a 0600 env file, never on a command line.
 * `start` resolves once Docker reports the container healthy (its HEALTHCHECK on /readyz).
 */
export class ImageSite {
  readonly baseUrl: string;
  /** The demo directory's password (users 200, 201, …): the site is made with UCC_DEMO_DIRECTORY=on. */
  readonly demoPassword: string;
  /** The server container's name. */
  readonly name: string;
  readonly edge: boolean;
  readonly #engine: DockerEngine;
  readonly #services: { stop: () => Promise<void> }[];
  readonly #containers: string[];
  readonly #dataDir: string;
  #closed = false;

  private constructor(init: {
    engine: DockerEngine;
    baseUrl: string;
    demoPassword: string;
    name: string;
    edge: boolean;
    services: { stop: () => Promise<void> }[];
    containers: string[];
    dataDir: string;
  }) {
    this.#engine = init.engine;
    this.baseUrl = init.baseUrl;
    this.demoPassword = init.demoPassword;
    this.name = init.name;
    this.edge = init.edge;
    this.#services = init.services;
    this.#containers = init.containers;
    this.#dataDir = init.dataDir;
  }

  static async start(options: ImageSiteOptions): Promise<ImageSite> {
    const { engine, image } = options;
    const stack = readStackManifest();
    if (!stack?.turnserverBin) {
      throw new Error('run scripts/bootstrap first: .ucc/stack.json (with coturn) is missing');
    }
    await engine.docker('image', 'inspect', image);
    const name = `ucc-image-${process.pid}-${randomBytes(3).toString('hex')}`;
    const dataDir = await mkdtemp(path.join(tmpdir(), 'ucc-image-site-'));
    const logger = pino({ level: 'silent' });
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const serverName = 'ucc.image';
    const turnSecret = randomBytes(24).toString('base64url');
    const demoPassword = randomBytes(12).toString('base64url');
    const services: { stop: () => Promise<void> }[] = [];
    const containers: string[] = [];
    const site = new ImageSite({
      engine,
      baseUrl,
      demoPassword,
      name,
      edge: options.edge ?? false,
      services,
      containers,
      dataDir,
    });
    const keep = <T extends { stop: () => Promise<void> }>(s: T): T => {
      services.push(s);
      return s;
    };
    try {
      const edgeEnv = options.edge
        ? await startEdge(engine, name, dataDir, containers)
        : { UCC_TELEPHONY: 'off' };
      const [ferret, synapse, coturn] = await Promise.all([
        FerretDbService.create({ bin: stack.ferretdbBin, dataDir, logger, startTimeoutMs: 60_000 }).then(
          keep,
        ),
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
        // Signs in as the demo users (compose's default is off).
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
      const health = healthEvents(engine, name);
      try {
        // A short health interval for the test only: the image's own (10 s) is what production gets.
        await engine.docker(
          ...['run', '--detach', '--network', 'host', '--name', name, '--env-file', envFile],
          ...['--health-interval', '2s', image],
        );
        containers.push(name);
        await health.healthy;
      } finally {
        health.close();
      }
    } catch (err) {
      const logs = await site.logs().catch(() => '');
      await site.close();
      throw new Error(`${String(err)}\n${logs}`);
    }
    return site;
  }

  docker(...args: string[]): Promise<string> {
    return this.#engine.docker(...args);
  }

  /** Asserts /readyz answers 200 with every probe of the site ok; resolves with the probes' names. */
  async assertReady(): Promise<string[]> {
    const ready = await fetch(`${this.baseUrl}/readyz`);
    const report = (await ready.json()) as { checks: Record<string, { ok: boolean }> };
    assert.equal(ready.status, 200, JSON.stringify(report));
    const probes = ['database', 'matrix', 'mediasoup', ...(this.edge ? ['kamailio', 'telephony'] : [])];
    for (const probe of probes) {
      assert.equal(report.checks[probe]?.ok, true, `${probe}: ${JSON.stringify(report.checks[probe])}`);
    }
    return Object.keys(report.checks);
  }

  /** Asserts PID 1 is tini and every process runs as the image's user; resolves with their names. */
  async assertProcesses(): Promise<string[]> {
    assert.equal(await this.docker('exec', this.name, 'cat', '/proc/1/comm'), 'tini');
    // `docker top` runs the host's ps over the container's processes: node and its mediasoup worker.
    const processes = (await this.docker('top', this.name, '-eo', 'pid,uid,comm')).split('\n').slice(1);
    const owners = processes.map((line) => line.trim().split(/\s+/));
    assert.ok(
      owners.some(([, , comm]) => comm === 'node'),
      processes.join('; '),
    );
    for (const [, uid, comm] of owners) assert.equal(uid, '10001', `${comm} runs as ${uid}`);
    return owners.map(([, , comm]) => comm ?? '');
  }

  /** Asserts `docker stop` ends the server cleanly: SIGTERM reached node (tini passed it on), exit code 0. */
  async assertCleanStop(): Promise<void> {
    await this.docker('stop', '--time', String(STOP_GRACE_S), this.name);
    const exitCode = await this.docker('inspect', '--format', '{{.State.ExitCode}}', this.name);
    assert.equal(exitCode, '0', 'docker stop: the server did not exit cleanly on SIGTERM');
    const { stdout, stderr } = await execFileAsync('docker', ['logs', this.name], {
      env: this.#engine.env,
      maxBuffer: 16 * 1024 * 1024,
    });
    assert.match(stdout + stderr, /"reason":"SIGTERM"/);
  }

  /** The last lines of every container's output, for a failure message. */
  async logs(tail = 60): Promise<string> {
    const parts: string[] = [];
    for (const c of this.#containers) {
      const out = await execFileAsync('docker', ['logs', '--tail', String(tail), c], {
        env: this.#engine.env,
        maxBuffer: 16 * 1024 * 1024,
      }).catch(() => undefined);
      parts.push(`--- ${c}: last ${tail} lines\n${out?.stdout ?? ''}${out?.stderr ?? ''}`);
    }
    return parts.join('\n');
  }

  /** Removes the containers and stops the services; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.#containers) await this.docker('rm', '--force', c).catch(() => undefined);
    await Promise.allSettled(this.#services.map((s) => s.stop()));
    await rm(this.#dataDir, { recursive: true, force: true });
  }
}

/**
 * Resolves once Docker reports the container healthy, rejects when it turns unhealthy or dies: `docker events`,
 * started before the container so that no event is missed.
 */
function healthEvents(engine: DockerEngine, name: string): { healthy: Promise<void>; close: () => void } {
  const events = spawn(
    'docker',
    [
      ...['events', '--filter', `container=${name}`, '--filter', 'event=health_status'],
      ...['--filter', 'event=die', '--format', '{{.Status}}'],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: engine.env },
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
async function startEdge(
  engine: DockerEngine,
  name: string,
  dataDir: string,
  containers: string[],
): Promise<Record<string, string>> {
  const [sip, evapi, ng, rtp] = [
    await freeTcpUdpPort(),
    await freePort(),
    await freeTcpUdpPort(),
    await freeTcpUdpPort(),
  ];
  const token = randomBytes(24).toString('base64url');
  const domain = 'ucc.image';
  const cfg = path.join(dataDir, 'kamailio.cfg');
  const config = configFromArgs([
    ...['--domain', domain, '--token', token, '--sip-port', String(sip), '--evapi-port', String(evapi)],
    ...['--rtpengine-ng-port', String(ng), '--children', '2'],
  ]);
  await writeFile(cfg, config, { mode: 0o600 });
  await chown(cfg, KAMAILIO_UID, KAMAILIO_UID);
  const run = async (suffix: string, ...rest: string[]): Promise<void> => {
    const container = `${name}-${suffix}`;
    await engine.docker('run', '--detach', '--network', 'host', '--name', container, ...rest);
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

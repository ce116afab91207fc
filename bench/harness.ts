/**
 * What the benchmarks share: a UccServer on the embedded services (a temporary data dir, its own config),
 * percentiles, the machine's facts, options, and writing bench/results/<name>-<date>.{json,md}.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadConfig, type Config } from '../server/config.js';
import { Database } from '../server/db/Database.js';
import type { Logger } from '../server/logger.js';
import { EmbeddedStack } from '../server/stack/EmbeddedStack.js';
import type { KamailioEndpoint } from '../server/stack/KamailioService.js';
import { freePort } from '../server/stack/ports.js';
import { RedisClients } from '../server/redis/RedisClients.js';
import { UccServer } from '../server/UccServer.js';
import { WorkerPool } from '../sfu/WorkerPool.js';

export interface Summary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
}

export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/** Nearest-rank percentiles, rounded to 0.1. */
export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  const round = (n: number): number => Math.round(n * 10) / 10;
  return {
    count: sorted.length,
    p50: round(at(0.5)),
    p95: round(at(0.95)),
    p99: round(at(0.99)),
    mean: round(sorted.reduce((s, x) => s + x, 0) / Math.max(1, sorted.length)),
    max: round(sorted.at(-1) ?? 0),
  };
}

/** What a result must say about where it was measured: the machine is shared, so its load too. */
export function machine(): {
  node: string;
  os: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  loadavg: number[];
} {
  return {
    node: process.version,
    os: `${process.platform} ${release()}`,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadavg: loadavg().map((n) => Math.round(n * 100) / 100),
  };
}

export interface BenchServer {
  config: Config;
  logger: Logger;
  db: Database;
  server: UccServer;
  baseUrl: string;
  /** The embedded Kamailio, when the bench asked for telephony and it is installed. */
  kamailio: KamailioEndpoint | undefined;
  /** Stops the server and the services and removes the data dir; reports failed steps and goes on. */
  close: () => Promise<void>;
}

/**
 * A UccServer against its own embedded FerretDB and Synapse (temporary data dir), listening on the port Synapse
 * pushes appservice transactions to. The config comes from an explicit environment, never from the caller's: a
 * bench is self-contained.
 */
export async function startBenchServer(
  name: string,
  /** Settings of this bench on top of the defaults (e.g. a chat rate limit it must not hit). */
  env: Record<string, string> = {},
  /** telephony: hand the embedded Kamailio to the server (the call APIs and the web phone), as main.ts does. */
  options: { telephony?: boolean } = {},
): Promise<BenchServer> {
  const dataDir = await mkdtemp(path.join(tmpdir(), `ucc-bench-${name}-`));
  const logger = pino({ level: 'warn' });
  const bridgePort = await freePort();
  const config = loadConfig({
    PORT: String(bridgePort),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    UCC_DATA_DIR: dataDir,
    MEDIASOUP_NUM_WORKERS: '1',
    UCC_JWT_SECRET: randomBytes(32).toString('base64url'),
    MATRIX_BRIDGE_URL: `http://127.0.0.1:${bridgePort}`,
    UCC_TURN: 'off',
    ...env,
  });
  const { cleanup, close } = cleanupSteps(() => rm(dataDir, { recursive: true, force: true }));
  try {
    const stack = await EmbeddedStack.create(config, logger);
    cleanup.unshift(() => stack.stop());
    const db = await Database.connect(stack.endpoints.mongodbUri, { dbName: `bench_${name}`, logger });
    cleanup.unshift(() => db.close());
    const pool = await WorkerPool.create({
      numWorkers: 1,
      listenIp: '127.0.0.1',
      webRtcPort: 0,
      logLevel: 'warn',
      logger,
    });
    cleanup.unshift(() => pool.close());
    const kamailio = options.telephony ? stack.endpoints.kamailio : undefined;
    // As main.ts: with Redis (the embedded one here), socket.io emits go through its adapter.
    const redisUrl = stack.endpoints.redisUrl;
    const redis = redisUrl ? await RedisClients.create({ url: redisUrl, logger }) : undefined;
    if (redis) cleanup.unshift(() => redis.close());
    const server = await UccServer.create({
      config,
      logger,
      db,
      pool,
      matrix: stack.endpoints.matrix,
      kamailio,
      redis,
    });
    cleanup.unshift(() => server.close());
    return { config, logger, db, server, baseUrl: `http://127.0.0.1:${server.port}`, kamailio, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * A bench's clean-up: steps run last-added first (`cleanup.unshift`), each failure reported and the rest still run.
 * `first` runs last (the data dir, say).
 */
export function cleanupSteps(first: () => Promise<void> | void): {
  cleanup: (() => Promise<void> | void)[];
  close: () => Promise<void>;
} {
  const cleanup: (() => Promise<void> | void)[] = [first];
  const close = async (): Promise<void> => {
    for (const step of cleanup.splice(0)) {
      try {
        await step();
      } catch (err) {
        process.stderr.write(`clean-up step failed: ${describe(err)}\n`);
      }
    }
  };
  return { cleanup, close };
}

/** The Markdown table of a bench's figures: n, p50, p95 and max of each measure. */
export function figuresTable(figures: Record<string, Summary>): string[] {
  return [
    '| measure | n | p50 ms | p95 ms | max ms |',
    '| --- | --- | --- | --- | --- |',
    ...Object.entries(figures).map(
      ([name, f]) => `| ${name} | ${f.count} | ${f.p50} | ${f.p95} | ${f.max} |`,
    ),
  ];
}

/** `--name N` from the command line, a whole number, or the fallback. */
export function wholeNumberOption(name: string, fallback: number): number {
  const argv = process.argv.slice(2);
  const i = argv.indexOf(`--${name}`);
  const n = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number`);
  return n;
}

/** `--name value` from the command line, or undefined. */
export function stringOption(name: string): string | undefined {
  const argv = process.argv.slice(2);
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** Writes bench/results/<name>-<date>.json and .md, and prints the Markdown. */
export async function publish(name: string, when: Date, json: unknown, md: string): Promise<void> {
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
  await mkdir(dir, { recursive: true });
  const stamp = when.toISOString().replace(/[:.]/g, '-');
  await writeFile(path.join(dir, `${name}-${stamp}.json`), `${JSON.stringify(json, null, 2)}\n`);
  await writeFile(path.join(dir, `${name}-${stamp}.md`), md);
  say(md);
  say(`written to bench/results/${name}-${stamp}.{json,md}`);
}

/** Runs a bench's main and exits: 0, or 1 after printing the error. */
export function run(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${describe(err)}\n`);
      process.exit(1);
    },
  );
}

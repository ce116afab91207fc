/**
 * Several server nodes for a bench (`--nodes N`): the embedded stack (FerretDB, Synapse, Redis) once, then N
 * `server/main.ts` processes on it, as a site runs them, behind Debian's HAProxy (test/harness/haproxy.ts, with the
 * meeting hash). Each node is a process of its own, so the figures show what a second core does for the nodes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig, REPO_ROOT, type Config } from '../server/config.js';
import { Database } from '../server/db/Database.js';
import { EmbeddedStack } from '../server/stack/EmbeddedStack.js';
import { freePort } from '../server/stack/ports.js';
import { startBalancer } from '../test/harness/haproxy.js';
import { cleanupSteps } from './harness.js';

/** One node process: its address, and how to kill it and start it again on the same port. */
export interface BenchNode {
  port: number;
  baseUrl: string;
  pid: () => number;
  /** Kills the process with `signal` and waits for its exit. */
  kill: (signal: NodeJS.Signals) => Promise<void>;
  /** Starts the node again (same port, same data dir) and waits until it is ready. */
  restart: () => Promise<void>;
}

export interface BenchNodes {
  config: Config;
  /** The database the nodes use (`ucc`, as main.ts names it). */
  db: Database;
  /** The balancer's address: what the clients use. */
  baseUrl: string;
  pids: number[];
  nodes: BenchNode[];
  close: () => Promise<void>;
}

/** What a process used so far, from /proc: CPU (user + system) in ms, and its resident memory now. */
export async function processUsage(pid: number): Promise<{ cpuMs: number; rssBytes: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces, inside parentheses): utime is the 14th, stime the 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  // Linux reports CPU time in clock ticks of 1/100 s (USER_HZ).
  return { cpuMs: ticks * 10, rssBytes: rssKiB * 1024 };
}

export async function startBenchNodes(
  name: string,
  count: number,
  /** The bench's settings, for every node. */
  env: Record<string, string>,
): Promise<BenchNodes> {
  const dataDir = await mkdtemp(path.join(tmpdir(), `ucc-bench-${name}-`));
  const logger = pino({ level: 'warn' });
  const bridgePort = await freePort();
  const jwtSecret = randomBytes(32).toString('base64url');
  const config = loadConfig({
    PORT: String(bridgePort),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    UCC_DATA_DIR: dataDir,
    UCC_JWT_SECRET: jwtSecret,
    MATRIX_BRIDGE_URL: `http://127.0.0.1:${bridgePort}`,
    UCC_TURN: 'off',
    UCC_TELEPHONY: 'off',
  });
  const { cleanup, close } = cleanupSteps(() => rm(dataDir, { recursive: true, force: true }));
  try {
    const stack = await EmbeddedStack.create(config, logger);
    cleanup.unshift(() => stack.stop());
    const { mongodbUri, matrix, redisUrl } = stack.endpoints;
    if (!redisUrl) throw new Error('several nodes need Redis: install redis-server (scripts/bootstrap)');
    const db = await Database.connect(mongodbUri, { dbName: 'ucc', logger });
    cleanup.unshift(() => db.close());
    const children: { child: ChildProcess; port: number; output: () => string }[] = [];
    cleanup.unshift(async () => {
      for (const { child } of children) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    });
    const spawnNode = (
      i: number,
      port: number,
    ): { child: ChildProcess; port: number; output: () => string } => {
      let output = '';
      const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: dataDir,
          PORT: String(port),
          HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
          UCC_DATA_DIR: path.join(dataDir, `node${i + 1}`),
          MEDIASOUP_NUM_WORKERS: '1',
          MEDIASOUP_WORKER_BIN: config.mediasoup.workerBin,
          MONGODB_URI: mongodbUri,
          REDIS_URL: redisUrl,
          MATRIX_HOMESERVER_URL: matrix.homeserverUrl,
          MATRIX_AS_TOKEN: matrix.asToken,
          MATRIX_HS_TOKEN: matrix.hsToken,
          MATRIX_SERVER_NAME: matrix.serverName,
          UCC_JWT_SECRET: jwtSecret,
          UCC_TURN: 'off',
          UCC_TELEPHONY: 'off',
          UCC_DEMO_DIRECTORY: 'off',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      return { child, port, output: () => output };
    };
    for (let i = 0; i < count; i++) children.push(spawnNode(i, await freePort()));
    await Promise.all(children.map((c) => ready(c)));
    const nodes: BenchNode[] = children.map((_, i) => ({
      port: children[i]?.port ?? 0,
      baseUrl: `http://127.0.0.1:${children[i]?.port ?? 0}`,
      pid: () => children[i]?.child.pid ?? 0,
      kill: async (signal) => {
        const c = children[i];
        if (!c || c.child.exitCode !== null || c.child.signalCode !== null) return;
        const exited = once(c.child, 'exit');
        c.child.kill(signal);
        await exited;
      },
      restart: async () => {
        const fresh = spawnNode(i, children[i]?.port ?? 0);
        children[i] = fresh;
        await ready(fresh);
      },
    }));
    const balancer = await startBalancer({ nodePorts: children.map((c) => c.port) });
    cleanup.unshift(() => balancer.close());
    return {
      config,
      db,
      baseUrl: balancer.baseUrl,
      pids: children.map((c) => c.child.pid ?? 0),
      nodes,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Waits for a node's /readyz; fails with its output if it exits or takes over two minutes. */
async function ready(node: { child: ChildProcess; port: number; output: () => string }): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (node.child.exitCode !== null)
      throw new Error(`a node exited (${node.child.exitCode}):\n${node.output()}`);
    const res = await fetch(`http://127.0.0.1:${node.port}/readyz`).catch(() => undefined);
    if (res?.status === 200) return;
    if (Date.now() > deadline) throw new Error(`a node was not ready in 2 minutes:\n${node.output()}`);
    // No readiness event to wait on from another process: polled, as a load balancer would.
    await new Promise((r) => setTimeout(r, 250));
  }
}

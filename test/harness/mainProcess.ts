import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../server/config.js';
import { freePort } from '../../server/stack/ports.js';
import { eventually } from './eventually.js';
import { testStack } from './testStack.js';

export { eventually } from './eventually.js';

/** `server/main.ts` run as `npm start` runs it: a process of its own, with its own embedded stack. */
export interface MainProcess {
  child: ChildProcess;
  port: number;
  dataDir: string;
  baseUrl: string;
  output: () => string;
}

export async function tempDataDir(prefix = 'ucc-main-'): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}

export async function startMain(env: Record<string, string>, dataDir?: string): Promise<MainProcess> {
  const dir = dataDir ?? (await tempDataDir());
  const port = await freePort();
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: REPO_ROOT,
    env: {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      HOME: dir,
      PORT: String(port),
      HOST: '127.0.0.1',
      UCC_DATA_DIR: dir,
      LOG_LEVEL: 'warn',
      MEDIASOUP_NUM_WORKERS: '1',
      MEDIASOUP_WORKER_BIN: testStack().config.mediasoup.workerBin,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return { child, port, dataDir: dir, baseUrl: `http://127.0.0.1:${port}`, output: () => output };
}

export interface Readiness {
  status: number;
  checks: Record<string, { ok: boolean; error?: string }>;
}

export async function readiness(s: MainProcess): Promise<Readiness> {
  const res = await fetch(`${s.baseUrl}/readyz`);
  const body = (await res.json()) as { checks: Readiness['checks'] };
  return { status: res.status, checks: body.checks };
}

export async function waitReady(s: MainProcess, timeoutMs: number): Promise<void> {
  await eventually(
    'ready',
    timeoutMs,
    async () => {
      if (s.child.exitCode !== null) assert.fail(`server exited with ${s.child.exitCode}:\n${s.output()}`);
      const res = await fetch(`${s.baseUrl}/readyz`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    },
    300,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${s.output()}`);
  });
}

/** JSON in and out, with an optional bearer token. */
export async function api(
  s: MainProcess,
  method: string,
  urlPath: string,
  options: { token?: string; body?: unknown } = {},
): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = {};
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${s.baseUrl}${urlPath}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

export async function login(s: MainProcess, extension: string, password: string): Promise<string> {
  const res = await api(s, 'POST', '/api/auth/login', { body: { extension, password } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body as { accessToken: string }).accessToken;
}

/** Processes whose command line mentions `text` (here: a stack's private data dir). */
export function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** Direct children of `pid` whose command line mentions `text`. */
export function childrenOf(pid: number, text: string): number[] {
  return processesMentioning(text).filter((child) => {
    try {
      const stat = readFileSync(`/proc/${child}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
    } catch {
      return false;
    }
  });
}

/** Gracefully (SIGINT), then SIGKILL if it hangs; removes the data dir unless `keepDir`. */
export async function stopMain(s: MainProcess, keepDir = false): Promise<void> {
  if (s.child.exitCode === null && s.child.signalCode === null) {
    const exited = once(s.child, 'exit');
    s.child.kill('SIGINT');
    const timer = setTimeout(() => s.child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }
  if (!keepDir) await rm(s.dataDir, { recursive: true, force: true });
}

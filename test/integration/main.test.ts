import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../server/config.js';
import { freePort } from '../../server/stack/ports.js';
import { testStack } from '../harness/testStack.js';

interface Started {
  child: ChildProcess;
  port: number;
  dataDir: string;
  output: () => string;
}

/** `server/main.ts` as `npm start` runs it, in its own process, with only the environment given here. */
async function startMain(env: Record<string, string>): Promise<Started> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'ucc-main-'));
  const port = await freePort();
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: REPO_ROOT,
    env: {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      HOME: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      UCC_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      MEDIASOUP_NUM_WORKERS: '1',
      MEDIASOUP_WORKER_BIN: testStack().config.mediasoup.workerBin,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return { child, port, dataDir, output: () => output };
}

async function waitReady(s: Started, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (s.child.exitCode !== null) assert.fail(`server exited with ${s.child.exitCode}:\n${s.output()}`);
    const res = await fetch(`http://127.0.0.1:${s.port}/readyz`).catch(() => undefined);
    if (res?.status === 200) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.fail(`not ready within ${timeoutMs} ms:\n${s.output()}`);
}

/** Processes whose command line mentions `text` (here: a stack's private data dir). */
function processesMentioning(text: string): number[] {
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

describe('npm start (server/main.ts as a process)', () => {
  const started: Started[] = [];

  afterEach(async () => {
    for (const s of started.splice(0)) {
      // Gracefully first, so that the server stops its FerretDB and Synapse; SIGKILL would orphan them.
      if (s.child.exitCode === null && s.child.signalCode === null) {
        const exited = once(s.child, 'exit');
        s.child.kill('SIGINT');
        const timer = setTimeout(() => s.child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(s.dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a wrong environment value with a message naming the variable', async function () {
    this.timeout(30_000);
    const s = await startMain({ PORT: 'not-a-port' });
    started.push(s);
    const [code] = (await once(s.child, 'exit')) as [number];
    assert.equal(code, 1);
    assert.match(s.output(), /Invalid configuration:\n\s+PORT: /);
  });

  it('runs two stacks side by side, each ready with its own FerretDB, Synapse, coturn and worker, and stops cleanly', async function () {
    this.timeout(240_000);
    const a = await startMain({ UCC_DEMO_PASSWORD: 'demo-pass' });
    const b = await startMain({ UCC_ADMIN_EXTENSION: '900', UCC_ADMIN_PASSWORD: 'admin-password' });
    started.push(a, b);
    await Promise.all([waitReady(a, 180_000), waitReady(b, 180_000)]);

    assert.match(a.output(), /200\s+Rossi Mario\s+pro\s+\(UCC_DEMO_PASSWORD\)/);
    // Without UCC_DEMO_PASSWORD a random password is printed once per user.
    assert.match(b.output(), /201\s+Bianchi Giulia\s+basic\s+\S{6,}/);

    // FerretDB, Synapse and coturn of stack a: each mentions its data dir on its command line.
    assert.equal(processesMentioning(a.dataDir).length, 3);
    a.child.kill('SIGINT');
    const [code] = (await once(a.child, 'exit')) as [number];
    assert.equal(code, 0, a.output());
    assert.deepEqual(processesMentioning(a.dataDir), [], 'a child survived the shutdown');
    assert.equal(existsSync(path.join(a.dataDir, 'ferretdb')), true);
    assert.doesNotMatch(a.output(), /crashed/);

    // The other stack is unaffected.
    assert.equal((await fetch(`http://127.0.0.1:${b.port}/readyz`)).status, 200);
  });
});

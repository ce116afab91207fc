import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ManagedProcess, StartError } from '../../server/stack/ManagedProcess.js';
import { testStack } from '../harness/testStack.js';

describe('ManagedProcess', () => {
  let dir: string;
  let proc: ManagedProcess | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ucc-proc-'));
  });

  afterEach(async () => {
    await proc?.stop(1_000);
    proc = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  function start(
    script: string,
    healthy: () => Promise<boolean>,
    startTimeoutMs = 5_000,
  ): Promise<ManagedProcess> {
    return ManagedProcess.start({
      name: 'child',
      command: process.execPath,
      args: ['-e', script],
      logFile: path.join(dir, 'child.log'),
      logger: testStack().logger,
      healthCheck: healthy,
      startTimeoutMs,
      pollIntervalMs: 20,
    });
  }

  it('reports a child that dies after start-up as crashed, with its last output', async () => {
    const ready = path.join(dir, 'ready');
    const script = `console.log("serving"); require("fs").writeFileSync(${JSON.stringify(ready)}, ""); setInterval(() => {}, 1000)`;
    proc = await start(script, () => Promise.resolve(existsSync(ready)));
    const crashed = once(proc, 'crashed');
    assert.ok(proc.pid);
    process.kill(proc.pid, 'SIGKILL');
    const [info] = (await crashed) as [{ signal: string; lastOutput: string }];
    assert.equal(info.signal, 'SIGKILL');
    assert.match(info.lastOutput, /serving/);
    assert.match(await readFile(path.join(dir, 'child.log'), 'utf8'), /serving/);
  });

  it('fails start-up with the child output when the child exits early', async () => {
    await assert.rejects(
      start('console.error("bad flag --x"); process.exit(3)', () => Promise.resolve(false)),
      (err: unknown) =>
        err instanceof StartError &&
        /exited during start-up/.test(err.message) &&
        /bad flag/.test(err.message),
    );
  });

  it('fails start-up when the child never becomes healthy, and kills it', async () => {
    await assert.rejects(
      start('setInterval(() => {}, 1000)', () => Promise.resolve(false), 300),
      /did not become healthy within 300 ms/,
    );
  });

  it('stops a child without reporting a crash, idempotently', async () => {
    proc = await start('setInterval(() => {}, 1000)', () => Promise.resolve(true));
    let crashed = false;
    proc.on('crashed', () => (crashed = true));
    await Promise.all([proc.stop(1_000), proc.stop(1_000)]);
    assert.equal(proc.running, false);
    assert.equal(crashed, false);
  });
});

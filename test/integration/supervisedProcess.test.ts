import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ManualClock } from '../../server/clock.js';
import { readPidFile } from '../../server/stack/pidfiles.js';
import { restartDelayMs, SupervisedProcess } from '../../server/stack/SupervisedProcess.js';
import { testStack } from '../harness/testStack.js';

const POLICY = { initialDelayMs: 1_000, maxDelayMs: 3_000, stableAfterMs: 60_000 };

describe('SupervisedProcess (restart with backoff)', () => {
  let dir: string;
  let clock: ManualClock;
  let proc: SupervisedProcess | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ucc-sup-'));
    clock = new ManualClock();
  });

  afterEach(async () => {
    await proc?.stop(1_000);
    proc = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  /** A child that marks itself ready with a file, so that each start (and restart) is healthy only once it ran. */
  async function start(): Promise<SupervisedProcess> {
    const ready = path.join(dir, 'ready');
    const script = `require("fs").writeFileSync(${JSON.stringify(ready)}, String(process.pid)); setInterval(() => {}, 1000)`;
    return SupervisedProcess.start(
      {
        name: 'child',
        command: process.execPath,
        args: ['-e', script],
        logFile: path.join(dir, 'child.log'),
        pidFile: path.join(dir, 'child.pid'),
        logger: testStack().logger,
        healthCheck: async () => existsSync(ready) && Number(await readFile(ready, 'utf8')) > 0,
        startTimeoutMs: 10_000,
        pollIntervalMs: 20,
      },
      POLICY,
      clock,
    );
  }

  async function crash(p: SupervisedProcess): Promise<{ restartInMs: number }> {
    const crashed = once(p, 'crashed');
    await unlink(path.join(dir, 'ready'));
    assert.ok(p.pid);
    process.kill(p.pid, 'SIGKILL');
    const [info] = (await crashed) as [{ restartInMs: number }];
    return info;
  }

  it('doubles the wait after each crash in a row, up to the cap', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 10].map((n) => restartDelayMs(POLICY, n)),
      [1_000, 2_000, 3_000, 3_000, 3_000],
    );
  });

  it('restarts a crashed child after the backoff, says it is down meanwhile, and records its new pid', async () => {
    proc = await start();
    const firstPid = proc.pid;
    await proc.check();
    assert.equal(readPidFile(path.join(dir, 'child.pid'))?.pid, firstPid);

    const info = await crash(proc);
    assert.equal(info.restartInMs, 1_000);
    assert.equal(proc.state, 'restarting');
    await assert.rejects(proc.check(), /child is restarting \(exited with SIGKILL; 1 in a row\)/);

    // Nothing happens before the wait is over.
    clock.advance(999);
    assert.equal(proc.state, 'restarting');
    const restarted = once(proc, 'restarted');
    clock.advance(1);
    await restarted;
    assert.equal(proc.state, 'running');
    await proc.check();
    assert.notEqual(proc.pid, firstPid);
    assert.equal(readPidFile(path.join(dir, 'child.pid'))?.pid, proc.pid);
  });

  it('waits longer after repeated crashes and starts over once the child was stable', async () => {
    proc = await start();
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      delays.push((await crash(proc)).restartInMs);
      const restarted = once(proc, 'restarted');
      clock.advance(delays.at(-1) ?? 0);
      await restarted;
    }
    assert.deepEqual(delays, [1_000, 2_000, 3_000]);
    clock.advance(POLICY.stableAfterMs);
    assert.equal((await crash(proc)).restartInMs, 1_000);
  });

  it('never restarts a child once stopped, even when stopped during the backoff', async () => {
    proc = await start();
    await crash(proc);
    let restarted = false;
    proc.on('restarted', () => (restarted = true));
    await proc.stop(1_000);
    clock.advance(10_000);
    assert.equal(proc.state, 'stopped');
    assert.equal(restarted, false);
    await assert.rejects(proc.check(), /child is stopped/);
    assert.equal(existsSync(path.join(dir, 'child.pid')), false);
  });
});

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WorkerPool } from '../../sfu/WorkerPool.js';
import { testStack } from '../harness/testStack.js';

describe('WorkerPool', () => {
  let pool: WorkerPool;

  beforeEach(async () => {
    pool = await WorkerPool.create({
      numWorkers: 1,
      listenIp: '127.0.0.1',
      webRtcPort: 0,
      logLevel: 'warn',
      logger: testStack().logger,
    });
  });

  afterEach(() => {
    pool.close();
  });

  it('gives each worker a WebRtcServer with a bound UDP and TCP port', () => {
    const [w] = pool.workers;
    assert.ok(w);
    assert.ok((w.ports.udp ?? 0) > 0);
    assert.ok((w.ports.tcp ?? 0) > 0);
  });

  it('reports a killed worker and replaces it in the same slot', async () => {
    const [w] = pool.workers;
    assert.ok(w);
    const deadPid = w.worker.pid;
    const died = once(pool, 'workerdied');
    const replaced = once(pool, 'workerreplaced');
    process.kill(deadPid, 'SIGKILL');
    const [info] = (await died) as [{ index: number; pid: number }];
    assert.equal(info.pid, deadPid);
    assert.equal(pool.deaths, 1);
    const [replacement] = (await replaced) as [{ index: number; pid: number }];
    assert.equal(replacement.index, 0);
    assert.notEqual(replacement.pid, deadPid);
    assert.equal(pool.workers.length, 1);
    assert.equal((await pool.resourceUsage()).length, 1);
  });

  it('closes idempotently and leaves no worker running', async () => {
    const pid = pool.workers[0]?.worker.pid;
    assert.ok(pid);
    pool.close();
    pool.close();
    assert.equal(pool.workers.length, 0);
    // The worker process goes away shortly after close.
    for (let i = 0; i < 50 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(isAlive(pid), false);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

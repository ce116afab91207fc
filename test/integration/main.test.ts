import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { processesMentioning, startMain, waitReady, type MainProcess } from '../harness/mainProcess.js';

describe('npm start (server/main.ts as a process)', () => {
  const started: MainProcess[] = [];

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

    // FerretDB, Synapse, coturn, rtpengine and Kamailio (several processes) of stack a: each mentions its data
    // dir on its command line.
    assert.ok(processesMentioning(a.dataDir).length >= 5);
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

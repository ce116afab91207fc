import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { REPO_ROOT } from '../../server/config.js';

/** Runs `body` in a fresh node process with the guards installed; resolves with its exit code and output. */
async function runGuarded(body: string): Promise<{ code: number | null; output: string }> {
  const script = `
    import { pino } from 'pino';
    import { installProcessGuards } from './server/processGuards.ts';
    const logger = pino({ level: 'info' });
    installProcessGuards(logger, async (reason, code) => {
      console.log('shutdown:' + reason);
      process.exit(code);
    });
    ${body}
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

describe('process guards (server/processGuards.ts)', () => {
  it('logs an unhandled rejection and keeps the process running', async function () {
    this.timeout(30_000);
    const { code, output } = await runGuarded(`
      void Promise.reject(new Error('forgotten'));
      // Rejections are judged once the microtasks drain, before any immediate runs: without the guard, node
      // would have exited with an error before this line prints.
      setImmediate(() => { console.log('still alive'); process.exit(0); });
    `);
    assert.equal(code, 0, output);
    assert.match(output, /unhandled promise rejection/);
    assert.match(output, /still alive/);
  });

  it('shuts down cleanly with exit code 1 after an uncaught exception', async function () {
    this.timeout(30_000);
    const { code, output } = await runGuarded(
      `setTimeout(() => { throw new Error('nobody caught me'); }, 0);`,
    );
    assert.equal(code, 1, output);
    assert.match(output, /uncaught exception; shutting down/);
    assert.match(output, /shutdown:uncaught exception/);
  });
});

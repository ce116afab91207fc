import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isAlive, recordOf, writePidFile } from '../../server/stack/pidfiles.js';
import type { ChatMessageView, ChatRoomView } from '../../shared/schemas/chat.js';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import {
  api,
  eventually,
  login,
  processesMentioning,
  startMain,
  stopMain,
  tempDataDir,
  waitReady,
  type MainProcess,
} from '../harness/mainProcess.js';

const ENV = {
  UCC_DEMO_PASSWORD: 'demo-pass',
  UCC_ADMIN_EXTENSION: '900',
  UCC_ADMIN_PASSWORD: 'admin-password',
};

/** Files and folders under `dir` that group or others may read, write or enter. */
function widelyReadable(dir: string): string[] {
  const found: string[] = [];
  const walk = (p: string): void => {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if ((st.mode & 0o077) !== 0)
      found.push(`${path.relative(dir, p) || '.'} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(path.join(p, name));
  };
  walk(dir);
  return found;
}

/** A process that stands for a child a dead server left behind (only its pidfile ties it to the dir). */
async function leftover(): Promise<number> {
  const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  child.unref();
  await once(child, 'spawn');
  assert.ok(child.pid);
  return child.pid;
}

describe('no orphans: one stack per data dir, children die with the server', () => {
  let dataDir: string;
  const running: MainProcess[] = [];

  before(async () => {
    dataDir = await tempDataDir('ucc-orphans-');
  });

  after(async () => {
    for (const s of running.splice(0)) await stopMain(s, true);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps the data dir private (0700, files 0600, secrets never on a command line) and refuses a second server on it', async function () {
    this.timeout(240_000);
    // As an older version left it: world-readable.
    await chmod(dataDir, 0o755);
    await writeFile(path.join(dataDir, 'jwt.secret'), 'an-old-jwt-secret-of-at-least-32-characters', {
      mode: 0o644,
    });
    await chmod(path.join(dataDir, 'jwt.secret'), 0o644);

    const first = await startMain(ENV, dataDir);
    running.push(first);
    await waitReady(first, 180_000);
    assert.deepEqual(widelyReadable(dataDir), []);

    const secrets = [
      await readFile(path.join(dataDir, 'turn.secret'), 'utf8'),
      ...Object.values(
        JSON.parse(await readFile(path.join(dataDir, 'synapse', 'secrets.json'), 'utf8')) as string[],
      ),
    ].map((s) => s.trim());
    const children = processesMentioning(dataDir);
    // FerretDB, Synapse, coturn, rtpengine, and Kamailio (its unshare wrapper and several workers).
    const names = new Set(children.map((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim()));
    for (const name of ['ferretdb', 'turnserver', 'rtpengine', 'kamailio']) {
      assert.ok(names.has(name), `${name} among ${[...names].join(', ')}`);
    }
    for (const pid of children) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      for (const secret of secrets)
        assert.equal(argv.includes(secret), false, `a secret on the command line: ${argv}`);
    }

    const second = await startMain(ENV, dataDir);
    const [code] = (await once(second.child, 'exit')) as [number];
    assert.equal(code, 1, second.output());
    assert.match(
      second.output(),
      new RegExp(`UCC_DATA_DIR ${dataDir} is in use by .* pid ${first.child.pid}`),
    );
    // The refused start touched nothing: the first one still serves.
    assert.equal((await fetch(`${first.baseUrl}/readyz`)).status, 200);
  });

  it('after a SIGKILL of the server, leaves no child behind; a new start takes the dir over and finds every meeting, user and message', async function () {
    this.timeout(300_000);
    const first = running[0];
    assert.ok(first, 'the first test started the server');
    const mario = await login(first, '200', 'demo-pass');
    const admin = await login(first, '900', 'admin-password');
    const giulia = (
      (await api(first, 'GET', '/api/directory?q=201', { token: mario })).body as { items: { id: string }[] }
    ).items[0];
    assert.ok(giulia);
    const meeting = await api(first, 'POST', '/api/meetings', {
      token: mario,
      body: { title: 'Before the crash', startAt: new Date().toISOString(), durationMinutes: 60 },
    });
    assert.equal(meeting.status, 201, JSON.stringify(meeting.body));
    const user = await api(first, 'POST', '/api/directory/users', {
      token: admin,
      body: { extension: '777', firstName: 'Nuovo', lastName: 'Collega', password: 'password-777' },
    });
    assert.equal(user.status, 201, JSON.stringify(user.body));
    const dm = await api(first, 'POST', '/api/chat/dms', { token: mario, body: { userId: giulia.id } });
    const roomId = (dm.body as ChatRoomView).roomId;
    const sent = await api(first, 'POST', `/api/chat/rooms/${encodeURIComponent(roomId)}/messages`, {
      token: mario,
      body: { body: 'Scritto prima del crash' },
    });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));

    const exited = once(first.child, 'exit');
    first.child.kill('SIGKILL');
    await exited;
    running.splice(0);
    // PR_SET_PDEATHSIG: the kernel ends every child with the server.
    await eventually('no child of the killed server left', 2_000, () =>
      processesMentioning(dataDir).length === 0 ? true : undefined,
    );

    // A child the dead server left running (as without pdeathsig): the next start must end it first.
    const stray = await leftover();
    const strayRecord = recordOf(stray);
    assert.ok(strayRecord);
    await mkdir(path.join(dataDir, 'run'), { recursive: true });
    writePidFile(path.join(dataDir, 'run', 'ferretdb.pid'), strayRecord);

    const again = await startMain({ ...ENV, UCC_SHUTDOWN_TIMEOUT_MS: '1' }, dataDir);
    running.push(again);
    await waitReady(again, 180_000);
    assert.equal(isAlive(strayRecord), false, 'the leftover child still runs');
    assert.match(again.output(), /taking over the stale lock/);

    const token = await login(again, '200', 'demo-pass');
    const meetings = (await api(again, 'GET', '/api/meetings?scope=upcoming', { token })).body as {
      items: MeetingView[];
    };
    assert.ok(meetings.items.some((m) => m.title === 'Before the crash'));
    await login(again, '777', 'password-777');
    const messages = (
      await api(again, 'GET', `/api/chat/rooms/${encodeURIComponent(roomId)}/messages`, { token })
    ).body as { items: ChatMessageView[] };
    assert.ok(
      messages.items.some((m) => m.body === 'Scritto prima del crash'),
      JSON.stringify(messages),
    );

    // A shutdown that outlasts UCC_SHUTDOWN_TIMEOUT_MS (1 ms here) still ends every child before exiting.
    const stopped = once(again.child, 'exit');
    again.child.kill('SIGINT');
    await stopped;
    running.splice(0);
    assert.match(again.output(), /shutdown timed out/);
    await eventually('no child left after the timed-out shutdown', 2_000, () =>
      processesMentioning(dataDir).length === 0 ? true : undefined,
    );
  });
});

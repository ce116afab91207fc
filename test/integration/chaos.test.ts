import assert from 'node:assert/strict';
import path from 'node:path';
import { readPidFile } from '../../server/stack/pidfiles.js';
import type { Ack, TransportInfo } from '../../shared/protocol.js';
import type { ChatMessageView, ChatRoomView } from '../../shared/schemas/chat.js';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import {
  api,
  childrenOf,
  eventually,
  login,
  readiness,
  startMain,
  stopMain,
  waitReady,
  type MainProcess,
} from '../harness/mainProcess.js';
import { nextEvent, request, SocketPool, type ClientSocket } from '../harness/sockets.js';
import { turnAllocate } from '../harness/turnClient.js';

function ok<T>(ack: Ack<T>): T {
  assert.ok(ack.ok, `request failed: ${JSON.stringify(ack)}`);
  return ack.data;
}

/**
 * Chaos on a real stack of its own (server/main.ts with its FerretDB, Synapse, coturn and worker): each child is
 * SIGKILLed during a call; it comes back, /readyz says what is down meanwhile, clients carry on, nothing is lost.
 */
describe('chaos: children of the stack killed during a call', () => {
  let s: MainProcess;
  let sockets: SocketPool;
  let socket: ClientSocket;
  let mario: string;
  let giuliaId: string;
  let roomId: string;
  let meeting: MeetingView;
  let recv: TransportInfo;

  before(async function () {
    this.timeout(240_000);
    s = await startMain({
      UCC_DEMO_PASSWORD: 'demo-pass',
      // Long enough that /readyz is seen failing before the child is back.
      UCC_RESTART_INITIAL_DELAY_MS: '1500',
    });
    await waitReady(s, 180_000);
    mario = await login(s, '200', 'demo-pass');
    const found = (await api(s, 'GET', '/api/directory?q=201', { token: mario })).body as {
      items: { id: string }[];
    };
    giuliaId = found.items[0]?.id ?? '';
    const dm = await api(s, 'POST', '/api/chat/dms', { token: mario, body: { userId: giuliaId } });
    roomId = (dm.body as ChatRoomView).roomId;
    assert.equal(
      (
        await api(s, 'POST', `/api/chat/rooms/${encodeURIComponent(roomId)}/messages`, {
          token: mario,
          body: { body: 'first' },
        })
      ).status,
      201,
    );
    const created = await api(s, 'POST', '/api/meetings', {
      token: mario,
      body: { title: 'Chaos', startAt: new Date().toISOString(), durationMinutes: 120 },
    });
    meeting = created.body as MeetingView;

    sockets = new SocketPool(s.baseUrl);
    socket = await sockets.connect(mario);
    const joined = ok(await request(socket, { type: 'meeting.join', meetingId: meeting.id }));
    assert.equal(joined.state, 'joined');
    const caps = ok(await request(socket, { type: 'media.getRouterRtpCapabilities' })).rtpCapabilities;
    recv = ok(await request(socket, { type: 'media.createTransport', direction: 'recv' }));
    ok(await request(socket, { type: 'media.ready', rtpCapabilities: caps }));
  });

  after(async function () {
    this.timeout(60_000);
    sockets.closeAll();
    await stopMain(s);
  });

  /** SIGKILLs the child recorded in run/<name>.pid, then waits for /readyz to name it and for it to be back. */
  async function killAndWatch(name: 'ferretdb' | 'synapse' | 'coturn'): Promise<void> {
    const before = readPidFile(path.join(s.dataDir, 'run', `${name}.pid`));
    assert.ok(before, `no pidfile for ${name}`);
    process.kill(before.pid, 'SIGKILL');
    const down = await eventually(`/readyz names ${name}`, 30_000, async () => {
      const r = await readiness(s);
      return r.status === 503 && r.checks[name]?.ok === false ? r : undefined;
    });
    assert.match(down.checks[name]?.error ?? '', /restarting \(exited with SIGKILL/);
    await eventually(`${name} back and /readyz 200`, 120_000, async () =>
      (await readiness(s)).status === 200 ? true : undefined,
    );
    const after = readPidFile(path.join(s.dataDir, 'run', `${name}.pid`));
    assert.ok(after && after.pid !== before.pid, `${name} was not restarted`);
    // The server itself never went down: the socket in the meeting is still there and answers.
    assert.equal(socket.connected, true);
    ok(await request(socket, { type: 'hello', client: 'chaos' }));
  }

  it('FerretDB: restarted on the same URI; REST works again and saved data is there', async function () {
    this.timeout(180_000);
    await killAndWatch('ferretdb');
    const list = await api(s, 'GET', '/api/meetings?scope=upcoming', { token: mario });
    assert.equal(list.status, 200);
    assert.ok((list.body as { items: MeetingView[] }).items.some((m) => m.id === meeting.id));
    await login(s, '201', 'demo-pass');
  });

  it('Synapse: restarted on the same URL; a chat message sends again and the earlier one is kept', async function () {
    this.timeout(180_000);
    await killAndWatch('synapse');
    const room = `/api/chat/rooms/${encodeURIComponent(roomId)}/messages`;
    // The bridge may need a moment after /health to serve sends again: retry until one goes through, once.
    await eventually('a chat message sends after Synapse is back', 60_000, async () => {
      const res = await api(s, 'POST', room, {
        token: mario,
        body: { body: 'after', clientTxnId: 'chaos-after-1' },
      });
      return res.status === 201 ? true : undefined;
    });
    const items = ((await api(s, 'GET', room, { token: mario })).body as { items: ChatMessageView[] }).items;
    assert.deepEqual(
      items.map((m) => m.body).filter((b) => b === 'first' || b === 'after'),
      ['after', 'first'],
    );
  });

  it('coturn: restarted on the same port; the TURN credentials handed out before still allocate', async function () {
    this.timeout(180_000);
    await killAndWatch('coturn');
    const turn = recv.iceServers[0];
    assert.ok(turn?.username && turn.credential, 'the transport came with TURN credentials');
    const port = Number(/:(\d+)\?/.exec(String(turn.urls))?.[1]);
    const result = await turnAllocate(port, turn.username, turn.credential);
    assert.ok(result.ok, `refused with ${result.ok ? '' : result.code}`);
  });

  it('mediasoup worker: replaced; the participant is told media.restart and can run the media flow again', async function () {
    this.timeout(120_000);
    const serverPid = s.child.pid ?? 0;
    const [worker] = childrenOf(serverPid, 'mediasoup-worker');
    assert.ok(worker, 'the server runs a worker');
    const restart = nextEvent(socket, 'media.restart', 30_000);
    process.kill(worker, 'SIGKILL');
    assert.ok((await restart).reason);
    await eventually('a new worker', 60_000, () => {
      const now = childrenOf(serverPid, 'mediasoup-worker');
      return now.length === 1 && now[0] !== worker ? true : undefined;
    });
    await eventually('/readyz 200', 60_000, async () =>
      (await readiness(s)).status === 200 ? true : undefined,
    );
    // The meeting's router is rebuilt on the replacement worker right after it is in the pool.
    const caps = await eventually('router capabilities again', 30_000, async () => {
      const ack = await request(socket, { type: 'media.getRouterRtpCapabilities' });
      return ack.ok ? ack.data.rtpCapabilities : undefined;
    });
    ok(await request(socket, { type: 'media.createTransport', direction: 'recv' }));
    ok(await request(socket, { type: 'media.ready', rtpCapabilities: caps }));
    assert.equal(socket.connected, true);
  });
});

/**
 * The socket.io clients of bench:signaling, run as a child process: their connections, JSON and timers are off
 * the server's process, so its CPU and RSS are the server's own. The parent sends the meetings (tokens made
 * beforehand); this side plays the morning and sends back every latency it saw.
 */
import { io, type Socket } from 'socket.io-client';
import type { Ack, ClientToServerEvents, JoinOutcome, ServerToClientEvents } from '../shared/protocol.js';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface BenchMeeting {
  meetingId: string;
  organizerToken: string;
  guestTokens: string[];
  /** waiting: the guests are in before the organizer starts; live: the organizer is in before the guests. */
  kind: 'waiting' | 'live' | 'crowd';
}

export interface SignalingClientsData {
  baseUrl: string;
  meetings: BenchMeeting[];
  timeoutMs: number;
}

export interface SignalingSamples {
  connectMs: number[];
  /** A guest's meeting.join ack on a meeting already live (state joined). */
  joinAckMs: number[];
  /** The organizer's meeting.join sent → each waiting guest's meeting.admitted (the 10-socket meetings). */
  admittedMs: number[];
  /** The same in the one big meeting. */
  crowdAdmittedMs: number[];
  errors: string[];
  sockets: number;
}

export type FromClients = { type: 'ready' } | { type: 'done'; samples: SignalingSamples };
export type ToClients = { type: 'start'; data: SignalingClientsData };

const samples: SignalingSamples = {
  connectMs: [],
  joinAckMs: [],
  admittedMs: [],
  crowdAdmittedMs: [],
  errors: [],
  sockets: 0,
};
const open: ClientSocket[] = [];
let timeoutMs = 60_000;

function send(m: FromClients): void {
  process.send?.(m);
}

/** `meetingId`: sent as `?meeting=`, as the web app's meeting socket does, so a balancer keeps a meeting on one node. */
async function connect(baseUrl: string, token: string, meetingId: string): Promise<ClientSocket> {
  const t0 = performance.now();
  const socket: ClientSocket = io(baseUrl, {
    transports: ['websocket'],
    auth: { token },
    query: { meeting: meetingId },
    reconnection: false,
    timeout: timeoutMs,
  });
  open.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  samples.connectMs.push(performance.now() - t0);
  samples.sockets += 1;
  return socket;
}

async function join(socket: ClientSocket, meetingId: string): Promise<JoinOutcome> {
  const ack = (await socket
    .timeout(timeoutMs)
    .emitWithAck('request', { type: 'meeting.join', meetingId })) as Ack<JoinOutcome>;
  if (!ack.ok) throw new Error(`meeting.join: ${ack.error.code} ${ack.error.message}`);
  return ack.data;
}

function admitted(socket: ClientSocket): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no meeting.admitted in time')), timeoutMs);
    socket.once('meeting.admitted', () => {
      clearTimeout(timer);
      resolve(performance.now());
    });
  });
}

/** Records a failure instead of stopping the run: errors are one of the figures. */
async function attempt<T>(what: string, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (err) {
    samples.errors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

/** Guests knock first; returns, per guest in the lobby, when they will be admitted. */
async function knock(baseUrl: string, m: BenchMeeting): Promise<Promise<number>[]> {
  const waits = await Promise.all(
    m.guestTokens.map((token) =>
      attempt('waiting guest', async () => {
        const socket = await connect(baseUrl, token, m.meetingId);
        const admission = admitted(socket);
        // A rejection before anyone awaits it is not unhandled: it is awaited in start().
        admission.catch(() => undefined);
        const outcome = await join(socket, m.meetingId);
        if (outcome.state !== 'waiting') throw new Error(`expected to wait, got ${outcome.state}`);
        // Wrapped: an async function returning the promise itself would wait for the admission here.
        return { admission };
      }),
    ),
  );
  return waits.flatMap((w) => (w ? [w.admission] : []));
}

async function start(
  baseUrl: string,
  m: BenchMeeting,
  waits: Promise<number>[],
  into: number[],
): Promise<void> {
  await attempt('organizer start', async () => {
    const socket = await connect(baseUrl, m.organizerToken, m.meetingId);
    const t0 = performance.now();
    const outcome = await join(socket, m.meetingId);
    if (outcome.state !== 'joined') throw new Error(`organizer got ${outcome.state}`);
    for (const w of waits) {
      const at = await attempt('admission', () => w);
      if (at !== undefined) into.push(at - t0);
    }
  });
}

async function liveGuests(baseUrl: string, m: BenchMeeting): Promise<void> {
  await Promise.all(
    m.guestTokens.map((token) =>
      attempt('live guest', async () => {
        const socket = await connect(baseUrl, token, m.meetingId);
        const t0 = performance.now();
        const outcome = await join(socket, m.meetingId);
        samples.joinAckMs.push(performance.now() - t0);
        if (outcome.state !== 'joined') throw new Error(`live guest got ${outcome.state}`);
      }),
    ),
  );
}

async function play(data: SignalingClientsData): Promise<void> {
  timeoutMs = data.timeoutMs;
  const { baseUrl, meetings } = data;
  const waiting = meetings.filter((m) => m.kind === 'waiting');
  const live = meetings.filter((m) => m.kind === 'live');
  const crowd = meetings.filter((m) => m.kind === 'crowd');
  // Before nine: the organizers of the live half are in, the guests of the other half and of the crowd knock.
  await Promise.all(live.map((m) => start(baseUrl, m, [], [])));
  const lobbies = await Promise.all(waiting.map((m) => knock(baseUrl, m)));
  const crowdLobbies = await Promise.all(crowd.map((m) => knock(baseUrl, m)));
  // Nine o'clock, all at once: organizers start, guests of the live meetings join, the crowd's organizer starts.
  await Promise.all([
    ...waiting.map((m, i) => start(baseUrl, m, lobbies[i] ?? [], samples.admittedMs)),
    ...live.map((m) => liveGuests(baseUrl, m)),
    ...crowd.map((m, i) => start(baseUrl, m, crowdLobbies[i] ?? [], samples.crowdAdmittedMs)),
  ]);
}

process.on('message', (m: ToClients) => {
  if (m.type !== 'start') return;
  play(m.data)
    .catch((err: unknown) => samples.errors.push(`run: ${String(err)}`))
    .finally(() => {
      for (const s of open) s.disconnect();
      send({ type: 'done', samples });
    });
});
send({ type: 'ready' });

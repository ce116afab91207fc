/**
 * The clients of bench:abuse, run in a worker thread: their JSON, HTTP and socket.io work (and their garbage) stay
 * off the server's event loop and heap, so the delay the bench measures is the server's own. The main thread
 * starts the server and measures; this side sends each phase's messages and waits for each to come back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../shared/protocol.js';
import { fill, PATTERNS } from './abusePatterns.js';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface AbuseClientsData {
  baseUrl: string;
  alice: { id: string; token: string };
  bob: { id: string; token: string };
  messages: number;
  /** The PATTERNS names to send (all when the bench runs without --only). */
  patterns: string[];
}

/** worker → main: a phase begins (main answers 'go' once it measures) or ends (main answers 'next'). */
export type ToMain =
  | { type: 'begin'; pattern: string; path: string }
  | { type: 'end' }
  | { type: 'done' }
  | { type: 'failed'; message: string };
export type ToWorker = { type: 'go' } | { type: 'next' };

const DELIVERY_TIMEOUT_MS = 30_000;

const port = parentPort;
if (!port) throw new Error('abuseClients runs as a worker thread');
const data = workerData as AbuseClientsData;

const answers: ((m: ToWorker) => void)[] = [];
port.on('message', (m: ToWorker) => answers.shift()?.(m));
const ask = (m: ToMain): Promise<ToWorker> =>
  new Promise((resolve) => {
    answers.push(resolve);
    port.postMessage(m);
  });

async function api<T>(method: string, url: string, token: string, body: unknown): Promise<T> {
  const res = await fetch(`${data.baseUrl}${url}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${(await res.text()).slice(0, 300)}`);
  return (await res.json()) as T;
}

const sockets: ClientSocket[] = [];
async function connect(token: string): Promise<ClientSocket> {
  const socket: ClientSocket = io(data.baseUrl, {
    transports: ['websocket'],
    auth: { token },
    reconnection: false,
  });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

async function main(): Promise<void> {
  const { alice, bob } = data;
  // Deliveries are matched by the tag at the start of each body.
  const waiting = new Map<string, () => void>();
  const arrived = (body: string): void => {
    const tag = body.replace(/^\* /, '').split(' ', 1)[0] ?? '';
    waiting.get(tag)?.();
  };
  const bobSocket = await connect(bob.token);
  bobSocket.on('chat.message', (m) => arrived(m.body));
  const aliceSocket = await connect(alice.token);
  aliceSocket.on('meeting.chat.message', (m) => arrived(m.body));
  const delivered = (tag: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${tag} not delivered`)), DELIVERY_TIMEOUT_MS);
      waiting.set(tag, () => {
        clearTimeout(timer);
        waiting.delete(tag);
        resolve();
      });
    });

  const { roomId } = await api<{ roomId: string }>('POST', '/api/chat/dms', alice.token, { userId: bob.id });
  const messagesPath = `/api/chat/rooms/${encodeURIComponent(roomId)}/messages`;
  const meeting = await api<{ id: string }>('POST', '/api/meetings', alice.token, {
    title: 'bench:abuse',
    startAt: new Date().toISOString(),
    durationMinutes: 60,
  });
  const ack = await aliceSocket.emitWithAck('request', { type: 'meeting.join', meetingId: meeting.id });
  if (!ack.ok) throw new Error(`meeting.join: ${JSON.stringify(ack.error)}`);
  // One message first: the meeting's room is created on first use, which is not what is measured.
  const first = delivered('warmup');
  const warm = await aliceSocket.emitWithAck('request', { type: 'meeting.chat.send', body: 'warmup ciao' });
  if (!warm.ok) throw new Error(`meeting.chat.send: ${JSON.stringify(warm.error)}`);
  await first;
  const { eventId: original } = await api<{ eventId: string }>('POST', messagesPath, alice.token, {
    body: 'original da correggere',
  });

  const paths: Record<string, (body: string) => Promise<void>> = {
    'REST send': async (body) => {
      await api('POST', messagesPath, alice.token, { body });
    },
    'REST edit': async (body) => {
      await api('PUT', `${messagesPath}/${encodeURIComponent(original)}`, alice.token, { body });
    },
    'meeting.chat.send': async (body) => {
      const res = await aliceSocket.emitWithAck('request', { type: 'meeting.chat.send', body });
      if (!res.ok) throw new Error(`meeting.chat.send: ${JSON.stringify(res.error)}`);
    },
  };

  let seq = 0;
  for (const [pattern, unit] of Object.entries(PATTERNS).filter(([name]) => data.patterns.includes(name))) {
    for (const [path, send] of Object.entries(paths)) {
      // Bodies are built before the phase so that building them is not inside it (it is this thread's work anyway).
      const bodies = Array.from({ length: data.messages }, () => {
        const tag = `abuse${seq++}`;
        return { tag, body: fill(unit, tag) };
      });
      await ask({ type: 'begin', pattern, path });
      for (const { tag, body } of bodies) {
        const done = delivered(tag);
        await send(body);
        await done;
      }
      await ask({ type: 'end' });
    }
  }
}

main()
  .then(() => port.postMessage({ type: 'done' } satisfies ToMain))
  .catch((err: unknown) =>
    port.postMessage({
      type: 'failed',
      message: err instanceof Error ? (err.stack ?? err.message) : String(err),
    }),
  )
  .finally(() => {
    for (const s of sockets) s.disconnect();
  });

/**
 * bench:chat — message send → delivery to the other member's socket, through Synapse and the appservice bridge.
 * Starts its own embedded FerretDB + Synapse (temporary data dir) and a UccServer listening on the bridge URL,
 * creates 20 directory users, opens a DM ring among them (user i ↔ user i+1), and sends 1,000 messages through
 * `POST /api/chat/rooms/:roomId/messages`; the latency is from just before the POST to the `chat.message` event
 * on the recipient's socket.
 *
 * Usage: bash scripts/run tsx bench/chat.ts [--messages 1000 --users 20 --concurrency 1 --warmup 20]
 * Writes bench/results/chat-<date>.json and .md, and prints the summary. A benchmark, never a test.
 */
import { randomBytes } from 'node:crypto';
import { logger as matrixSdkLogger } from 'matrix-js-sdk/lib/logger.js';
import { io, type Socket } from 'socket.io-client';
import { hashPassword } from '../server/util/passwords.js';
import { TokenService } from '../server/auth/TokenService.js';
import { systemClock } from '../server/clock.js';
import { userModel } from '../server/directory/User.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../shared/protocol.js';
import type { ChatMessageView } from '../shared/schemas/chat.js';
import { publish, run, say, startBenchServer, summarize, wholeNumberOption } from './harness.js';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

interface Options {
  messages: number;
  users: number;
  concurrency: number;
  warmup: number;
}

const DELIVERY_TIMEOUT_MS = 15_000;

function args(): Options {
  const options = {
    messages: wholeNumberOption('messages', 1_000),
    users: wholeNumberOption('users', 20),
    concurrency: wholeNumberOption('concurrency', 1),
    warmup: wholeNumberOption('warmup', 20),
  };
  if (options.users < 2 || options.concurrency < 1) throw new Error('need ≥ 2 users and concurrency ≥ 1');
  return options;
}

async function main(): Promise<void> {
  const options = args();
  // matrix-js-sdk logs every HTTP call through its global loglevel logger (see test/harness/hooks.ts).
  (matrixSdkLogger as unknown as { setLevel: (level: string) => void }).setLevel('warn');
  const started = performance.now();
  const { config, db, baseUrl, close } = await startBenchServer('chat', {
    // Latency is measured, not the per-user message limit (each user sends one in 20, faster than a person).
    UCC_CHAT_RATE_LIMIT_MESSAGES: '1000000',
  });
  const sockets: ClientSocket[] = [];
  try {
    say(`stack and server up in ${Math.round(performance.now() - started)} ms`);

    const users = userModel(db.connection);
    const tokens = new TokenService({
      secret: config.auth.jwtSecret ?? '',
      accessTtlMs: 3_600_000,
      guestTtlMs: 3_600_000,
      clock: systemClock,
    });
    const passwordHash = await hashPassword('bench-password');
    const people = await Promise.all(
      Array.from({ length: options.users }, async (_, i) => {
        const doc = await users.create({
          extension: String(500 + i),
          firstName: 'Bench',
          lastName: `User${i}`,
          passwordHash,
        });
        const id = String(doc._id);
        return { id, token: tokens.signAccess({ userId: id, extension: doc.extension }).token };
      }),
    );

    const api = async <T>(method: string, url: string, token: string, body: unknown): Promise<T> => {
      const res = await fetch(`${baseUrl}${url}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    };

    // Every delivery is matched by its unique body; the listener resolves the pending send's timer.
    const pending = new Map<string, (at: number) => void>();
    for (const person of people) {
      const socket: ClientSocket = io(baseUrl, {
        transports: ['websocket'],
        auth: { token: person.token },
        reconnection: false,
      });
      sockets.push(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      socket.on('chat.message', (m: ChatMessageView) => {
        const done = pending.get(`${person.id}|${m.body}`);
        if (done) done(performance.now());
      });
    }

    // A ring of DMs: user i writes to user i+1 (with two users, a single room).
    const roomsStarted = performance.now();
    const pairs =
      people.length === 2 ? [[0, 1] as const] : people.map((_, i) => [i, (i + 1) % people.length] as const);
    const rooms: { from: (typeof people)[number]; to: (typeof people)[number]; roomId: string }[] = [];
    for (const [a, b] of pairs) {
      const from = people[a];
      const to = people[b];
      if (!from || !to) continue;
      const room = await api<{ roomId: string }>('POST', '/api/chat/dms', from.token, { userId: to.id });
      rooms.push({ from, to, roomId: room.roomId });
    }
    say(`${rooms.length} DM rooms opened in ${Math.round(performance.now() - roomsStarted)} ms`);

    let sequence = 0;
    const sendOne = async (): Promise<{ delivery: number; ack: number }> => {
      const n = sequence++;
      const room = rooms[n % rooms.length];
      if (!room) throw new Error('no room');
      const body = `bench ${n} ${randomBytes(4).toString('hex')}`;
      const key = `${room.to.id}|${body}`;
      let timer: NodeJS.Timeout | undefined;
      const delivered = new Promise<number>((resolve, reject) => {
        pending.set(key, resolve);
        timer = setTimeout(() => reject(new Error(`message ${n} not delivered`)), DELIVERY_TIMEOUT_MS);
      });
      const t0 = performance.now();
      try {
        await api('POST', `/api/chat/rooms/${encodeURIComponent(room.roomId)}/messages`, room.from.token, {
          body,
        });
        const acked = performance.now();
        const at = await delivered;
        return { delivery: at - t0, ack: acked - t0 };
      } finally {
        clearTimeout(timer);
        pending.delete(key);
      }
    };
    const run = async (count: number): Promise<{ delivery: number[]; ack: number[]; seconds: number }> => {
      const delivery: number[] = [];
      const ack: number[] = [];
      let left = count;
      const t = performance.now();
      await Promise.all(
        Array.from({ length: Math.min(options.concurrency, count) }, async () => {
          while (left > 0) {
            left--;
            const r = await sendOne();
            delivery.push(r.delivery);
            ack.push(r.ack);
          }
        }),
      );
      return { delivery, ack, seconds: (performance.now() - t) / 1000 };
    };

    await run(options.warmup);
    const measured = await run(options.messages);
    const delivery = summarize(measured.delivery);
    const ack = summarize(measured.ack);
    const throughput = Math.round((options.messages / measured.seconds) * 10) / 10;

    const when = new Date();
    const result = {
      date: when.toISOString(),
      node: process.version,
      options,
      rooms: rooms.length,
      deliveryMs: delivery,
      sendAckMs: ack,
      messagesPerSecond: throughput,
      goal: { p50Ms: 150, met: delivery.p50 <= 150 },
    };
    const md = [
      `# bench:chat — ${result.date}`,
      '',
      `${options.users} users, ${rooms.length} DM rooms (a ring), ${options.messages} messages after ${options.warmup} ` +
        `warm-up ones, ${options.concurrency} in flight; embedded Synapse (SQLite) and FerretDB on loopback.`,
      'Delivery: just before `POST /api/chat/rooms/:roomId/messages` → `chat.message` on the recipient’s socket ' +
        '(through Synapse and the appservice transaction). Send ack: the POST’s answer (Synapse stored the event).',
      '',
      '| measure | n | p50 ms | p95 ms | p99 ms | mean ms | max ms |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      `| delivery | ${delivery.count} | ${delivery.p50} | ${delivery.p95} | ${delivery.p99} | ${delivery.mean} | ${delivery.max} |`,
      `| send ack | ${ack.count} | ${ack.p50} | ${ack.p95} | ${ack.p99} | ${ack.mean} | ${ack.max} |`,
      '',
      `Throughput: ${throughput} messages/s. Goal p50 ≤ 150 ms: ${result.goal.met ? 'met' : 'NOT met'}.`,
      '',
    ].join('\n');
    await publish('chat', when, result, md);
  } finally {
    for (const s of sockets) s.disconnect();
    await close();
  }
}

run(main);

/**
 * bench:abuse — the worst event-loop delay while pathological 20,000-character chat messages go through the real
 * server path. Starts its own embedded FerretDB + Synapse and a UccServer in this process (so the event loop
 * measured is the server's), two directory users with a DM and a meeting, then for each pattern sends
 * `--messages` of them by each path — `POST …/messages`, `PUT …/messages/:event` (an edit) and the socket's
 * `meeting.chat.send` — each waited for until it is delivered back on a socket (through Synapse and the appservice
 * transaction). `perf_hooks.monitorEventLoopDelay` (1 ms resolution) records the loop's delay over each pattern
 * and path; the renderer alone is timed too. Target: worst delay ≤ 10 ms.
 *
 * Usage: bash scripts/run tsx bench/abuse.ts [--messages 5 --renders 20]
 * Writes bench/results/abuse-<date>.json and .md, and prints the summary. A benchmark, never a test.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { logger as matrixSdkLogger } from 'matrix-js-sdk/lib/logger.js';
import { io, type Socket } from 'socket.io-client';
import { hashPassword } from '../server/util/passwords.js';
import { TokenService } from '../server/auth/TokenService.js';
import { MAX_MARKUP_CHARS, renderMarkdown } from '../server/chat/markdown.js';
import { systemClock } from '../server/clock.js';
import { userModel } from '../server/directory/User.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../shared/protocol.js';
import { MAX_MESSAGE_LENGTH } from '../shared/schemas/chat.js';
import { machine, publish, run, say, startBenchServer, summarize, wholeNumberOption } from './harness.js';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const TARGET_MS = 10;
const DELIVERY_TIMEOUT_MS = 30_000;

/** Each pattern repeated to exactly MAX_MESSAGE_LENGTH characters (a tag keeps every message unique). */
const PATTERNS: Record<string, string> = {
  'plain text (baseline)': 'ciao a tutti ',
  '[[[[…': '[',
  '****…': '*',
  '````…': '`',
  '[a]([a](…': '[a](',
  'mixed [*`_<&': '[*`_<&',
  // MAX_MARKUP_CHARS links spread over the message: the most work a message still rendered can ask for.
  'links, at the markup cap': linkUnit(),
};

function linkUnit(): string {
  const link = '[x](https://example.com/a?b=1) ';
  const per = Math.floor(MAX_MESSAGE_LENGTH / MAX_MARKUP_CHARS);
  return link + 'testo '.repeat(Math.ceil(per / 6)).slice(0, per - link.length);
}

function fill(unit: string, tag: string): string {
  const head = `${tag} `;
  return (
    head + unit.repeat(Math.ceil(MAX_MESSAGE_LENGTH / unit.length)).slice(0, MAX_MESSAGE_LENGTH - head.length)
  );
}

interface Row {
  pattern: string;
  path: string;
  messages: number;
  worstDelayMs: number;
  p99DelayMs: number;
  meanDelayMs: number;
}

async function main(): Promise<void> {
  const messages = wholeNumberOption('messages', 5);
  const renders = wholeNumberOption('renders', 20);
  (matrixSdkLogger as unknown as { setLevel: (level: string) => void }).setLevel('warn');
  const before = machine();
  const { config, db, baseUrl, close } = await startBenchServer('abuse', {
    // The bench sends far more than a person would; the limit is not what it measures.
    UCC_CHAT_RATE_LIMIT_MESSAGES: '1000000',
  });
  const sockets: ClientSocket[] = [];
  try {
    const users = userModel(db.connection);
    const tokens = new TokenService({
      secret: config.auth.jwtSecret ?? '',
      accessTtlMs: 3_600_000,
      guestTtlMs: 3_600_000,
      clock: systemClock,
    });
    const passwordHash = await hashPassword('bench-password');
    const [alice, bob] = await Promise.all(
      ['601', '602'].map(async (extension, i) => {
        const doc = await users.create({
          extension,
          firstName: 'Abuse',
          lastName: `User${i}`,
          passwordHash,
          plan: 'pro',
        });
        const id = String(doc._id);
        return { id, token: tokens.signAccess({ userId: id, extension }).token };
      }),
    );
    if (!alice || !bob) throw new Error('no users');
    const api = async <T>(method: string, url: string, token: string, body: unknown): Promise<T> => {
      const res = await fetch(`${baseUrl}${url}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${(await res.text()).slice(0, 300)}`);
      return (await res.json()) as T;
    };
    const connect = async (token: string): Promise<ClientSocket> => {
      const socket: ClientSocket = io(baseUrl, {
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
    };

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

    const { roomId } = await api<{ roomId: string }>('POST', '/api/chat/dms', alice.token, {
      userId: bob.id,
    });
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

    let seq = 0;
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

    const rows: Row[] = [];
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    for (const [pattern, unit] of Object.entries(PATTERNS)) {
      for (const [pathName, send] of Object.entries(paths)) {
        histogram.reset();
        histogram.enable();
        for (let i = 0; i < messages; i++) {
          const tag = `abuse${seq++}`;
          const done = delivered(tag);
          await send(fill(unit, tag));
          await done;
        }
        histogram.disable();
        const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
        rows.push({
          pattern,
          path: pathName,
          messages,
          worstDelayMs: ms(histogram.max),
          p99DelayMs: ms(histogram.percentile(99)),
          meanDelayMs: ms(histogram.mean),
        });
        say(`${pattern} / ${pathName}: worst ${ms(histogram.max)} ms`);
      }
    }

    // The renderer alone, each pattern `renders` times (what the old regular expressions took ~0.5 s on).
    const renderRows = Object.entries(PATTERNS).map(([pattern, unit]) => {
      const text = fill(unit, 'r');
      const times: number[] = [];
      for (let i = 0; i < renders; i++) {
        const t = performance.now();
        renderMarkdown(text);
        times.push(performance.now() - t);
      }
      return { pattern, ...summarize(times) };
    });

    const worst = Math.max(...rows.filter((r) => !r.pattern.includes('baseline')).map((r) => r.worstDelayMs));
    const baseline = Math.max(
      ...rows.filter((r) => r.pattern.includes('baseline')).map((r) => r.worstDelayMs),
    );
    const when = new Date();
    const result = {
      date: when.toISOString(),
      machine: { before, after: machine() },
      options: { messages, renders, length: MAX_MESSAGE_LENGTH },
      eventLoop: rows,
      renderMs: renderRows,
      worstDelayMs: worst,
      baselineWorstDelayMs: baseline,
      goal: { worstDelayMs: TARGET_MS, met: worst <= TARGET_MS },
    };
    const md = [
      `# bench:abuse — ${result.date}`,
      '',
      `${messages} messages of ${MAX_MESSAGE_LENGTH} characters per pattern and path, each waited for until ` +
        'delivered back on a socket (through Synapse and the appservice transaction); the server runs in the ' +
        'bench’s process, so the delay is its event loop’s (monitorEventLoopDelay, 1 ms resolution). Machine: ' +
        `${before.cores} cores, load ${before.loadavg.join(' / ')} before, ${result.machine.after.loadavg.join(' / ')} after.`,
      '',
      '| pattern | path | worst delay ms | p99 ms | mean ms |',
      '| --- | --- | --- | --- | --- |',
      ...rows.map(
        (r) => `| ${r.pattern} | ${r.path} | ${r.worstDelayMs} | ${r.p99DelayMs} | ${r.meanDelayMs} |`,
      ),
      '',
      `Renderer alone (${renders} renders each):`,
      '',
      '| pattern | p50 ms | p95 ms | max ms |',
      '| --- | --- | --- | --- |',
      ...renderRows.map((r) => `| ${r.pattern} | ${r.p50} | ${r.p95} | ${r.max} |`),
      '',
      `Worst delay over the pathological patterns: ${worst} ms (plain-text baseline: ${baseline} ms). ` +
        `Target ≤ ${TARGET_MS} ms: ${result.goal.met ? 'met' : 'NOT met'}.`,
      '',
    ].join('\n');
    await publish('abuse', when, result, md);
  } finally {
    for (const s of sockets) s.disconnect();
    await close();
  }
}

run(main);

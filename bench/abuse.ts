/**
 * bench:abuse — the worst event-loop delay while pathological 20,000-character chat messages go through the real
 * server path. Starts its own embedded FerretDB + Synapse and a UccServer in this process, two directory users
 * with a DM and a meeting; the clients run in a worker thread (bench/abuseClients.ts), so their work and garbage
 * are not on the server's loop or heap. For each pattern they send `--messages` of them by each path —
 * `POST …/messages`, `PUT …/messages/:event` (an edit) and the socket's `meeting.chat.send` — each waited for until
 * it is delivered back on a socket (through Synapse and the appservice transaction). `monitorEventLoopDelay`
 * (1 ms resolution) records the server loop's delay over each pattern and path, and a PerformanceObserver the
 * longest garbage-collection pause in the same span; the renderer alone is timed too. Target: worst delay ≤ 10 ms.
 *
 * Usage: bash scripts/run tsx bench/abuse.ts [--messages 5 --renders 20 --only <pattern name part>]
 * Writes bench/results/abuse-<date>.json and .md, and prints the summary. A benchmark, never a test.
 */
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { logger as matrixSdkLogger } from 'matrix-js-sdk/lib/logger.js';
import { hashPassword } from '../server/util/passwords.js';
import { TokenService } from '../server/auth/TokenService.js';
import { renderMarkdown } from '../server/chat/markdown.js';
import { systemClock } from '../server/clock.js';
import { userModel } from '../server/directory/User.js';
import { MAX_MESSAGE_LENGTH } from '../shared/schemas/chat.js';
import type { AbuseClientsData, ToMain, ToWorker } from './abuseClients.js';
import { fill, PATTERNS } from './abusePatterns.js';
import {
  machine,
  publish,
  run,
  say,
  startBenchServer,
  stringOption,
  summarize,
  wholeNumberOption,
} from './harness.js';

const TARGET_MS = 10;

interface Row {
  pattern: string;
  path: string;
  messages: number;
  worstDelayMs: number;
  p99DelayMs: number;
  meanDelayMs: number;
  /** The longest GC pause of the server's isolate inside the phase (it is part of the loop's delay). */
  longestGcMs: number;
}

async function main(): Promise<void> {
  const messages = wholeNumberOption('messages', 5);
  const renders = wholeNumberOption('renders', 20);
  // --only <text>: just the patterns whose name contains it (the plain-text baseline always runs too).
  const only = stringOption('only');
  const patterns = Object.keys(PATTERNS).filter(
    (name) => only === undefined || name.includes(only) || name.includes('baseline'),
  );
  (matrixSdkLogger as unknown as { setLevel: (level: string) => void }).setLevel('warn');
  const before = machine();
  const { config, db, baseUrl, close } = await startBenchServer('abuse', {
    // The bench sends far more than a person would; the limit is not what it measures.
    UCC_CHAT_RATE_LIMIT_MESSAGES: '1000000',
  });
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
    const rows: Row[] = [];
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    let longestGc = 0;
    const gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) longestGc = Math.max(longestGc, entry.duration);
    });
    gcObserver.observe({ entryTypes: ['gc'] });
    const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
    const clientsData: AbuseClientsData = { baseUrl, alice, bob, messages, patterns };
    // tsx's loader is registered on the main thread only: the worker registers it before loading TypeScript.
    const tsxApi = import.meta.resolve('tsx/esm/api');
    const clientsUrl = new URL('./abuseClients.ts', import.meta.url).href;
    const worker = new Worker(
      `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(clientsUrl)}); })`,
      { eval: true, workerData: clientsData },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        let phase: { pattern: string; path: string } | undefined;
        const answer = (m: ToWorker): void => worker.postMessage(m);
        worker.on('error', reject);
        worker.on('exit', (code) => reject(new Error(`the clients' worker exited (${code})`)));
        worker.on('message', (m: ToMain) => {
          switch (m.type) {
            case 'begin':
              phase = { pattern: m.pattern, path: m.path };
              histogram.reset();
              longestGc = 0;
              histogram.enable();
              answer({ type: 'go' });
              break;
            case 'end': {
              histogram.disable();
              if (!phase) throw new Error('end without begin');
              const row: Row = {
                ...phase,
                messages,
                worstDelayMs: ms(histogram.max),
                p99DelayMs: ms(histogram.percentile(99)),
                meanDelayMs: ms(histogram.mean),
                longestGcMs: Math.round(longestGc * 100) / 100,
              };
              rows.push(row);
              say(
                `${row.pattern} / ${row.path}: worst ${row.worstDelayMs} ms (longest GC ${row.longestGcMs} ms)`,
              );
              answer({ type: 'next' });
              break;
            }
            case 'done':
              resolve();
              break;
            case 'failed':
              reject(new Error(m.message));
              break;
          }
        });
      });
    } finally {
      gcObserver.disconnect();
      await worker.terminate();
    }

    // The renderer alone, each pattern `renders` times (what the old regular expressions took ~0.5 s on).
    const renderRows = Object.entries(PATTERNS)
      .filter(([name]) => patterns.includes(name))
      .map(([pattern, unit]) => {
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
        'delivered back on a socket (through Synapse and the appservice transaction). The server runs in the ' +
        'bench’s main thread and the clients in a worker thread, so the delay is the server’s event loop’s ' +
        '(monitorEventLoopDelay, 1 ms resolution); the GC column is the server isolate’s longest pause in the same ' +
        'span. Machine: ' +
        `${before.cores} cores, load ${before.loadavg.join(' / ')} before, ${result.machine.after.loadavg.join(' / ')} after.`,
      '',
      '| pattern | path | worst delay ms | p99 ms | mean ms | longest GC pause ms |',
      '| --- | --- | --- | --- | --- | --- |',
      ...rows.map(
        (r) =>
          `| ${r.pattern} | ${r.path} | ${r.worstDelayMs} | ${r.p99DelayMs} | ${r.meanDelayMs} | ${r.longestGcMs} |`,
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
    await close();
  }
}

run(main);

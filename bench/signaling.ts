/**
 * bench:signaling — the nine o'clock rush on one node: `--meetings` meetings of 10 sockets (half with 9 guests
 * waiting when the organizer starts, half with the organizer in before 9 guests join), plus one meeting with
 * `--crowd` guests waiting. Starts its own embedded stack (FerretDB, Synapse, Redis) and a UccServer with the
 * socket.io Redis adapter, as `npm start` runs; meetings and guest tokens are made over REST first (the guest
 * link's join, as a browser does), then the clients run in a child process (bench/signalingClients.ts), so the
 * server's CPU and RSS are its own. Reports p50/p95/p99 of socket connect, join ack on a live meeting, and
 * organizer start → each waiting guest admitted; errors; the server's RSS and CPU. Targets (issue 16): every
 * p99 ≤ 100 ms, zero errors.
 *
 * `--nodes N` (N ≥ 2): the same through HAProxy on N server processes (bench/nodes.ts); CPU and RSS are theirs.
 *
 * Usage: bash scripts/run tsx bench/signaling.ts [--meetings 100 --crowd 200 --nodes 1]
 * Writes bench/results/signaling-<date>.json and .md, and prints the summary. A benchmark, never a test.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { logger as matrixSdkLogger } from 'matrix-js-sdk/lib/logger.js';
import { TokenService } from '../server/auth/TokenService.js';
import { systemClock } from '../server/clock.js';
import { userModel } from '../server/directory/User.js';
import { hashPassword } from '../server/util/passwords.js';
import {
  machine,
  publish,
  run,
  say,
  startBenchServer,
  summarize,
  wholeNumberOption,
  type Summary,
} from './harness.js';
import { processUsage, startBenchNodes } from './nodes.js';
import type { BenchMeeting, FromClients, SignalingSamples, ToClients } from './signalingClients.js';

const TARGET_P99_MS = 100;
const GUESTS_PER_MEETING = 9;

async function main(): Promise<void> {
  const meetingCount = wholeNumberOption('meetings', 100);
  const crowd = wholeNumberOption('crowd', 200);
  const nodeCount = Math.max(1, wholeNumberOption('nodes', 1));
  (matrixSdkLogger as unknown as { setLevel: (level: string) => void }).setLevel('warn');
  const before = machine();
  const started = performance.now();
  const settings = {
    // The rush comes from one address and has a crowd bigger than the default lobby: those limits are not measured.
    UCC_RATE_LIMIT_GUEST_JOIN_PER_IP_LINK: String(Math.max(1_000, crowd * 2)),
    UCC_MEETING_MAX_WAITING: String(Math.max(100, crowd)),
    UCC_MEETING_MAX_PARTICIPANTS: String(Math.max(100, crowd + 1)),
  };
  // One node in this process; several as processes of their own behind HAProxy (bench/nodes.ts).
  const site =
    nodeCount > 1
      ? await startBenchNodes('signaling', nodeCount, settings)
      : { ...(await startBenchServer('signaling', settings)), pids: [] as number[] };
  const { config, db, baseUrl, close } = site;
  // The servers' CPU and memory: this process's, or the node processes' together.
  const usage = async (): Promise<{ cpuMs: number; rssBytes: number }> => {
    if (site.pids.length === 0) {
      const cpu = process.cpuUsage();
      return { cpuMs: (cpu.user + cpu.system) / 1000, rssBytes: process.memoryUsage.rss() };
    }
    const all = await Promise.all(site.pids.map(processUsage));
    return all.reduce((a, u) => ({ cpuMs: a.cpuMs + u.cpuMs, rssBytes: a.rssBytes + u.rssBytes }));
  };
  try {
    say(`stack and server up in ${Math.round(performance.now() - started)} ms`);
    const tokens = new TokenService({
      secret: config.auth.jwtSecret ?? '',
      accessTtlMs: 3_600_000,
      guestTtlMs: 3_600_000,
      clock: systemClock,
    });
    const users = userModel(db.connection);
    const passwordHash = await hashPassword('bench-password');
    const api = async <T>(method: string, url: string, body: unknown, token?: string): Promise<T> => {
      const res = await fetch(`${baseUrl}${url}`, {
        method,
        headers: {
          'Content-Type': 'application/json',
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${(await res.text()).slice(0, 300)}`);
      return (await res.json()) as T;
    };

    const setupStarted = performance.now();
    const plan: { kind: BenchMeeting['kind']; guests: number }[] = [
      ...Array.from({ length: meetingCount }, (_, i) => ({
        kind: i % 2 === 0 ? ('waiting' as const) : ('live' as const),
        guests: GUESTS_PER_MEETING,
      })),
      ...(crowd > 0 ? [{ kind: 'crowd' as const, guests: crowd }] : []),
    ];
    const meetings: BenchMeeting[] = [];
    for (const [i, p] of plan.entries()) {
      const doc = await users.create({
        extension: String(6000 + i),
        firstName: 'Bench',
        lastName: `Organizer${i}`,
        plan: 'pro',
        passwordHash,
      });
      const organizerToken = tokens.signAccess({ userId: String(doc._id), extension: doc.extension }).token;
      const meeting = await api<{ id: string; guestUrl: string }>(
        'POST',
        '/api/meetings',
        { title: `Bench ${i}`, startAt: new Date().toISOString(), durationMinutes: 120 },
        organizerToken,
      );
      const code = meeting.guestUrl.split('/').pop() ?? '';
      const guestTokens: string[] = [];
      for (let g = 0; g < p.guests; g++) {
        const joined = await api<{ guestToken: string }>('POST', `/api/guest/${code}/join`, {
          displayName: `Ospite ${i}.${g}`,
        });
        guestTokens.push(joined.guestToken);
      }
      meetings.push({ meetingId: meeting.id, organizerToken, guestTokens, kind: p.kind });
    }
    const socketsPlanned = meetings.reduce((n, m) => n + 1 + m.guestTokens.length, 0);
    say(
      `${meetings.length} meetings and ${socketsPlanned - meetings.length} guest tokens made in ` +
        `${Math.round(performance.now() - setupStarted)} ms`,
    );

    const clientsFile = fileURLToPath(new URL('./signalingClients.ts', import.meta.url));
    const child = fork(clientsFile, [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
    const usageBefore = await usage();
    let peakRssBytes = usageBefore.rssBytes;
    const sampler = setInterval(() => {
      void usage().then(
        (u) => (peakRssBytes = Math.max(peakRssBytes, u.rssBytes)),
        () => undefined,
      );
    }, 100);
    const wallStarted = performance.now();
    let samples: SignalingSamples;
    try {
      samples = await new Promise<SignalingSamples>((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', (code) => reject(new Error(`the clients' process exited (${code})`)));
        child.on('message', (m: FromClients) => {
          if (m.type === 'ready') {
            const start: ToClients = { type: 'start', data: { baseUrl, meetings, timeoutMs: 60_000 } };
            child.send(start);
          } else resolve(m.samples);
        });
      });
    } finally {
      clearInterval(sampler);
      child.kill();
    }
    const wallMs = performance.now() - wallStarted;
    const cpuMs = (await usage()).cpuMs - usageBefore.cpuMs;

    const figures: Record<string, Summary> = {
      'socket connect': summarize(samples.connectMs),
      'join ack, live meeting': summarize(samples.joinAckMs),
      'start → each waiting guest admitted': summarize(samples.admittedMs),
      [`start → each of ${crowd} waiting guests admitted`]: summarize(samples.crowdAdmittedMs),
    };
    const met =
      samples.errors.length === 0 &&
      Object.values(figures).every((f) => f.count === 0 || f.p99 <= TARGET_P99_MS);
    const when = new Date();
    const result = {
      date: when.toISOString(),
      machine: { before, after: machine() },
      options: { meetings: meetingCount, crowd, guestsPerMeeting: GUESTS_PER_MEETING, nodes: nodeCount },
      sockets: samples.sockets,
      figures,
      errors: { count: samples.errors.length, first: samples.errors.slice(0, 10) },
      server: {
        peakRssMiB: Math.round(peakRssBytes / 2 ** 20),
        cpuMs: Math.round(cpuMs),
        wallMs: Math.round(wallMs),
        cpuPercentOfOneCore: Math.round((cpuMs / wallMs) * 100),
      },
      target: { p99Ms: TARGET_P99_MS, zeroErrors: true, met },
    };
    const md = [
      `# bench:signaling — ${result.date}`,
      '',
      `${meetingCount} meetings of ${GUESTS_PER_MEETING + 1} sockets (half with the guests waiting when the organizer ` +
        `starts, half joining a live meeting) and one meeting with ${crowd} guests waiting; ${samples.sockets} ` +
        `sockets connected. ${
          nodeCount > 1
            ? `${nodeCount} nodes (server/main.ts processes) behind HAProxy with the meeting hash`
            : 'One node (UccServer with the socket.io Redis adapter)'
        } on the embedded FerretDB, Synapse ` +
        `and Redis; clients in a child process on loopback. Machine: ${before.cores} cores, load ` +
        `${before.loadavg.join(' / ')} before, ${result.machine.after.loadavg.join(' / ')} after.`,
      '',
      '| measure | n | p50 ms | p95 ms | p99 ms | max ms |',
      '| --- | --- | --- | --- | --- | --- |',
      ...Object.entries(figures).map(
        ([name, f]) => `| ${name} | ${f.count} | ${f.p50} | ${f.p95} | ${f.p99} | ${f.max} |`,
      ),
      '',
      `Errors: ${samples.errors.length}${samples.errors.length ? ` (first: ${samples.errors[0]})` : ''}. ${nodeCount > 1 ? 'Nodes together' : 'Server'}: peak RSS ` +
        `${result.server.peakRssMiB} MiB, CPU ${result.server.cpuMs} ms in ${result.server.wallMs} ms ` +
        `(${result.server.cpuPercentOfOneCore}% of one core).`,
      '',
      `Target every p99 ≤ ${TARGET_P99_MS} ms and zero errors: ${met ? 'met' : 'NOT met'}.`,
      '',
    ].join('\n');
    await publish('signaling', when, result, md);
  } finally {
    await close();
  }
}

run(main);

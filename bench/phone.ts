/**
 * bench:phone: how fast the embedded phone edge (Kamailio + rtpengine) connects calls on loopback, N calls per
 * direction (default 50), in two halves:
 * - desk ↔ desk (phoneDesks.ts): two baresip desk phones, without the UCC server;
 * - browser ↔ desk (phoneBrowser.ts): the web phone in headless Chromium against the real UCC server, and a
 *   baresip desk phone, calling each other both ways.
 * Post-dial delay is dial → ringing at the callee; answer → first audio is the callee's answer → the first audio
 * packet received, at each side. Writes bench/results/phone-<date>.{json,md} with the machine's load before and
 * after each half. Options: `-- --calls 50`, `-- --only desks` or `-- --only browser`.
 */
import { machine, publish, run, say, stringOption, wholeNumberOption } from './harness.js';
import { browserHalf } from './phoneBrowser.js';
import { deskHalf } from './phoneDesks.js';
import type { Half } from './phoneHalf.js';

const HALVES = { desks: deskHalf, browser: browserHalf } as const;
type HalfName = keyof typeof HALVES;

function halves(): HalfName[] {
  const only = stringOption('only');
  if (only === undefined) return ['desks', 'browser'];
  if (only !== 'desks' && only !== 'browser') throw new Error('--only must be desks or browser');
  return [only];
}

function markdown(when: Date, results: Half[]): string {
  const m = results[0]?.machine.before ?? machine();
  const lines = [
    `# bench:phone, ${when.toISOString()}`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}. The machine is shared: ` +
      'other work may have run during the measurement (the load averages below say how busy it was).',
    '',
  ];
  for (const half of results) {
    const { before, after } = half.machine;
    lines.push(
      `## ${half.title}`,
      '',
      ...half.method.flatMap((p) => [p, '']),
      `Load average (1, 5, 15 min) before ${before.loadavg.join(', ')}, after ${after.loadavg.join(', ')}.`,
      '',
      '| figure | p50 | p95 | p99 | mean | max |',
      '| --- | --- | --- | --- | --- | --- |',
      ...half.figures.map(
        ({ name, summary: s }) => `| ${name} | ${s.p50} | ${s.p95} | ${s.p99} | ${s.mean} | ${s.max} |`,
      ),
      '',
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const count = wholeNumberOption('calls', 50);
  const names = halves();
  const when = new Date();
  const results: Half[] = [];
  for (const name of names) {
    say(`bench:phone, ${name}: ${count} calls${name === 'browser' ? ' each way' : ''}`);
    results.push(await HALVES[name](count));
  }
  const json = {
    when,
    calls: count,
    halves: names,
    machine: {
      before: results[0]?.machine.before,
      after: results.at(-1)?.machine.after,
    },
    // Without the samples, in the shape of the earlier results; the halves below have them.
    figures: results.flatMap((h) => h.figures.map(({ name, summary }) => ({ name, summary }))),
    results: Object.fromEntries(names.map((n, i) => [n, results[i]])),
  };
  await publish('phone', when, json, markdown(when, results));
}

run(main);

import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeTcpUdpPort } from '../../server/stack/ports.js';

const SCENARIOS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sipp');

export interface SippRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * SIPp (sip-tester 3.6) standing in for a carrier: one call of a scenario in test/harness/sipp/, on loopback,
 * from `port` (the trunk's address Kamailio knows). Resolves when SIPp exits; `code` 0: the scenario went
 * through as written.
 */
export function runSipp(options: {
  scenario: 'carrier-challenge' | 'carrier-challenge-407' | 'carrier-call';
  port: number;
  mediaPort: number;
  dir: string;
  /** For a UAC scenario: Kamailio's address, and the request URI's user. */
  remote?: string;
  service?: string;
  vars?: Record<string, string>;
  onStart?: () => void;
}): { done: Promise<SippRun>; kill: () => void } {
  const args = (mediaPort: number): string[] => [
    ...(options.remote ? [options.remote] : []),
    '-sf',
    path.join(SCENARIOS, `${options.scenario}.xml`),
    '-i',
    '127.0.0.1',
    '-p',
    String(options.port),
    '-mp',
    String(mediaPort),
    '-rtp_echo',
    '-m',
    '1',
    '-nostdin',
    '-timeout',
    '30s',
    '-timeout_error',
    '-trace_err',
    '-trace_msg',
    ...(options.service ? ['-s', options.service] : []),
    ...Object.entries(options.vars ?? {}).flatMap(([k, v]) => ['-set', k, v]),
  ];
  let child: ReturnType<typeof spawn> | undefined;
  let killed = false;
  const once = (mediaPort: number): Promise<SippRun> =>
    new Promise<SippRun>((resolve, reject) => {
      child = spawn('sipp', args(mediaPort), { cwd: options.dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('spawn', () => options.onStart?.());
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  // The media port was free when picked, but another suite's UDP socket can take it, or the video port SIPp binds
  // two above it, before SIPp binds them (it then exits at once, before sending anything; the video case failed
  // a clean run on 2026-12-03): SIPp runs again on a fresh one.
  const done = mkdir(options.dir, { recursive: true }).then(async () => {
    let run = await once(options.mediaPort);
    for (
      let attempt = 2;
      attempt <= 3 && !killed && /Unable to bind (audio|video) RTP socket/.test(run.stderr);
      attempt++
    )
      run = await once(await freeTcpUdpPort());
    return run;
  });
  return {
    done,
    kill: () => {
      killed = true;
      child?.kill('SIGKILL');
    },
  };
}

/** The SIP messages SIPp received in a run (its -trace_msg log in `dir`), in order. */
export async function sippReceived(dir: string): Promise<string[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const logs = (await readdir(dir)).filter((f) => f.endsWith('_messages.log'));
  const text = (await Promise.all(logs.map((f) => readFile(path.join(dir, f), 'utf8')))).join('\n');
  // Each entry starts with a dashed line and says "message received [n] bytes :" or "message sent".
  return text
    .split(/^-{10,}.*$/m)
    .map((entry) => /message received \[\d+\] bytes :\s*\n\n([\s\S]*)$/.exec(entry)?.[1]?.trim())
    .filter((m): m is string => m !== undefined);
}

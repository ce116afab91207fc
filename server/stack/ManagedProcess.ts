import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Logger } from '../logger.js';
import { launchCommand } from './launcher.js';
import { killGroup, recordOf, removePidFile, writePidFile } from './pidfiles.js';

export interface ManagedProcessOptions {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Everything the child prints is appended here (created 0600). */
  logFile: string;
  /**
   * Where the child's pid (and start time) is kept while it runs, so that a later start on the same data dir
   * can end it if we were killed before we could (see DataDirLock).
   */
  pidFile?: string;
  logger: Logger;
  /** Resolves true once the child answers; polled until then. */
  healthCheck: () => Promise<boolean>;
  startTimeoutMs: number;
  pollIntervalMs?: number;
}

export interface ManagedProcessEvents {
  /** The child exited without being asked to. */
  crashed: [info: { code: number | null; signal: NodeJS.Signals | null; lastOutput: string }];
}

const TAIL_LINES = 40;

export class StartError extends Error {
  constructor(
    message: string,
    readonly lastOutput: string,
  ) {
    super(lastOutput ? `${message}\n--- last output ---\n${lastOutput}` : message);
    this.name = 'StartError';
  }
}

/**
 * One supervised child process of the embedded stack: started, waited on until healthy, stopped with SIGTERM and
 * then SIGKILL. An exit that nobody asked for is reported through `crashed`, never swallowed.
 */
export class ManagedProcess extends EventEmitter<ManagedProcessEvents> {
  readonly #child: ChildProcess;
  readonly #log: WriteStream;
  readonly #pidFile: string | undefined;
  readonly #tail: string[] = [];
  #exited: Promise<void>;
  #stopping = false;
  #running = true;

  private constructor(options: ManagedProcessOptions) {
    super();
    this.#log = createWriteStream(options.logFile, { flags: 'a', mode: 0o600 });
    // Through the launcher: a private umask, and the kernel kills the child if we die (PR_SET_PDEATHSIG).
    const launch = launchCommand(options.command, options.args);
    this.#child = spawn(launch.command, launch.args, {
      cwd: options.cwd,
      // A fixed, minimal environment: children get only what they are given, never our secrets.
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C in the terminal reaches only us, and we stop children in order.
      detached: true,
    });
    this.#pidFile = options.pidFile;
    const record = this.#child.pid === undefined ? undefined : recordOf(this.#child.pid);
    if (this.#pidFile && record) writePidFile(this.#pidFile, record);
    // Last resort if we exit without stopping it (an uncaught error, a shutdown past its timeout).
    const killOnExit = (): void => this.kill();
    process.once('exit', killOnExit);
    const onData = (chunk: Buffer): void => {
      this.#log.write(chunk);
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        this.#tail.push(line);
        if (this.#tail.length > TAIL_LINES) this.#tail.shift();
      }
    };
    this.#child.stdout?.on('data', onData);
    this.#child.stderr?.on('data', onData);
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#running = false;
        process.off('exit', killOnExit);
        if (this.#pidFile) removePidFile(this.#pidFile);
        this.#log.end();
        if (!this.#stopping) {
          this.emit('crashed', { code, signal, lastOutput: this.lastOutput });
        }
        resolve();
      });
      this.#child.once('error', (err) => {
        this.#tail.push(`spawn error: ${err.message}`);
      });
    });
  }

  /** Spawns the child and resolves once its health check passes; rejects (and kills it) otherwise. */
  static async start(options: ManagedProcessOptions): Promise<ManagedProcess> {
    const proc = new ManagedProcess(options);
    const logger = options.logger;
    const started = Date.now();
    const interval = options.pollIntervalMs ?? 200;
    let exitedEarly = false;
    const earlyExit = (): void => {
      exitedEarly = true;
    };
    proc.once('crashed', earlyExit);
    try {
      for (;;) {
        if (exitedEarly || !proc.#running) {
          throw new StartError(`${options.name} exited during start-up`, proc.lastOutput);
        }
        if (await options.healthCheck().catch(() => false)) break;
        if (Date.now() - started > options.startTimeoutMs) {
          throw new StartError(
            `${options.name} did not become healthy within ${options.startTimeoutMs} ms`,
            proc.lastOutput,
          );
        }
        await new Promise((r) => setTimeout(r, interval));
      }
    } catch (err) {
      proc.off('crashed', earlyExit);
      await proc.stop(2_000);
      throw err;
    }
    proc.off('crashed', earlyExit);
    logger.info({ pid: proc.pid, ms: Date.now() - started }, `${options.name} is up`);
    return proc;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#running;
  }

  get lastOutput(): string {
    return this.#tail.join('\n');
  }

  /** Idempotent: SIGTERM, then SIGKILL after `timeoutMs`, to the child's whole process group. */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    if (this.#running && this.#child.pid !== undefined) {
      killGroup(this.#child.pid, 'SIGTERM');
      const timer = setTimeout(() => this.kill(), timeoutMs);
      await this.#exited;
      clearTimeout(timer);
    }
    await this.#exited;
  }

  /** Synchronous SIGKILL of the child's process group, for when there is no time left to wait. */
  kill(): void {
    this.#stopping = true;
    if (this.#running && this.#child.pid !== undefined) killGroup(this.#child.pid, 'SIGKILL');
  }
}

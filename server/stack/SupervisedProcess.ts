import { EventEmitter } from 'node:events';
import { backoffDelayMs } from '../../shared/backoff.js';
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { ManagedProcess, type ManagedProcessOptions } from './ManagedProcess.js';

export interface RestartPolicy {
  /** The wait before the first restart; doubled after each crash or failed restart. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** A child that ran this long before it crashed starts over from `initialDelayMs`. */
  stableAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  stableAfterMs: 60_000,
};

export type SupervisedState = 'running' | 'restarting' | 'stopped';

export interface CrashInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  lastOutput: string;
}

export interface SupervisedProcessEvents {
  /** The child exited without being asked to; a restart is scheduled in `restartInMs`. */
  crashed: [info: CrashInfo & { restartInMs: number }];
  /** A restart attempt came up healthy again. */
  restarted: [info: { pid: number | undefined; attempt: number }];
  /** A restart attempt failed; the next one is scheduled in `restartInMs`. */
  restartFailed: [info: { error: string; attempt: number; restartInMs: number }];
}

/** Exponential, capped: attempt 0 waits `initialDelayMs`, each next one twice the previous, at most the cap. */
export function restartDelayMs(policy: RestartPolicy, attempt: number): number {
  return backoffDelayMs({ firstMs: policy.initialDelayMs, maxMs: policy.maxDelayMs }, attempt);
}

/**
 * A child of the embedded stack that is brought back when it dies: the same command and arguments (so the same
 * port, and every consumer's URL stays valid), after a backoff that grows with each crash in a row and starts over
 * once the child has been stable for a while. Whether it is up is what the readiness probe asks.
 */
export class SupervisedProcess extends EventEmitter<SupervisedProcessEvents> {
  readonly #options: ManagedProcessOptions;
  readonly #policy: RestartPolicy;
  readonly #clock: Clock;
  readonly #log: Logger;
  #current: ManagedProcess | undefined;
  #state: SupervisedState = 'running';
  #startedAt: number;
  /** Crashes and failed restarts since the child was last stable. */
  #failures = 0;
  #lastCrash: CrashInfo | undefined;
  #cancelTimer: (() => void) | undefined;
  #restarting: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;

  private constructor(
    first: ManagedProcess,
    options: ManagedProcessOptions,
    policy: RestartPolicy,
    clock: Clock,
  ) {
    super();
    this.#options = options;
    this.#policy = policy;
    this.#clock = clock;
    this.#log = options.logger.child({ child: options.name });
    this.#startedAt = clock.now();
    this.#adopt(first);
  }

  /** The first start must succeed (a wrong binary or flag is not something a restart cures). */
  static async start(
    options: ManagedProcessOptions,
    policy: RestartPolicy = DEFAULT_RESTART_POLICY,
    clock: Clock = systemClock,
  ): Promise<SupervisedProcess> {
    return new SupervisedProcess(await ManagedProcess.start(options), options, policy, clock);
  }

  get state(): SupervisedState {
    return this.#state;
  }

  get running(): boolean {
    return this.#state === 'running' && this.#current?.running === true;
  }

  get pid(): number | undefined {
    return this.#current?.pid;
  }

  /** For readiness probes: resolves while the child is up, throws saying why not otherwise. */
  check(): Promise<void> {
    if (this.running) return Promise.resolve();
    if (this.#state === 'stopped') return Promise.reject(new Error(`${this.#options.name} is stopped`));
    const how = this.#lastCrash?.signal ?? `code ${String(this.#lastCrash?.code)}`;
    return Promise.reject(
      new Error(`${this.#options.name} is restarting (exited with ${how}; ${this.#failures} in a row)`),
    );
  }

  #adopt(proc: ManagedProcess): void {
    this.#current = proc;
    this.#state = 'running';
    this.#startedAt = this.#clock.now();
    proc.once('crashed', (info) => this.#onCrash(info));
  }

  #onCrash(info: CrashInfo): void {
    if (this.#state === 'stopped') return;
    this.#lastCrash = info;
    if (this.#clock.now() - this.#startedAt >= this.#policy.stableAfterMs) this.#failures = 0;
    const restartInMs = restartDelayMs(this.#policy, this.#failures);
    this.#failures += 1;
    this.#state = 'restarting';
    this.#log.error(
      { code: info.code, signal: info.signal, restartInMs, lastOutput: info.lastOutput },
      `${this.#options.name} crashed; restarting`,
    );
    this.emit('crashed', { ...info, restartInMs });
    this.#schedule(restartInMs);
  }

  #schedule(delayMs: number): void {
    this.#cancelTimer = this.#clock.setTimer(delayMs, () => {
      this.#cancelTimer = undefined;
      this.#restarting = this.#restart().finally(() => {
        this.#restarting = undefined;
      });
    });
  }

  /** A method, not a field read: TypeScript would narrow a field across the awaits below. */
  #isStopped(): boolean {
    return this.#state === 'stopped';
  }

  async #restart(): Promise<void> {
    if (this.#isStopped()) return;
    const attempt = this.#failures;
    try {
      const proc = await ManagedProcess.start(this.#options);
      if (this.#isStopped()) {
        // stop() came while we were starting: this child must not outlive it.
        await proc.stop(2_000);
        return;
      }
      this.#adopt(proc);
      this.#log.info({ pid: proc.pid, attempt }, `${this.#options.name} restarted`);
      this.emit('restarted', { pid: proc.pid, attempt });
    } catch (err) {
      if (this.#isStopped()) return;
      const restartInMs = restartDelayMs(this.#policy, this.#failures);
      this.#failures += 1;
      const error = err instanceof Error ? err.message : String(err);
      this.#log.error({ err, attempt, restartInMs }, `${this.#options.name} restart failed`);
      this.emit('restartFailed', { error, attempt, restartInMs });
      this.#schedule(restartInMs);
    }
  }

  /** Idempotent: no more restarts, and the current child (or one being started) is stopped. */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopped ??= (async () => {
      this.#state = 'stopped';
      this.#cancelTimer?.();
      this.#cancelTimer = undefined;
      await this.#restarting;
      await this.#current?.stop(timeoutMs);
    })();
    await this.#stopped;
  }

  /** Synchronous SIGKILL and no more restarts: for a shutdown that ran out of time. */
  kill(): void {
    this.#state = 'stopped';
    this.#cancelTimer?.();
    this.#current?.kill();
  }
}

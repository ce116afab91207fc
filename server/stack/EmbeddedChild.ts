import { EventEmitter } from 'node:events';
import type { SupervisedProcess, SupervisedProcessEvents } from './SupervisedProcess.js';

/**
 * What every embedded service (FerretDB, Synapse, coturn, and those to come) is to the stack: a supervised child
 * whose crashes and restarts it passes on, with the same readiness, kill and stop. Each service adds how to start
 * it and what it offers (a URI, a URL, a port).
 */
export abstract class EmbeddedChild extends EventEmitter<SupervisedProcessEvents> {
  readonly #process: SupervisedProcess;
  readonly #stopTimeoutMs: number;

  protected constructor(proc: SupervisedProcess, stopTimeoutMs: number) {
    super();
    this.#process = proc;
    this.#stopTimeoutMs = stopTimeoutMs;
    proc.on('crashed', (info) => this.emit('crashed', info));
    proc.on('restarted', (info) => this.emit('restarted', info));
    proc.on('restartFailed', (info) => this.emit('restartFailed', info));
  }

  get running(): boolean {
    return this.#process.running;
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** Readiness: resolves while the child runs, throws while it is being restarted. */
  check(): Promise<void> {
    return this.#process.check();
  }

  /** Synchronous SIGKILL, no restart: for a shutdown past its timeout. */
  kill(): void {
    this.#process.kill();
  }

  async stop(timeoutMs = this.#stopTimeoutMs): Promise<void> {
    await this.#process.stop(timeoutMs);
  }
}

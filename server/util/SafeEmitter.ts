import { EventEmitter } from 'node:events';
import type { Logger } from '../logger.js';

type EventMap<T> = Record<keyof T, unknown[]>;

/**
 * A typed EventEmitter whose `safeEmit` never throws: services emit after their work is saved, and a listener
 * that throws (or rejects) must not turn a saved operation into a failed one. The failure is logged instead.
 */
export class SafeEmitter<T extends EventMap<T>> extends EventEmitter<T> {
  readonly #log: Logger | undefined;

  constructor(log?: Logger) {
    super();
    this.#log = log;
  }

  /** Emits to every listener; a listener's throw or rejected promise is logged and does not stop the others. */
  safeEmit<K extends keyof T & string>(event: K, ...args: T[K]): boolean {
    // rawListeners keeps once() wrappers, so a one-shot listener still removes itself when called.
    const listeners = this.rawListeners(event as never) as unknown as ((...a: unknown[]) => unknown)[];
    for (const listener of listeners) {
      try {
        const result = listener.apply(this, args);
        if (result instanceof Promise) {
          result.catch((err: unknown) => this.#report(event, err));
        }
      } catch (err: unknown) {
        this.#report(event, err);
      }
    }
    return listeners.length > 0;
  }

  #report(event: string, err: unknown): void {
    if (this.#log) {
      this.#log.error({ err, event }, 'event listener failed');
    } else {
      process.emitWarning(`listener for "${event}" failed: ${String(err)}`);
    }
  }
}

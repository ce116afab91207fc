import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';

export interface WebCallGuardOptions {
  /** How long a user's web phone may stay without a SIP WebSocket before its calls are ended. */
  graceMs: number;
  clock: Clock;
  /** Ends the calls the user's web phone is in (not those of their desk phone); resolves to how many. */
  endWebCalls: (userId: string) => Promise<number>;
  logger: Logger;
}

/**
 * The server's side of a network blip: when a user's last SIP WebSocket closes, their web phone's calls get
 * `graceMs` for the browser to connect again (it then restarts ICE with a re-INVITE and the call goes on). If no
 * connection of that user opened in the meantime, the calls are ended at Kamailio (BYE to the far side), which
 * would otherwise stay in a silent call: nothing in SIP ends a dialog whose browser went away.
 */
export class WebCallGuard {
  readonly #o: WebCallGuardOptions;
  readonly #open = new Map<string, number>();
  readonly #pending = new Map<string, () => void>();
  #closed = false;

  constructor(options: WebCallGuardOptions) {
    this.#o = options;
  }

  /** Users whose calls wait for their web phone to come back (tests). */
  get waiting(): string[] {
    return [...this.#pending.keys()];
  }

  opened(userId: string): void {
    this.#open.set(userId, (this.#open.get(userId) ?? 0) + 1);
    this.#pending.get(userId)?.();
    this.#pending.delete(userId);
  }

  closed(userId: string): void {
    const left = (this.#open.get(userId) ?? 1) - 1;
    if (left > 0) {
      this.#open.set(userId, left);
      return;
    }
    this.#open.delete(userId);
    if (this.#closed || this.#pending.has(userId)) return;
    const cancel = this.#o.clock.setTimer(this.#o.graceMs, () => {
      this.#pending.delete(userId);
      if (this.#closed || this.#open.has(userId)) return;
      this.#o.endWebCalls(userId).then(
        (ended) => {
          if (ended > 0)
            this.#o.logger.info({ userId, callsEnded: ended }, 'web phone gone: its calls ended');
        },
        (err: unknown) =>
          this.#o.logger.warn({ userId, err: String(err) }, 'web phone gone: its calls could not be ended'),
      );
    });
    this.#pending.set(userId, cancel);
  }

  close(): void {
    this.#closed = true;
    for (const cancel of this.#pending.values()) cancel();
    this.#pending.clear();
  }
}

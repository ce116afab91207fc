import type { Clock } from '../clock.js';

/**
 * The end of each dropped participant's grace window, by participant id, on the injected clock. At most one
 * timer per participant: a newer window replaces the older. After close() nothing fires or starts.
 */
export class GraceTimers {
  readonly #clock: Clock;
  readonly #onExpire: (meetingId: string, participantId: string) => void;
  readonly #cancels = new Map<string, () => void>();
  #closed = false;

  constructor(clock: Clock, onExpire: (meetingId: string, participantId: string) => void) {
    this.#clock = clock;
    this.#onExpire = onExpire;
  }

  /** At `until` (now, if it has passed), `onExpire` runs for this participant. */
  start(meetingId: string, participantId: string, until: Date): void {
    if (this.#closed) return;
    this.cancel(participantId);
    const expire = (): void => {
      this.#cancels.delete(participantId);
      this.#onExpire(meetingId, participantId);
    };
    const delay = until.getTime() - this.#clock.now();
    if (delay <= 0) {
      expire();
      return;
    }
    this.#cancels.set(participantId, this.#clock.setTimer(delay, expire));
  }

  cancel(participantId: string): void {
    this.#cancels.get(participantId)?.();
    this.#cancels.delete(participantId);
  }

  /** Idempotent. */
  close(): void {
    this.#closed = true;
    for (const cancel of this.#cancels.values()) cancel();
    this.#cancels.clear();
  }
}

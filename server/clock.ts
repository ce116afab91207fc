/**
 * The one source of time. Tests inject a clock they move by hand instead of sleeping; timers go through it too,
 * so a rule that fires later (the end of a grace window) fires when the test moves the clock past it.
 */
export interface Clock {
  now(): number;
  /** Calls `callback` once, `delayMs` from now; the returned function cancels it. */
  setTimer(delayMs: number, callback: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (delayMs, callback) => {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    // A pending timer never keeps the process alive: shutting down cancels what matters anyway.
    timer.unref();
    return () => clearTimeout(timer);
  },
};

interface ManualTimer {
  due: number;
  callback: () => void;
}

/** A clock for tests: starts at `start` and moves only when told; moving it fires the timers now due. */
export class ManualClock implements Clock {
  #now: number;
  readonly #timers = new Set<ManualTimer>();

  constructor(start = Date.UTC(2026, 0, 5, 9, 0, 0)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(delayMs: number, callback: () => void): () => void {
    const timer: ManualTimer = { due: this.#now + Math.max(0, delayMs), callback };
    this.#timers.add(timer);
    return () => {
      this.#timers.delete(timer);
    };
  }

  advance(ms: number): void {
    this.set(this.#now + ms);
  }

  set(ms: number): void {
    this.#now = ms;
    // Earliest first, as real timers would fire; each runs once.
    const due = [...this.#timers].filter((t) => t.due <= ms).sort((a, b) => a.due - b.due);
    for (const timer of due) {
      this.#timers.delete(timer);
      timer.callback();
    }
  }
}

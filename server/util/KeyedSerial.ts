/**
 * Runs tasks one at a time per key, in the order they were queued; tasks of different keys run concurrently.
 * A task that fails rejects only its own caller, and the next task of that key still runs. A key with nothing
 * queued or running holds no memory. This orders work within one process only.
 */
export class KeyedSerial {
  /** The last task queued per key, settled either way (so a failure never reaches the next task). */
  readonly #tails = new Map<string, Promise<void>>();
  /** Per key, the ticket of the last task queued (see lastTicket). */
  readonly #tickets = new Map<string, number>();
  #nextTicket = 0;

  /** Runs `task` after every earlier task of the same key has settled. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    const ticket = ++this.#nextTicket;
    this.#tickets.set(key, ticket);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) {
        this.#tails.delete(key);
        this.#tickets.delete(key);
      }
    });
    return result;
  }

  /**
   * A number for the last task queued for `key` (undefined when none is queued or running): equal to what it was
   * right after a caller's `run`, nothing was queued behind that caller's task since.
   */
  lastTicket(key: string): number | undefined {
    return this.#tickets.get(key);
  }

  /** How many keys have a task queued or running. */
  get activeKeys(): number {
    return this.#tails.size;
  }
}

/** Event name → listener arguments. */
export type EventMap = Record<string, unknown[]>;

export type Listener<A extends unknown[]> = (...args: A) => void;

/**
 * A small typed event emitter for the browser (no Node `events`). A throwing listener is reported through
 * `onListenerError` and never stops the other listeners.
 */
export class Emitter<E extends EventMap> {
  readonly #listeners = new Map<keyof E, Set<Listener<never[]>>>();

  /** Adds a listener; the returned function removes it. */
  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as unknown as Listener<never[]>);
    return () => this.off(event, listener);
  }

  once<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    const off = this.on(event, (...args) => {
      off();
      listener(...args);
    });
    return off;
  }

  off<K extends keyof E>(event: K, listener: Listener<E[K]>): void {
    this.#listeners.get(event)?.delete(listener as unknown as Listener<never[]>);
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (listener as unknown as Listener<E[K]>)(...args);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  protected removeAllListeners(): void {
    this.#listeners.clear();
  }

  /** Where errors thrown by listeners go. */
  protected onListenerError(err: unknown): void {
    setTimeout(() => {
      throw err;
    });
  }
}

/** A small typed event emitter for the phone objects (the browser has no Node EventEmitter). */
type Listener = (...args: unknown[]) => void;

export class Emitter<Events extends Record<string, unknown[]>> {
  readonly #listeners = new Map<keyof Events, Set<Listener>>();

  /** Returns the unsubscribe. */
  on<K extends keyof Events>(event: K, listener: (...args: Events[K]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    // Stored untyped; `emit` gives each event only its own arguments.
    const stored = listener as unknown as Listener;
    set.add(stored);
    return () => set.delete(stored);
  }

  protected emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) listener(...args);
  }

  protected removeAllListeners(): void {
    this.#listeners.clear();
  }
}
